package demo_test

import (
	"log/slog"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// statsScale is large enough for the generator's statistics to be stable to a few percent.
var statsScale = demo.Config{Users: 4000, Days: 540, Seed: 11, End: time.Date(2026, 10, 5, 0, 0, 0, 0, demo.Location)}

func seeded(t *testing.T) *testdb.Database { return testdb.GetScale(t, statsScale) }

func scalar[T any](t *testing.T, d *testdb.Database, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := d.DB.Pool.QueryRow(t.Context(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func TestNoShowRateAndTrueAUC(t *testing.T) {
	d := seeded(t)
	rate := scalar[float64](t, d, `select avg((status = 'no_show')::int) from bdc.appointments where status in ('completed', 'no_show')`)
	if rate < 0.10 || rate > 0.30 {
		t.Errorf("no-show rate %.3f, want between 0.10 and 0.30", rate)
	}
	rows, err := d.DB.Pool.Query(t.Context(), `
		select t.noshow_probability, a.status = 'no_show'
		from bdc.appointments a join bdc_demo.appointment_truth t on t.appointment_id = a.id
		where a.status in ('completed', 'no_show')`)
	if err != nil {
		t.Fatal(err)
	}
	type scored struct {
		p float64
		y bool
	}
	var s []scored
	for rows.Next() {
		var x scored
		if err := rows.Scan(&x.p, &x.y); err != nil {
			t.Fatal(err)
		}
		s = append(s, x)
	}
	if len(s) < 5000 {
		t.Fatalf("only %d held appointments", len(s))
	}
	// Brute-force AUC: the share of (no-show, attended) pairs ranked correctly, ties counting half.
	var pos, neg []float64
	for _, x := range s {
		if x.y {
			pos = append(pos, x.p)
		} else {
			neg = append(neg, x.p)
		}
	}
	sort.Float64s(neg)
	correct := 0.0
	for _, p := range pos {
		lo := sort.SearchFloat64s(neg, p)
		hi := sort.Search(len(neg), func(i int) bool { return neg[i] > p })
		correct += float64(lo) + 0.5*float64(hi-lo)
	}
	auc := correct / float64(len(pos)*len(neg))
	t.Logf("no-show rate %.3f, true-probability AUC %.3f over %d appointments", rate, auc, len(s))
	if auc < 0.75 || auc > 0.90 {
		t.Errorf("AUC of the true no-show probabilities %.3f, want between 0.75 and 0.90", auc)
	}
	// Calibration of the truth: the mean probability matches the realised rate.
	mean := 0.0
	for _, x := range s {
		mean += x.p
	}
	mean /= float64(len(s))
	if math.Abs(mean-rate) > 0.02 {
		t.Errorf("mean true probability %.3f vs realised rate %.3f", mean, rate)
	}
}

func TestWeekdayWeekendRatio(t *testing.T) {
	d := seeded(t)
	// Mean appointments per calendar day, weekdays against weekend days, over every day of history
	// (days without appointments count as zero).
	got := scalar[float64](t, d, `
		with days as (
			select g::date as day from generate_series($1::date, $2::date - 1, interval '1 day') g
		), counts as (
			select (scheduled_at at time zone 'Europe/Paris')::date as day, count(*) as n
			from bdc.appointments group by 1
		)
		select avg(coalesce(n, 0)) filter (where extract(isodow from days.day) <= 5)
		     / avg(coalesce(n, 0)) filter (where extract(isodow from days.day) > 5)
		from days left join counts using (day)`,
		statsScale.End.AddDate(0, 0, -statsScale.Days+60), statsScale.End)
	want := demo.WeekdayWeekendRatio()
	t.Logf("weekday/weekend ratio %.2f, designed %.2f", got, want)
	if math.Abs(got/want-1) > 0.12 {
		t.Errorf("weekday/weekend booking ratio %.2f, designed %.2f", got, want)
	}
}

func TestSeasonalityAndGrowth(t *testing.T) {
	d := seeded(t)
	// August (French summer break) has far fewer appointments per day than September.
	ratio := scalar[float64](t, d, `
		select (count(*) filter (where extract(month from scheduled_at at time zone 'Europe/Paris') = 8) / 31.0)
		     / (count(*) filter (where extract(month from scheduled_at at time zone 'Europe/Paris') = 9) / 30.0)
		from bdc.appointments where scheduled_at >= '2026-01-01' and scheduled_at < '2026-10-01'`)
	if ratio > 0.75 {
		t.Errorf("August/September appointments per day ratio %.2f, want a clear summer dip (< 0.75)", ratio)
	}
	// Registrations grow: the last 180 days against the same calendar span a year earlier.
	growth := scalar[float64](t, d, `
		select count(*) filter (where created_at >= $1::timestamptz - interval '180 days')::float8
		     / count(*) filter (where created_at >= $1::timestamptz - interval '545 days' and created_at < $1::timestamptz - interval '365 days')
		from bdc.beneficiaries`, statsScale.End)
	t.Logf("August/September %.2f, year-over-year registrations %.2f", ratio, growth)
	if growth < 1.2 || growth > 1.65 {
		t.Errorf("year-over-year registration growth %.2f, designed %.2f", growth, demo.RegistrationGrowthPerYear)
	}
}

func TestConversionDiffersByChannel(t *testing.T) {
	d := seeded(t)
	rows, err := d.DB.Pool.Query(t.Context(), `
		select b.acquisition_channel, avg((exists (select 1 from bdc.appointments a where a.beneficiary_id = b.id))::int)::float8
		from bdc.beneficiaries b
		where b.created_at < $1::timestamptz - interval '90 days'
		group by 1`, statsScale.End)
	if err != nil {
		t.Fatal(err)
	}
	conv := map[string]float64{}
	for rows.Next() {
		var ch string
		var c float64
		if err := rows.Scan(&ch, &c); err != nil {
			t.Fatal(err)
		}
		conv[ch] = c
	}
	t.Logf("conversion to a first appointment by channel: %v", conv)
	if len(conv) != len(demo.Channels) {
		t.Fatalf("channels %v, want %v", conv, demo.Channels)
	}
	// The designed order of the extremes shows in the data, with a wide gap.
	if conv["employer"] < conv["cpf"] || conv["cpf"] < conv["paid_search"] || conv["paid_search"] < conv["social"] {
		t.Errorf("conversion order employer > cpf > paid_search > social broken: %v", conv)
	}
	if conv["employer"]-conv["social"] < 0.35 {
		t.Errorf("conversion gap employer-social %.2f, want >= 0.35", conv["employer"]-conv["social"])
	}
}

func TestLowEngagementPredictsChurn(t *testing.T) {
	d := seeded(t)
	// Observable engagement: sessions in the 30 days before End. The true churn probability of
	// the least engaged quarter of active beneficiaries is far above that of the most engaged.
	rows, err := d.DB.Pool.Query(t.Context(), `
		with recent as (
			select b.id, count(distinct ua.session_id) as sessions, t.churn_probability
			from bdc.beneficiaries b
			join bdc_demo.beneficiary_truth t on t.beneficiary_id = b.id
			left join bdc.user_activities ua on ua.user_id = b.user_id and ua.occurred_at >= $1::timestamptz - interval '30 days'
			where b.status = 'active'
			group by b.id, t.churn_probability
		)
		select q, avg(churn_probability) from (select ntile(4) over (order by sessions, id) as q, churn_probability from recent) x
		group by q order by q`, statsScale.End)
	if err != nil {
		t.Fatal(err)
	}
	var byQuartile []float64
	for rows.Next() {
		var q int
		var p float64
		if err := rows.Scan(&q, &p); err != nil {
			t.Fatal(err)
		}
		byQuartile = append(byQuartile, p)
	}
	t.Logf("mean true churn probability by engagement quartile (low to high): %.3f", byQuartile)
	if len(byQuartile) != 4 || byQuartile[0] < 2*byQuartile[3] || byQuartile[0] < byQuartile[1] {
		t.Errorf("churn by engagement quartile %v: want the least engaged far more likely to churn", byQuartile)
	}
}

func TestEvaluationScoresLinearPlusNoise(t *testing.T) {
	d := seeded(t)
	var n int
	var corr, resid float64
	err := d.DB.Pool.QueryRow(t.Context(), `
		select count(*), corr(e.score, t.expected_score), stddev_samp(e.score - t.expected_score)
		from bdc.evaluations e join bdc_demo.evaluation_truth t on t.evaluation_id = e.id
		where e.score is not null and t.expected_score between 10 and 90`).Scan(&n, &corr, &resid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d scored evaluations: corr(score, expected) %.3f, residual sd %.2f", n, corr, resid)
	if math.Abs(resid-demo.EvaluationNoiseSD) > 0.7 {
		t.Errorf("residual sd %.2f, designed %v", resid, demo.EvaluationNoiseSD)
	}
	if corr < 0.6 {
		t.Errorf("corr(score, expected) %.3f: scores should follow the features", corr)
	}
}

func TestTrainerUtilizationIsMeaningful(t *testing.T) {
	d := seeded(t)
	u := scalar[float64](t, d, `
		select (select sum(duration_minutes) from bdc.appointments
		        where status <> 'cancelled' and scheduled_at >= $1::timestamptz - interval '90 days' and scheduled_at < $1::timestamptz)::float8
		     / (select sum(available_minutes) from bdc.trainer_availability
		        where day >= ($1::timestamptz - interval '90 days')::date and day < $1::date)`, statsScale.End)
	t.Logf("trainer utilization over the last 90 days: %.2f", u)
	if u < 0.45 || u > 0.95 {
		t.Errorf("trainer utilization %.2f, want between 0.45 and 0.95", u)
	}
}

func TestTablesAreConsistent(t *testing.T) {
	d := seeded(t)
	checks := map[string]string{
		"every table has rows": `select bool_and(n > 0) from (
			select count(*) n from bdc.users union all select count(*) from bdc.beneficiaries
			union all select count(*) from bdc.appointments union all select count(*) from bdc.evaluations
			union all select count(*) from bdc.user_activities union all select count(*) from bdc.trainer_availability
			union all select count(*) from bdc.payments union all select count(*) from bdc.feedback
			union all select count(*) from bdc.support_tickets) x`,
		"every status occurs":             `select count(distinct status) = 4 from bdc.appointments`,
		"every beneficiary status occurs": `select count(distinct status) = 4 from bdc.beneficiaries`,
		"the past is settled":             `select not exists (select 1 from bdc.appointments where status = 'scheduled' and scheduled_at < $1)`,
		"the future is open": `select not exists (select 1 from bdc.appointments where status <> 'scheduled' and scheduled_at >= $1)
			and exists (select 1 from bdc.appointments where scheduled_at >= $1)`,
		"nothing happens after End": `select (select max(occurred_at) from bdc.user_activities) < $1
			and (select max(booked_at) from bdc.appointments) < $1 and (select max(paid_at) from bdc.payments) < $1`,
		"feedback follows attended appointments": `select not exists (select 1 from bdc.feedback f join bdc.appointments a on a.id = f.appointment_id
			where a.status <> 'completed' or f.submitted_at < a.scheduled_at)`,
		"tickets resolve after they open, some are open": `select not exists (select 1 from bdc.support_tickets where resolved_at < opened_at)
			and exists (select 1 from bdc.support_tickets where resolved_at is null)`,
		"completed programmes have a date": `select not exists (select 1 from bdc.beneficiaries where (status = 'completed') <> (completed_at is not null))`,
		"a truth row per appointment and beneficiary": `select (select count(*) from bdc.appointments) = (select count(*) from bdc_demo.appointment_truth)
			and (select count(*) from bdc.beneficiaries) = (select count(*) from bdc_demo.beneficiary_truth)`,
		"ids continue after the seed": `select nextval(pg_get_serial_sequence('bdc.user_activities', 'id')) > (select max(id) from bdc.user_activities)`,
		"roles": `select (select count(*) from bdc.users where role = 'beneficiary') = (select count(*) from bdc.beneficiaries)
			and exists (select 1 from bdc.users where role = 'trainer') and exists (select 1 from bdc.users where role = 'admin')`,
	}
	for name, sql := range checks {
		var ok bool
		var args []any
		if containsParam(sql) {
			args = append(args, statsScale.End)
		}
		if err := d.DB.Pool.QueryRow(t.Context(), sql, args...).Scan(&ok); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !ok {
			t.Errorf("%s: does not hold", name)
		}
	}
}

func containsParam(sql string) bool {
	for i := 0; i+1 < len(sql); i++ {
		if sql[i] == '$' && sql[i+1] == '1' {
			return true
		}
	}
	return false
}

func TestSimulatorMovesThePlatform(t *testing.T) {
	d := testdb.Get(t)
	before := scalar[int64](t, d, `select count(*) from bdc.user_activities`)
	pastDue := scalar[int64](t, d, `select count(*) from bdc.appointments where status = 'scheduled' and scheduled_at < now()`)
	if pastDue == 0 {
		t.Fatal("the test seed should end in the past, leaving scheduled appointments now due")
	}
	sim := demo.NewSimulator(d.DB, demo.SimulatorConfig{SessionsPerMinute: 3, BookingsPerHour: 60, TicketsPerHour: 30}, slog.New(slog.DiscardHandler))
	for range 3 {
		if err := sim.Step(t.Context(), 10*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	recent := scalar[int64](t, d, `select count(*) from bdc.user_activities where occurred_at > now() - interval '1 minute'`)
	if after := scalar[int64](t, d, `select count(*) from bdc.user_activities`); after <= before || recent == 0 {
		t.Errorf("activities %d -> %d, %d in the last minute: the simulator should add live activity", before, after, recent)
	}
	if n := scalar[int64](t, d, `select count(*) from bdc.appointments where status = 'scheduled' and scheduled_at + make_interval(mins => duration_minutes) < now()`); n != 0 {
		t.Errorf("%d appointments past their time are still scheduled", n)
	}
	if n := scalar[int64](t, d, `select count(*) from bdc.appointments where booked_at > now() - interval '1 minute' and scheduled_at > booked_at`); n == 0 {
		t.Error("no live booking")
	}
	if n := scalar[int64](t, d, `select count(*) from bdc.support_tickets where opened_at > now() - interval '1 minute'`); n == 0 {
		t.Error("no live ticket")
	}
}
