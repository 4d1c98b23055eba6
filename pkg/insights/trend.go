package insights

import (
	"context"
	"fmt"
	"math"

	"time"

	"github.com/jackc/pgx/v5"
)

// Tests of the trend rule, as its evidence names them.
const (
	testProportion = "two-proportion z-test"
	testMean       = "Welch z-test of means"
	testCount      = "Poisson z-test of counts"
)

// measure is a KPI the trend rule compares period over period.
type measure struct {
	// name is the KPI's key in the configuration and in the rule's name.
	name string
	// label names it in titles: "No-show ratio".
	label string
	// test is testProportion (rows valued 0 or 1), testMean or testCount.
	test string
	// metric is the pkg/kpi metric whose 7d or 30d window this measure equals over the same
	// days, "" when none does.
	metric string
	// worse is +1 when a rise is bad news, −1 when a fall is.
	worse float64
	// sql returns, for the local days [$1, $3), one row per period: whether it is the current
	// one (t >= $2), its rows, the sum of their values and the sum of their squares.
	sql string
	// value formats the measure's value.
	value func(float64) string
	// sentence says what was measured in both periods, with the figures.
	sentence func(cur, prev sample, w window) string
	// threshold picks the measure's thresholds in the configuration.
	threshold func(*TrendKPIs) *Threshold
}

// byPeriod aggregates rows (t timestamptz, v float8) into the samples of both periods.
func byPeriod(rows string) string {
	return `select s.t >= $2, count(*)::float8, coalesce(sum(s.v), 0)::float8, coalesce(sum(s.v * s.v), 0)::float8
		from (` + rows + `) as s(t, v)
		where s.t >= $1 and s.t < $3
		group by 1`
}

