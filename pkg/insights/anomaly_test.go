package insights_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/insights"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// referenceDay is a day of a series as the test computes it: the actual value from plain SQL
// and the interval bounds of the forecast made before the first day checked.
type referenceDay struct {
	actual, mean, lower, upper, highLower, highUpper float64
	outside                                          string
	outsideHigh                                      bool
}

// dailySQL computes each series per local day of [$1, $2) in plain SQL, as (day, value).
var dailySQL = map[string]string{
	predict.SeriesAppointments: `select to_char(scheduled_at at time zone 'Europe/Paris', 'YYYY-MM-DD'), count(*)::float8
		from bdc.appointments where status <> 'cancelled' and scheduled_at >= $1 and scheduled_at < $2 group by 1`,
	predict.SeriesRegistrations: `select to_char(created_at at time zone 'Europe/Paris', 'YYYY-MM-DD'), count(*)::float8
		from bdc.beneficiaries where created_at >= $1 and created_at < $2 group by 1`,
	predict.SeriesTrainerUtilization: `select to_char(v.day, 'YYYY-MM-DD'), (select coalesce(sum(a.duration_minutes), 0) from bdc.appointments a
			where a.status <> 'cancelled' and (a.scheduled_at at time zone 'Europe/Paris')::date = v.day)::float8 / v.minutes
		from (select day, sum(available_minutes) as minutes from bdc.trainer_availability
			where day >= ($1::timestamptz at time zone 'Europe/Paris')::date and day < ($2::timestamptz at time zone 'Europe/Paris')::date
			group by day) v
		where v.minutes > 0`,
}

// reference computes the anomaly rule's days of series at at by brute force: the daily values in
// plain SQL, the bounds of a forecast fitted with the history before the first day checked.
func reference(t *testing.T, d *testdb.Database, series string, at time.Time, cfg insights.AnomalyConfig) map[string]referenceDay {
	t.Helper()
	today := time.Date(at.In(paris).Year(), at.In(paris).Month(), at.In(paris).Day(), 0, 0, 0, 0, paris)
	start := today.AddDate(0, 0, -cfg.Days)
	run, err := predict.NewStore(d.DB).Forecast(t.Context(), series, predict.ForecastOptions{Now: start, HistoryDays: cfg.HistoryDays,
		Horizon: cfg.Days, Levels: []float64{cfg.Level, cfg.HighLevel}, BacktestOrigins: -1})
	if err != nil {
		t.Fatal(err)
	}
	actual := map[string]float64{}
	rows, err := d.DB.Pool.Query(t.Context(), dailySQL[series], start, today)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var day string
		var v float64
		if err := rows.Scan(&day, &v); err != nil {
			t.Fatal(err)
		}
		actual[day] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out := map[string]referenceDay{}
	for _, p := range run.Points {
		day := p.Day.Format(time.DateOnly)
		v, ok := actual[day]
		if !ok && series == predict.SeriesTrainerUtilization {
			continue // nobody available: no value
		}
		r := referenceDay{actual: v, mean: max(0, p.Mean), lower: max(0, p.Lower[0]), upper: max(0, p.Upper[0]),
			highLower: max(0, p.Lower[1]), highUpper: max(0, p.Upper[1])}
		switch {
		case v > r.upper:
			r.outside, r.outsideHigh = "above", v > r.highUpper
		case v < r.lower:
			r.outside, r.outsideHigh = "below", v < r.highLower
		}
		out[day] = r
	}
	return out
}

// checkAgainstReference compares the rule's insight for series (nil when none) with the
// reference days.
func checkAgainstReference(t *testing.T, series string, in *insights.Insight, want map[string]referenceDay) {
	t.Helper()
	outside, high := 0, false
	for _, r := range want {
		if r.outside != "" {
			outside++
			high = high || r.outsideHigh
		}
	}
	if in == nil {
		if outside > 0 {
			t.Errorf("%s: no insight, but %d days are outside the interval: %+v", series, outside, want)
		}
		return
	}
	if outside == 0 {
		t.Fatalf("%s: insight %q, but every day is inside the interval: %+v", series, in.Title, want)
	}
	if wantPriority := map[bool]string{true: insights.PriorityHigh, false: insights.PriorityMedium}[high]; in.Priority != wantPriority {
		t.Errorf("%s: priority %s, want %s", series, in.Priority, wantPriority)
	}
	days, _ := in.Evidence["days"].([]any)
	if len(days) != len(want) || num(t, *in, "days_outside") != float64(outside) {
		t.Fatalf("%s: evidence of %d days (%v outside), reference %d days (%d outside)", series, len(days), in.Evidence["days_outside"], len(want), outside)
	}
	for _, item := range days {
		e := item.(map[string]any)
		r, ok := want[e["day"].(string)]
		if !ok {
			t.Errorf("%s: evidence day %v is not a reference day", series, e["day"])
			continue
		}
		for key, v := range map[string]float64{"actual": r.actual, "expected": r.mean, "lower": r.lower, "upper": r.upper,
			"high_lower": r.highLower, "high_upper": r.highUpper} {
			if got := e[key].(float64); math.Abs(got-v) > 1e-9*math.Max(1, math.Abs(v)) {
				t.Errorf("%s %s: %s %v, reference %v", series, e["day"], key, got, v)
			}
		}
		if e["outside"] != r.outside {
			t.Errorf("%s %s: outside %q, reference %q", series, e["day"], e["outside"], r.outside)
		}
	}
}

