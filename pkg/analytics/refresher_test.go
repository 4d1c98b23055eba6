package analytics_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// TestRefresherKeepsTheRollupFresh runs the reporter's refresher on a database of its own: its
// first refresh covers history up to today, the watermark read with plain SQL agrees with its
// metrics, a row for a covered day written afterwards reaches the rollup at the next tick, and a
// refresh on a closed pool counts a failure without touching the last success.
func TestRefresherKeepsTheRollupFresh(t *testing.T) {
	ctx := t.Context()
	d, err := testdb.Create(ctx, "refresher", demo.Config{Users: 120, Days: 40, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.WithoutCancel(ctx)) })
	reg := prometheus.NewRegistry()
	r := analytics.NewRefresher(d.DB, 50*time.Millisecond, slog.New(slog.DiscardHandler), reg)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(runCtx) }()

	var covered time.Time
	waitFor(t, "the first refresh", func() bool {
		return d.DB.Pool.QueryRow(ctx, `select covered_until from bdc_analytics.rollup_watermark where rollup = $1`,
			analytics.RollupName).Scan(&covered) == nil
	})
	waitFor(t, "the refresh metrics", func() bool {
		return gathered(t, reg, "bdc_rollup_refresh_last_success_timestamp_seconds") > 0
	})
	if got := gathered(t, reg, "bdc_rollup_covered_until_timestamp_seconds"); int64(got) != time.Date(covered.Year(), covered.Month(), covered.Day(), 0, 0, 0, 0, demo.Location).Unix() {
		t.Errorf("covered_until metric %v, watermark %s", got, covered.Format(time.DateOnly))
	}

	// A late row for a covered day (yesterday) is rolled up at a following tick.
	yesterday := time.Date(covered.Year(), covered.Month(), covered.Day()-1, 12, 0, 0, 0, demo.Location)
	var user int64
	if err := d.DB.Pool.QueryRow(ctx, `select id from bdc.users order by id limit 1`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		_ = d.DB.Pool.QueryRow(ctx, `select coalesce(sum(event_count), 0) from bdc_analytics.user_activity_daily where user_id = $1 and day = $2::date`,
			user, yesterday.Format(time.DateOnly)).Scan(&n)
		return n
	}
	before := count()
	if _, err := d.DB.Pool.Exec(ctx, `insert into bdc.user_activities (user_id, occurred_at, activity_type, feature, session_id, duration_ms)
		values ($1, $2, 'page_view', 'dashboard', 'late-1', 300)`, user, yesterday); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late row in the rollup", func() bool { return count() == before+1 })
	// The events by day and type follow: equal to the raw counts on every covered day.
	var mismatches int
	if err := d.DB.Pool.QueryRow(ctx, `
		with raw as (select (occurred_at at time zone 'Europe/Paris')::date as day, activity_type, count(*) as n
			from bdc.user_activities
			where occurred_at < ((select covered_until from bdc_analytics.rollup_watermark where rollup = $1)::timestamp at time zone 'Europe/Paris')
			group by 1, 2)
		select count(*) from raw full join bdc_analytics.activity_type_daily a using (day, activity_type)
		where raw.n is distinct from a.events`, analytics.RollupName).Scan(&mismatches); err != nil {
		t.Fatal(err)
	}
	if mismatches != 0 {
		t.Errorf("%d (day, type) counts of activity_type_daily differ from the raw rows", mismatches)
	}
	stop()
	<-done

	last := gathered(t, reg, "bdc_rollup_refresh_last_success_timestamp_seconds")
	d.DB.Close()
	r.Refresh(ctx)
	if f := gathered(t, reg, "bdc_rollup_refresh_failures_total"); f != 1 {
		t.Errorf("%v failures after a refresh on a closed pool", f)
	}
	if now := gathered(t, reg, "bdc_rollup_refresh_last_success_timestamp_seconds"); now != last {
		t.Errorf("a failed refresh moved the last success from %v to %v", last, now)
	}
}

// gathered returns the value of the gauge or counter name of reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("%s not registered", name)
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 600 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never happened", what)
}
