package analytics

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestZZExplain(t *testing.T) {
	url := os.Getenv("ZZ_URL")
	if url == "" {
		t.Skip()
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	cov := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	var ex Executed
	year := Query{From: time.Date(2025, 6, 1, 0, 0, 0, 0, paris), To: time.Date(2026, 6, 1, 0, 0, 0, 0, paris)}
	switch os.Getenv("ZZ_KIND") {
	case "retention":
		q := RetentionQuery{Query: year, Period: "week", TotalIntervals: 8}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		ex = q.build(&cov)
	case "lifecycle":
		q := LifecycleQuery{Query: year}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		ex = q.build(&cov)
	case "stickiness":
		q := StickinessQuery{Query: year}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		ex = q.build(&cov)
	default:
		q := PathsQuery{Query: Query{From: time.Date(2026, 3, 1, 0, 0, 0, 0, paris), To: time.Date(2026, 6, 1, 0, 0, 0, 0, paris)},
			StartPoint: Event{Kind: EventActivity, ActivityType: "login"}, StepLimit: 4, EdgeLimit: 40}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		ex = q.buildSessions(&cov)
	}
	os.WriteFile("/tmp/explain.sql", []byte(ex.String()), 0o644)
	if _, err := conn.Exec(ctx, "set jit = off; set work_mem = '64MB'; "+os.Getenv("ZZ_SET")+""); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "explain (analyze, verbose) "+ex.SQL, ex.Args...)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		var l string
		_ = rows.Scan(&l)
		lines = append(lines, l)
	}
	os.WriteFile("/tmp/explain.txt", []byte(strings.Join(lines, "\n")), 0o644)
}
