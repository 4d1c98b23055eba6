package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MaxFeatures bounds the features a feature_usage query names.
const MaxFeatures = 100

// FeatureUsageQuery measures, for each feature of the platform (bdc.user_activities.feature), how
// many active beneficiaries use it, how much, and whether its users come back more than the
// others. The range is the calendar periods from the one that holds From; events at or after To
// do not count. Over it:
//
//   - active users are the beneficiaries of the population with any activity;
//   - adopters of a feature are those with at least one activity row of it; adoption is
//     adopters over active users, and frequency the feature's rows per adopter;
//   - retention compares, period by period, the users active in a period who used the feature
//     in it (adopters) with those active in it who did not (non-adopters): the share of each
//     that is active again (any activity) in the next period. Every period with a next one in
//     the range contributes, and the shares pool the periods (retained users over base users,
//     summed over the periods), so a user counts once per period.
type FeatureUsageQuery struct {
	Query
	// Features to report, in this order; empty means every feature used in the range, most
	// adopters first.
	Features []string `json:"features,omitempty"`
	// Period of the retention comparison: day, week (default) or month.
	Period Period `json:"period,omitempty"`
}

// Validate checks the query and fills its defaults; errors are *ParamError.
func (q *FeatureUsageQuery) Validate() error {
	if err := q.Query.Validate(); err != nil {
		return err
	}
	if len(q.Features) > MaxFeatures {
		return paramErr("features", "has %d values, at most %d", len(q.Features), MaxFeatures)
	}
	seen := map[string]bool{}
	for i, f := range q.Features {
		param := fmt.Sprintf("features[%d]", i)
		if err := checkValue(param, f); err != nil {
			return err
		}
		if seen[f] {
			return paramErr(param, "%q is listed twice", f)
		}
		seen[f] = true
	}
	if err := validatePeriod("period", &q.Period, PeriodWeek, PeriodDay, PeriodWeek, PeriodMonth); err != nil {
		return err
	}
	return q.calendar().checkCount()
}

func (q *FeatureUsageQuery) calendar() calendar { return newCalendar(&q.Query, q.Period) }

// FeatureUsageResult is the usage of each feature.
type FeatureUsageResult struct {
	// Query after defaults.
	Query FeatureUsageQuery `json:"query"`
	// ActiveUsers is the number of beneficiaries active in the range.
	ActiveUsers int64 `json:"activeUsers"`
	// Features in the order asked for, or most adopters first, then by name.
	Features []FeatureUsage `json:"features"`
	// Executed is the statement that computed the usage.
	Executed Executed `json:"executed"`
}

// FeatureUsage is one feature's figures.
type FeatureUsage struct {
	Feature string `json:"feature"`
	// Adopters is the number of active users who used the feature; Adoption their share of
	// the active users (0 when there are none).
	Adopters int64   `json:"adopters"`
	Adoption float64 `json:"adoption"`
	// Uses is the number of the feature's activity rows; Frequency is Uses per adopter.
	Uses      int64   `json:"uses"`
	Frequency float64 `json:"frequency"`
	// AdopterRetention and NonAdopterRetention are the next-period return of users active in a
	// period with and without the feature.
	AdopterRetention    PeriodReturn `json:"adopterRetention"`
	NonAdopterRetention PeriodReturn `json:"nonAdopterRetention"`
}

// PeriodReturn is the pooled next-period return of a group.
type PeriodReturn struct {
	// Base is the number of (user, period) pairs of the group with a next period in the range.
	Base int64 `json:"base"`
	// Retained is the number of them active in the next period.
	Retained int64 `json:"retained"`
	// Ratio is Retained / Base (0 when Base is 0).
	Ratio float64 `json:"ratio"`
}