// measures are the main KPIs of DESIGN.md §3 the trend rule watches.
var measures = []*measure{
	{
		name: "active_users", label: "Active users", test: testCount, metric: "bdc_users_active", worse: -1,
		sql: `select ua.occurred_at >= $2, count(distinct ua.user_id)::float8, 0::float8, 0::float8
			from bdc.user_activities ua
			where ua.occurred_at >= $1 and ua.occurred_at < $3
			group by 1`,
		value: count,
		sentence: func(cur, prev sample, w window) string {
			return fmt.Sprintf("%s users were active in %s, against %s in the %d days before.",
				count(cur.N), days(w.from, w.to), count(prev.N), w.days)
		},
		threshold: func(k *TrendKPIs) *Threshold { return &k.ActiveUsers },
	},
	{
		name: "noshow_ratio", label: "No-show ratio", test: testProportion, metric: "bdc_appointment_noshow_ratio", worse: +1,
		sql: byPeriod(`select a.scheduled_at, (a.status = 'no_show')::int::float8
			from bdc.appointments a join bdc.beneficiaries b on b.id = a.beneficiary_id
			where a.status in ('completed', 'no_show')`),
		value: percent,
		sentence: func(cur, prev sample, w window) string {
			return fmt.Sprintf("%s of the %s appointments held or missed in %s were no-shows, against %s of %s in the %d days before.",
				percent(cur.mean()), count(cur.N), days(w.from, w.to), percent(prev.mean()), count(prev.N), w.days)
		},
		threshold: func(k *TrendKPIs) *Threshold { return &k.NoShowRatio },
	},
	{
		name: "completion_ratio", label: "Appointment completion ratio", test: testProportion, metric: "bdc_appointment_completion_ratio", worse: -1,
		sql: byPeriod(`select a.scheduled_at, (a.status = 'completed')::int::float8
			from bdc.appointments a join bdc.beneficiaries b on b.id = a.beneficiary_id
			where a.status in ('completed', 'no_show', 'cancelled')`),
		value: percent,
		sentence: func(cur, prev sample, w window) string {
			return fmt.Sprintf("%s of the %s appointments due in %s were completed (cancellations and no-shows count against), against %s of %s in the %d days before.",
				percent(cur.mean()), count(cur.N), days(w.from, w.to), percent(prev.mean()), count(prev.N), w.days)
		},
		threshold: func(k *TrendKPIs) *Threshold { return &k.CompletionRatio },
	},
	{
		// Each beneficiary is counted when its first 30 days end, with whether it had a completed
		// appointment in them: both periods' cohorts had the same time to convert, and do not
		// overlap, as the test needs.
		name: "conversion_ratio", label: "Conversion to a first appointment", test: testProportion, worse: -1,
		sql: byPeriod(`select b.created_at + interval '30 days',
				(exists (select 1 from bdc.appointments a where a.beneficiary_id = b.id and a.status = 'completed'
					and a.scheduled_at <= b.created_at + interval '30 days'))::int::float8
			from bdc.beneficiaries b`),
		value: percent,
		sentence: func(cur, prev sample, w window) string {
			return fmt.Sprintf("%s of the %s beneficiaries whose first 30 days after registration ended in %s had a completed appointment in them, against %s of %s in the %d days before.",
				percent(cur.mean()), count(cur.N), days(w.from, w.to), percent(prev.mean()), count(prev.N), w.days)
		},
		threshold: func(k *TrendKPIs) *Threshold { return &k.ConversionRatio },
	},
	{
		name: "satisfaction_score", label: "Satisfaction", test: testMean, metric: "bdc_satisfaction_score", worse: -1,
		sql:   byPeriod(`select f.submitted_at, f.score::float8 from bdc.feedback f`),
		value: score,
		sentence: func(cur, prev sample, w window) string {
			return fmt.Sprintf("The %s feedback scores given in %s averaged %s out of 5, against %s over %s scores in the %d days before.",
				count(cur.N), days(w.from, w.to), score(cur.mean()), score(prev.mean()), count(prev.N), w.days)
		},
		threshold: func(k *TrendKPIs) *Threshold { return &k.SatisfactionScore },
	},
	{
		name: "support_resolution_time", label: "Support resolution time", test: testMean, metric: "bdc_support_resolution_seconds", worse: +1,
		sql: byPeriod(`select t.resolved_at, extract(epoch from t.resolved_at - t.opened_at)::float8
			from bdc.support_tickets t where t.resolved_at is not null`),
		value: hours,
		sentence: func(cur, prev sample, w window) string {
			return fmt.Sprintf("The %s support tickets resolved in %s took %s on average from opening to resolution, against %s for the %s resolved in the %d days before.",
				count(cur.N), days(w.from, w.to), hours(cur.mean()), hours(prev.mean()), count(prev.N), w.days)
		},
		threshold: func(k *TrendKPIs) *Threshold { return &k.SupportResolutionTime },
	},
}

// window is a trend comparison: the local days [from, to) against [prevFrom, from).
type window struct {
	period             string
	days               int
	prevFrom, from, to time.Time
}

// periodDays is the length of each period.
var periodDays = map[string]int{PeriodWeek: 7, PeriodMonth: 30}

// periodWords says the comparison in words.
var periodWords = map[string]string{PeriodWeek: "week over week", PeriodMonth: "month over month (30 days)"}

// windowAt is the comparison of period ending at the local midnight of at.
func windowAt(period string, at time.Time, loc *time.Location) window {
	n := periodDays[period]
	to := localDay(at, loc)
	return window{period: period, days: n, to: to, from: to.AddDate(0, 0, -n), prevFrom: to.AddDate(0, 0, -2*n)}
}

