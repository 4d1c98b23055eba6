package exporter_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/pgcluster"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// TestConnectionsExhausted starts the exporter while other clients hold every connection of a
// throwaway cluster (never the shared server): /metrics answers at once, reports the database
// down and no query fresh, and the exporter is not ready; once the connections are released it
// recovers by itself, with nothing to restart.
func TestConnectionsExhausted(t *testing.T) {
	ctx := t.Context()
	tmp, err := os.MkdirTemp("", "bdc-exhaust")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // the postgres OS user runs the cluster as root's tests
		t.Fatal(err)
	}
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cluster.Close(context.Background()) }()
	owner, err := store.Connect(ctx, store.Config{URL: cluster.URL("postgres"), Application: "bdc-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, owner, demo.Config{Users: 200, Days: 60, Seed: 3}, nil); err != nil {
		t.Fatal(err)
	}
	// A small server: 12 connections, 3 of them kept for superusers, all of which the hog takes.
	if _, err := owner.Pool.Exec(ctx, "alter system set max_connections = 12"); err != nil {
		t.Fatal(err)
	}
	owner.Close()
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var hog []*pgx.Conn
	release := func() {
		for _, c := range hog {
			_ = c.Close(context.Background())
		}
		hog = nil
	}
	defer release()
	for {
		c, err := pgx.Connect(ctx, cluster.URL("postgres"))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "53300" { // too_many_connections
			break
		}
		if err != nil {
			t.Fatalf("holding connection %d: %v", len(hog)+1, err)
		}
		hog = append(hog, c)
		if len(hog) > 20 {
			t.Fatal("max_connections = 12 did not take")
		}
	}

	db, err := store.Open(ctx, store.Config{URL: cluster.URL("postgres"), Application: "bdc-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base, exp := startWith(t, db, "", exporter.Options{Schedules: fast, ProbeInterval: 200 * time.Millisecond})
	time.Sleep(2 * time.Second) // some refreshes and probes fail meanwhile
	_, families := scrape(t, base)
	if up, ok := value(families, "bdc_exporter_database_up"); !ok || up != 0 {
		t.Errorf("bdc_exporter_database_up = %v, %v with every connection taken", up, ok)
	}
	if s, _ := value(families, "bdc_exporter_query_success", "query", "bdc_users"); s != 0 {
		t.Errorf("bdc_users refreshed with every connection taken")
	}
	if exp.Ready() {
		t.Error("ready with every connection taken")
	}

	release()
	released := time.Now()
	waitReady(t, base)
	_, families = scrape(t, base)
	if v, ok := value(families, "bdc_users", "role", "beneficiary"); !ok || v == 0 {
		t.Errorf("bdc_users{role=beneficiary} = %v, %v after recovery", v, ok)
	}
	testtools.RecordCheck(t, results.Check{Area: "Reliability",
		Case:    "exporter: started while every PostgreSQL connection is taken",
		Sees:    "/metrics answers at once with bdc_exporter_database_up 0 and no query fresh; /-/ready is 503",
		Outcome: "ready and every KPI served once the connections were released, with no restart",
		Resumed: time.Since(released).Seconds()})
}