// FeatureUsage computes the usage of the features.
//
// The statement reads the features used per user and day and the days with activity once each
// (from the daily rollup where it covers), folds them into periods, marks each user's active
// periods that the next one follows (lead), and aggregates per feature. Non-adopters need no
// pairing of users with features: per period they are the active users minus the adopters, so
// their counts are totals minus the adopters' counts.
func (e *Engine) FeatureUsage(ctx context.Context, q FeatureUsageQuery) (*FeatureUsageResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	figures := map[string]*FeatureUsage{}
	var activeBase, activeKept int64
	res := &FeatureUsageResult{Query: q, Features: []FeatureUsage{}}
	ex, err := e.query(ctx, e.useRollup(q.Location()), q.build, func(rows pgx.Rows) error {
		var (
			kind, feature    string
			a, b, base, kept int64
		)
		if err := rows.Scan(&kind, &feature, &a, &b, &base, &kept); err != nil {
			return err
		}
		switch kind {
		case "t":
			res.ActiveUsers, activeBase, activeKept = a, base, kept
		case "f":
			figures[feature] = &FeatureUsage{Feature: feature, Adopters: a, Uses: b,
				AdopterRetention: PeriodReturn{Base: base, Retained: kept}}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute feature usage: %w", err)
	}
	res.Executed = ex
	names := q.Features
	if len(names) == 0 {
		adopters := map[string]int64{}
		for f, u := range figures {
			adopters[f] = u.Adopters
		}
		names = byTotal(adopters)
	}
	for _, name := range names {
		u := figures[name]
		if u == nil {
			u = &FeatureUsage{Feature: name}
		}
		u.Adoption = ratio(u.Adopters, res.ActiveUsers)
		u.Frequency = ratio(u.Uses, u.Adopters)
		u.AdopterRetention.Ratio = ratio(u.AdopterRetention.Retained, u.AdopterRetention.Base)
		non := PeriodReturn{Base: activeBase - u.AdopterRetention.Base, Retained: activeKept - u.AdopterRetention.Retained}
		non.Ratio = ratio(non.Retained, non.Base)
		u.NonAdopterRetention = non
		res.Features = append(res.Features, *u)
	}
	return res, nil
}

// build writes the statement, reading the rollup up to covered (nil: raw rows only). It returns a
// row ('t', ”, active users, 0, (user, period) pairs with a next period, those back in it) and a
// row ('f', feature, adopters, uses, adopter pairs with a next period, those back) per feature.
func (q *FeatureUsageQuery) build(covered *time.Time) Executed {
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, BreakdownNone)
	reader := newDayReader(a, &q.Query, covered)
	cal := q.calendar()
	start, startTS := cal.start(0), cal.startTime(0)
	ps := cal.sql(a, 0)
	feats := reader.features(startTS, start)
	activity := Event{Kind: EventActivity}
	// A user's active periods, each once with whether the next one follows. From the rollup,
	// whose rows come in (user_id, day) order, the last day of each period (lead) says it in
	// one window pass; raw days are hashed first.
	var ua string
	if reader.daysFromRollup(activity, startTS, start) {
		ua = `ua as (
  select user_id, p, coalesce(np = p + 1, false) as back from (
    select e.user_id, ` + ps.index("e.day") + ` as p, lead(` + ps.index("e.day") + `) over (partition by e.user_id order by e.day) as np
    from (` + reader.days(activity, startTS, start) + `) e
    where e.user_id in (select user_id from pop)
  ) d
  where np is distinct from p
)`
	} else {
		ua = `ua as (
  select user_id, p, coalesce(lead(p) over (partition by user_id order by p) = p + 1, false) as back
  from (select distinct e.user_id, ` + ps.index("e.day") + ` as p from (` + reader.days(activity, startTS, start) + `) e where e.user_id in (select user_id from pop)) x
)`
	}
	only := inList(a, "f.feature", q.Features, "text")
	last := a.addTyped(cal.count()-1, "int")
	sql := "with " + pop + `,
fu as (
  select f.user_id, ` + ps.index("f.day") + ` as p, f.feature, sum(f.n)::bigint as n
  from (` + feats + `) f
  where ` + and("f.user_id in (select user_id from pop)", only) + `
  group by 1, 2, 3
),
` + ua + `
select 't', '', (select count(distinct user_id) from ua), 0::bigint, count(*), count(*) filter (where back)
from ua where p < ` + last + `
union all
select 'f', f.feature, count(distinct f.user_id), sum(f.n)::bigint, count(*) filter (where f.p < ` + last + `),
  count(*) filter (where f.p < ` + last + ` and u.back)
from fu f join ua u on u.user_id = f.user_id and u.p = f.p
group by f.feature`
	return Executed{SQL: sql, Args: a.vals, Rollup: reader.used}
}