// trends runs the trend rule: every enabled KPI over every period, in one read-only transaction.
func (s *Store) trends(ctx context.Context, at time.Time, loc *time.Location) ([]Insight, error) {
	cfg := &s.Config.Trend
	var out []Insight
	err := s.DB.ReadOnly(ctx, s.timeout(), func(ctx context.Context, tx pgx.Tx) error {
		for _, period := range cfg.Periods {
			w := windowAt(period, at, loc)
			for _, m := range measures {
				th := m.threshold(&cfg.KPIs)
				if !th.Enabled {
					continue
				}
				prev, cur, err := m.samples(ctx, tx, w)
				if err != nil {
					return err
				}
				if in, ok := m.judge(prev, cur, w, cfg, th); ok {
					out = append(out, in)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compare KPIs over periods: %w", err)
	}
	return out, nil
}

// samples reads both periods of m.
func (m *measure) samples(ctx context.Context, tx pgx.Tx, w window) (prev, cur sample, err error) {
	rows, err := tx.Query(ctx, m.sql, w.prevFrom, w.from, w.to)
	if err != nil {
		return prev, cur, fmt.Errorf("%s: %w", m.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var isCur bool
		var sm sample
		if err := rows.Scan(&isCur, &sm.N, &sm.Sum, &sm.SumSq); err != nil {
			return prev, cur, fmt.Errorf("%s: %w", m.name, err)
		}
		if isCur {
			cur = sm
		} else {
			prev = sm
		}
	}
	if err := rows.Err(); err != nil {
		return prev, cur, fmt.Errorf("%s: %w", m.name, err)
	}
	return prev, cur, nil
}

// value is the measure's value of a period: the ratio or mean, or for counts the count.
func (m *measure) of(s sample) float64 {
	if m.test == testCount {
		return s.N
	}
	return s.mean()
}

// judge decides whether the change from prev to cur is reported, and how urgently.
func (m *measure) judge(prev, cur sample, w window, cfg *TrendConfig, th *Threshold) (Insight, bool) {
	minRows := float64(cfg.MinCount)
	if prev.N < minRows || cur.N < minRows {
		return Insight{}, false
	}
	before, now := m.of(prev), m.of(cur)
	change := now - before
	rel := change / math.Abs(before)
	if before == 0 {
		rel = math.Copysign(math.Inf(1), change)
	}
	var z float64
	switch m.test {
	case testProportion:
		z = proportionZ(prev, cur)
	case testMean:
		z = welchZ(prev, cur)
	case testCount:
		z = poissonZ(prev, cur)
	}
	p := twoSided(z)
	if change == 0 || math.Abs(rel) < th.MinChange || p > cfg.Significance {
		return Insight{}, false
	}
	adverse := change*m.worse > 0
	priority := PriorityLow
	switch {
	case adverse && math.Abs(rel) >= th.HighChange:
		priority = PriorityHigh
	case adverse:
		priority = PriorityMedium
	}
	direction := "up"
	if change < 0 {
		direction = "down"
	}
	verdict := "for the better"
	if adverse {
		verdict = "for the worse"
	}
	ev := map[string]any{
		"kpi": m.name, "period": w.period, "days": w.days,
		"current": now, "previous": before, "change": change, "relative_change": rel, "direction": direction,
		"current_rows": cur.N, "previous_rows": prev.N,
		"current_from": w.from, "current_to": w.to, "previous_from": w.prevFrom, "previous_to": w.from,
		"test": m.test, "z": z, "p_value": p,
		"significance": cfg.Significance, "min_change": th.MinChange, "high_change": th.HighChange, "min_count": cfg.MinCount,
	}
	if m.metric != "" {
		ev["metric"] = m.metric
	}
	switch m.test {
	case testProportion:
		ev["current_events"], ev["previous_events"] = cur.Sum, prev.Sum
	case testMean:
		ev["current_stddev"], ev["previous_stddev"] = math.Sqrt(cur.variance()), math.Sqrt(prev.variance())
	}
	return Insight{
		Rule:     "trend." + m.name + "." + w.period,
		Category: CategoryTrend,
		Priority: priority,
		Title:    fmt.Sprintf("%s %s %s: %s, from %s", m.label, direction, periodWords[w.period], m.value(now), m.value(before)),
		Detail: fmt.Sprintf("%s That is a change of %s, %s. Chance alone would make a change this large with a probability %s (p-value of a %s).",
			m.sentence(cur, prev, w), signedPercent(rel), verdict, pValue(p), m.test),
		Evidence:   ev,
		PeriodFrom: w.from,
		PeriodTo:   w.to,
	}, true
}