// TestAnomaliesMatchBruteForce runs the anomaly rule over the last week of the generated platform,
// with a narrow interval (so that days fall outside it) and with the default ones, and compares
// every series and day with the brute-force reference.
func TestAnomaliesMatchBruteForce(t *testing.T) {
	d := testdb.Get(t)
	at := d.Seed.End.Add(6 * time.Hour)
	for _, levels := range [][2]float64{{0.5, 0.8}, {0.95, 0.99}} {
		t.Run(fmt.Sprintf("level %v", levels[0]), func(t *testing.T) {
			s := insights.NewStore(d.DB)
			s.Config.Trend.Enabled, s.Config.Risk.Enabled = false, false
			s.Config.Anomaly.Days, s.Config.Anomaly.Level, s.Config.Anomaly.HighLevel = 7, levels[0], levels[1]
			found, err := s.Detect(t.Context(), at)
			if err != nil {
				t.Fatal(err)
			}
			for _, series := range predict.SeriesNames() {
				var in *insights.Insight
				for i := range found {
					if found[i].Rule == "anomaly."+series {
						in = &found[i]
					}
				}
				checkAgainstReference(t, series, in, reference(t, d, series, at, s.Config.Anomaly))
				if in != nil {
					t.Logf("%s: %s", in.Priority, in.Title)
				}
			}
		})
	}
}

// TestAnomalyOnBuiltDays builds 200 days of appointments with a weekly pattern in an empty
// platform, then checks yesterday as it was (no insight), with three times its appointments
// (high priority, above) and with none (high priority, below). The forecast is the same in all
// three: it was made before yesterday and does not see it.
func TestAnomalyOnBuiltDays(t *testing.T) {
	t.Parallel()
	d := emptyPlatform(t)
	yesterday := time.Date(2026, 3, 10, 0, 0, 0, 0, paris) // a Tuesday
	first := yesterday.AddDate(0, 0, -200)
	var dayList []string
	var counts []int32
	perWeekday := map[time.Weekday]int{time.Monday: 40, time.Tuesday: 44, time.Wednesday: 38, time.Thursday: 42,
		time.Friday: 36, time.Saturday: 15, time.Sunday: 4}
	noise := rand.New(rand.NewPCG(7, 11))
	for day := first; !day.After(yesterday); day = day.AddDate(0, 0, 1) {
		dayList = append(dayList, day.Format(time.DateOnly))
		counts = append(counts, int32(perWeekday[day.Weekday()]+noise.IntN(9)-4))
	}
	insertDays := func(days []string, counts []int32) {
		exec(t, d, `insert into bdc.appointments (beneficiary_id, trainer_id, booked_at, scheduled_at, duration_minutes, channel, reminder_sent, status)
			select 1 + (k * 37 + extract(doy from c.day)::int) % $3, 1, s - interval '2 days', s, 30, 'in_person', true, 'completed'
			from unnest($1::date[], $2::int[]) as c(day, n), generate_series(1, c.n) k,
				lateral (select (c.day + time '08:00') at time zone 'Europe/Paris' + k * interval '6 minutes' as s) x`,
			days, counts, beneficiaries)
	}
	insertDays(dayList, counts)
	s := insights.NewStore(d.DB)
	s.Config.Trend.Enabled, s.Config.Risk.Enabled = false, false
	s.Config.Anomaly.Series = []string{predict.SeriesAppointments}
	at := yesterday.AddDate(0, 0, 1).Add(6 * time.Hour)
	detect := func() *insights.Insight {
		t.Helper()
		found, err := s.Detect(t.Context(), at)
		if err != nil {
			t.Fatal(err)
		}
		want := reference(t, d, predict.SeriesAppointments, at, s.Config.Anomaly)
		if len(found) > 1 {
			t.Fatalf("%d insights for one series", len(found))
		}
		var in *insights.Insight
		if len(found) == 1 {
			in = &found[0]
		}
		checkAgainstReference(t, predict.SeriesAppointments, in, want)
		return in
	}
	bounds := func(in *insights.Insight) []any {
		e := in.Evidence["days"].([]any)[0].(map[string]any)
		return []any{e["expected"], e["lower"], e["upper"], e["high_lower"], e["high_upper"]}
	}

	if in := detect(); in != nil {
		t.Fatalf("yesterday as built (%d appointments) is no anomaly: %s", counts[len(counts)-1], in.Detail)
	}
	n := counts[len(counts)-1]
	insertDays([]string{dayList[len(dayList)-1]}, []int32{2 * n})
	above := detect()
	if above == nil || above.Priority != insights.PriorityHigh || above.Evidence["days"].([]any)[0].(map[string]any)["outside"] != "above" {
		t.Fatalf("three times yesterday's appointments: %+v", above)
	}
	t.Logf("%s\n%s", above.Title, above.Detail)
	exec(t, d, `delete from bdc.appointments where scheduled_at >= $1 and scheduled_at < $2`, yesterday, yesterday.AddDate(0, 0, 1))
	below := detect()
	if below == nil || below.Priority != insights.PriorityHigh || num(t, *below, "days_checked") != 1 {
		t.Fatalf("no appointment yesterday: %+v", below)
	}
	day := below.Evidence["days"].([]any)[0].(map[string]any)
	if day["outside"] != "below" || day["actual"] != 0.0 {
		t.Errorf("no appointment yesterday: %+v", day)
	}
	if !slices.Equal(bounds(above), bounds(below)) {
		t.Errorf("the forecast changed with yesterday's rows: %v then %v", bounds(above), bounds(below))
	}
	if !below.PeriodFrom.Equal(yesterday) || !below.PeriodTo.Equal(yesterday.AddDate(0, 0, 1)) {
		t.Errorf("period %s .. %s", below.PeriodFrom, below.PeriodTo)
	}
}
