package analytics

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
// The statement reads the users' days once (from the daily rollup where it covers: its index by
// day holds each day's features as bits of bdc_analytics.feature_bits), folds them into periods
// with the features of each (bit_or) and marks each user's active periods that the next one
// follows (lead), then counts per feature bit. Non-adopters need no pairing of users with
// features: per period they are the active users minus the adopters, so their counts are totals
// minus the adopters' counts. Uses are summed per feature of the dictionary over the rollup's
// rows, one column each, instead of expanding every row's counts; the features the masks do not
// hold (without a bit, or on days read raw) are counted by name.
func (e *Engine) FeatureUsage(ctx context.Context, q FeatureUsageQuery) (*FeatureUsageResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	figures := map[string]*FeatureUsage{}
	var activeBase, activeKept int64
	res := &FeatureUsageResult{Query: q, Features: []FeatureUsage{}}
	rollup := ""
	if e.useRollup(q.Location()) {
		rollup = RollupName
	}
	build := func(ctx context.Context, tx pgx.Tx, covered *time.Time) (Executed, error) {
		var known []string
		if covered != nil {
			err := tx.QueryRow(ctx, "select coalesce(array_agg(feature order by bit), '{}') from bdc_analytics.feature_bits").Scan(&known)
			if err != nil {
				return Executed{}, fmt.Errorf("couldn't read the features' bits: %w", err)
			}
		}
		return q.build(covered, known), nil
	}
	ex, err := e.queryPrepared(ctx, rollup, build, func(rows pgx.Rows) error {
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

// build writes the statement, reading the rollup up to covered (nil: raw rows only), whose
// dictionary of feature bits (bdc_analytics.feature_bits) lists known in bit order. It returns a
// row ('t', ”, active users, 0, (user, period) pairs with a next period, those back in it) and
// a row ('f', feature, adopters, uses, adopter pairs with a next period, those back) per feature.
func (q *FeatureUsageQuery) build(covered *time.Time, known []string) Executed {
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, BreakdownNone)
	reader := newDayReader(a, &q.Query, covered)
	cal := q.calendar()
	start, startTS := cal.start(0), cal.startTime(0)
	ps := cal.sql(a, 0)
	last := a.addTyped(cal.count()-1, "int")
	list := ""
	if len(q.Features) > 0 {
		list = a.addTyped(q.Features, "text[]")
	}
	wanted := func(col string) string { // the condition that col is a feature asked for
		if list == "" {
			return "true"
		}
		return col + " = any(" + list + ")"
	}
	inPop := func(col string) string { return popMember(q.Filters, col) }
	// Per feature: adopters, uses, adopter (user, period) pairs with a next period, those back.
	parts := []string{
		// The features of the masks: the pairs per bit, the adopters from each user's mask (uu).
		// Pairs and users are counted per distinct mask first (a few hundred at most), then
		// spread over the mask's bits.
		`select fb.feature, 0::bigint as adopters, 0::bigint as uses, sum(u.base)::bigint as base, sum(u.kept)::bigint as kept
  from (select mask, count(*) filter (where p < ` + last + `) as base, count(*) filter (where p < ` + last + ` and back) as kept
    from up group by mask) u
  join bdc_analytics.feature_bits fb on ` + inMask("u.mask") + `
  where ` + wanted("fb.feature") + `
  group by fb.feature`,
		`select fb.feature, sum(u.n)::bigint, 0, 0, 0
  from (select mask, count(*) as n from uu group by mask) u
  join bdc_analytics.feature_bits fb on ` + inMask("u.mask") + `
  where ` + wanted("fb.feature") + `
  group by fb.feature`,
		// The features beyond the masks, each pair and each adopter once: those beyond the
		// period's mask, those beyond all the user's periods' masks; and all their uses.
		`select f.feature, 0, 0, count(*) filter (where f.p < ` + last + `), count(*) filter (where f.p < ` + last + ` and u.back)
  from fn f join up u on u.user_id = f.user_id and u.p = f.p
  left join bdc_analytics.feature_bits fb on fb.feature = f.feature
  where ` + beyondMask("u.mask") + `
  group by f.feature`,
		`select f.feature, count(distinct f.user_id), 0, 0, 0
  from fn f join uu u on u.user_id = f.user_id
  left join bdc_analytics.feature_bits fb on fb.feature = f.feature
  where ` + beyondMask("u.mask") + `
  group by f.feature`,
		"select f.feature, 0, sum(f.n), 0, 0 from fn f group by f.feature",
	}
	// The uses of the features with a bit on the days the rollup covers: one sum per feature
	// over the rollup's rows (a row without the feature adds nothing).
	var names []string
	for _, name := range known {
		if len(q.Features) == 0 || slices.Contains(q.Features, name) {
			names = append(names, name)
		}
	}
	// Whole weeks or months come from their rollup, the days after them from the daily one and
	// raw rows.
	var span periodSpan
	whole := false
	if q.Period != PeriodDay {
		span, whole = reader.wholePeriods(q.Period, startTS, start)
	}
	end := start
	if whole {
		end = span.end
	}
	endTS := midnight(end, q.Location())
	if len(names) > 0 {
		var params []*lazyArg // bound by the first sums written
		for _, name := range names {
			params = append(params, a.lazy(name, "text"))
		}
		// One row of sums, a column per feature, from table's rows (alias r) that meet cond.
		sums := func(table, cond string) string {
			var cols, vals []string // vals: (feature, column of its sum)
			for i, param := range params {
				col := "c" + strconv.Itoa(i)
				cols = append(cols, "sum((r.feature_counts ->> "+param.String()+")::bigint) as "+col)
				vals = append(vals, "("+param.String()+", "+col+")")
			}
			return "select v.feature, 0, v.n, 0, 0 from (select " + strings.Join(cols, ", ") + " from " + table + " r where " +
				and(cond, inPop("r.user_id")) + ") s cross join lateral (values " + strings.Join(vals, ", ") + ") as v(feature, n) where v.n is not null"
		}
		if whole {
			parts = append(parts, sums(span.table, span.cond))
		}
		if daily := reader.rollupRows(endTS, end, func(days string) string {
			return sums("bdc_analytics.user_activity_daily", days)
		}); daily != "" {
			parts = append(parts, daily)
		}
	}
	// The users' masks per period.
	masks := `select x.user_id, ` + ps.index("x.day") + ` as p, bit_or(x.mask) as mask
    from (` + reader.activity(endTS, end) + `) x
    where ` + inPop("x.user_id") + `
    group by 1, 2`
	if whole {
		masks = `select r.user_id, ` + ps.index("r.start") + ` as p, r.feature_mask as mask
    from ` + span.table + ` r
    where ` + and(span.cond, inPop("r.user_id")) + `
    union all
    ` + masks
	}
	sql := "with " + pop + `,
up as (
  select user_id, p, mask, coalesce(lead(p) over (partition by user_id order by p) = p + 1, false) as back
  from (
    ` + masks + `
  ) g
),
uu as (
  select user_id, bit_or(mask) as mask from up group by user_id
),
fn as (
  select f.user_id, ` + ps.index("f.day") + ` as p, f.feature, sum(f.n)::bigint as n
  from (` + reader.featuresBeyondMasks(startTS, start) + `) f
  where ` + and(inPop("f.user_id"), wanted("f.feature")) + `
  group by 1, 2, 3
)
select 't', '', (select count(*) from uu), 0::bigint, count(*), count(*) filter (where back)
from up where p < ` + last + `
union all
select 'f', feature, sum(adopters)::bigint, sum(uses)::bigint, sum(base)::bigint, sum(kept)::bigint
from (
  ` + strings.Join(parts, "\n  union all\n  ") + `
) x
group by feature
having sum(adopters) > 0`
	return Executed{SQL: sql, Args: a.vals, Rollup: reader.used}
}
