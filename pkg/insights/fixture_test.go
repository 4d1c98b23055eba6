package insights_test

import (
	"context"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/insights"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

var paris, _ = time.LoadLocation("Europe/Paris")

// beneficiaries is how many beneficiaries an empty platform starts with (ids 1..beneficiaries,
// users 2..beneficiaries+1; user 1 is the trainer), all registered long before the tests' days.
const beneficiaries = 3000

// emptyPlatform creates a migrated database without rows but a trainer and registered
// beneficiaries, dropped when the test ends: the tests build their days in it with plain INSERTs.
func emptyPlatform(t *testing.T) *testdb.Database {
	t.Helper()
	ctx := t.Context()
	d, err := testdb.CreateEmpty(ctx, "insights")
	if err != nil {
		t.Fatalf("testdb: %v (is PostgreSQL running? `make test` starts it)", err)
	}
	t.Cleanup(func() {
		if err := d.Drop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if err := d.DB.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, d, `insert into bdc.users (id, email, role, created_at) values (1, 'trainer1@example.invalid', 'trainer', '2024-01-01')`)
	exec(t, d, `insert into bdc.users (id, email, role, created_at)
		select i + 1, 'user' || i || '@example.invalid', 'beneficiary', '2024-01-01' from generate_series(1, $1) i`, beneficiaries)
	exec(t, d, `insert into bdc.beneficiaries (id, user_id, trainer_id, status, acquisition_channel, region, birth_year, gender, created_at)
		select i, i + 1, 1, 'active', 'referral', 'bretagne', 1985, 'f', '2024-01-01' from generate_series(1, $1) i`, beneficiaries)
	return d
}

func exec(t *testing.T, d *testdb.Database, sql string, args ...any) {
	t.Helper()
	if _, err := d.DB.Pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// spread is the instant of row i of n spread evenly over the days [from, from+days): the
// statements below place rows at from + (i + 0.5) × span / n.
const spread = `$1::timestamptz + ((i + 0.5) * $2::float8 / $3) * interval '1 day'`

// appointments inserts n appointments spread over the days from from: the first noShows are
// no-shows, the next cancelled are cancelled, the rest completed.
func appointments(t *testing.T, d *testdb.Database, from time.Time, days, n, noShows, cancelled int) {
	t.Helper()
	exec(t, d, `insert into bdc.appointments (beneficiary_id, trainer_id, booked_at, scheduled_at, duration_minutes, channel, reminder_sent, status)
		select 1 + i % $6, 1, s - interval '3 days', s, 60, 'video', true,
			case when i < $4 then 'no_show' when i < $4 + $5 then 'cancelled' else 'completed' end
		from generate_series(0, $3 - 1) i, lateral (select `+spread+` as s) x`, from, days, n, noShows, cancelled, beneficiaries)
}

// activeUsers makes users 2..n+1 active once each in the days from from.
func activeUsers(t *testing.T, d *testdb.Database, from time.Time, days, n int) {
	t.Helper()
	exec(t, d, `insert into bdc.user_activities (user_id, occurred_at, activity_type)
		select 2 + i, `+spread+`, 'login' from generate_series(0, $3 - 1) i`, from, days, n)
}

// feedback inserts one feedback per score, spread over the days from from.
func feedback(t *testing.T, d *testdb.Database, from time.Time, days int, scores []int) {
	t.Helper()
	exec(t, d, `insert into bdc.feedback (user_id, score, submitted_at)
		select 2 + i, ($4::int[])[i + 1], `+spread+` from generate_series(0, $3 - 1) i`, from, days, len(scores), scores)
}

// tickets inserts one support ticket per duration (hours), resolved at instants spread over the
// days from from.
func tickets(t *testing.T, d *testdb.Database, from time.Time, days int, hours []float64) {
	t.Helper()
	exec(t, d, `insert into bdc.support_tickets (user_id, category, opened_at, resolved_at)
		select 2 + i, 'access', s - ($4::float8[])[i + 1] * interval '1 hour', s
		from generate_series(0, $3 - 1) i, lateral (select `+spread+` as s) x`, from, days, len(hours), hours)
}

// registrations inserts n beneficiaries whose first 30 days end in the days from from (they
// register 30 days before), the first converted of whom have a completed appointment 10 days
// after registering.
func registrations(t *testing.T, d *testdb.Database, from time.Time, days, n, converted int) {
	t.Helper()
	var first int64
	if err := d.DB.Pool.QueryRow(t.Context(), `select coalesce(max(id), 0) + 1 from bdc.users`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	exec(t, d, `insert into bdc.users (id, email, role, created_at)
		select $4 + i, 'user' || ($4 + i) || '@example.invalid', 'beneficiary', `+spread+` - interval '30 days'
		from generate_series(0, $3 - 1) i`, from, days, n, first)
	exec(t, d, `insert into bdc.beneficiaries (id, user_id, trainer_id, status, acquisition_channel, region, birth_year, gender, created_at)
		select u.id + 100000, u.id, 1, 'active', 'referral', 'bretagne', 1990, 'm', u.created_at from bdc.users u where u.id >= $1`, first)
	exec(t, d, `insert into bdc.appointments (beneficiary_id, trainer_id, booked_at, scheduled_at, duration_minutes, channel, reminder_sent, status)
		select b.id, 1, b.created_at + interval '1 day', b.created_at + interval '10 days', 60, 'phone', true, 'completed'
		from bdc.beneficiaries b where b.user_id >= $1 and b.user_id < $1 + $2`, first, converted)
}

// promote trains the no-show and churn models at at and promotes them.
func promote(tb testing.TB, d *testdb.Database, at time.Time) {
	tb.Helper()
	ps := predict.NewStore(d.DB)
	for _, model := range []string{predict.NoShow, predict.Churn} {
		res, err := ps.Train(tb.Context(), model, predict.TrainOptions{Now: at})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := ps.Register(tb.Context(), res, at); err != nil {
			tb.Fatal(err)
		}
	}
}

// only returns a configuration running just the trend rule on one KPI and the given periods.
func only(kpi string, periods ...string) insights.Config {
	cfg := insights.DefaultConfig()
	cfg.Anomaly.Enabled, cfg.Risk.Enabled = false, false
	cfg.Trend.Periods = periods
	k := &cfg.Trend.KPIs
	for name, th := range map[string]*insights.Threshold{
		"active_users": &k.ActiveUsers, "noshow_ratio": &k.NoShowRatio, "completion_ratio": &k.CompletionRatio,
		"conversion_ratio": &k.ConversionRatio, "satisfaction_score": &k.SatisfactionScore,
		"support_resolution_time": &k.SupportResolutionTime,
	} {
		th.Enabled = name == kpi
	}
	return cfg
}

// repeat returns n copies of v.
func repeat[T any](n int, v T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func concat[T any](parts ...[]T) []T {
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// num reads a number of evidence.
func num(t *testing.T, in insights.Insight, key string) float64 {
	t.Helper()
	v, ok := in.Evidence[key].(float64)
	if !ok {
		t.Fatalf("%s: evidence %s is %v (%T), want a number", in.Rule, key, in.Evidence[key], in.Evidence[key])
	}
	return v
}
