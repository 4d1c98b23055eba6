package analytics

import (
	"time"
)

// behaviour writes the per-beneficiary usage figures that engagement and segments score and
// cluster: over the calendar days of the range in the query's zone (from the day that holds From;
// events at or after To do not count), for each beneficiary of the population whose account was
// created before To, whether or not they did anything:
//
//   - days: the number of days with activity;
//   - events: the number of activity rows;
//   - last_at: the instant of the last activity row (null without any);
//   - features: the number of distinct features used (activity rows without a feature do not
//     count).
//
// The activity comes from the daily rollup for the days it covers.
type behaviour struct {
	a      *sqlArgs
	reader *dayReader
	days   calendar  // the calendar days of the range
	lo     time.Time // first instant of the first day
	to     *lazyArg
	// filters are the query's, for popMember.
	filters Filters
}

func newBehaviour(a *sqlArgs, q *Query, covered *time.Time) *behaviour {
	days := newCalendar(q, PeriodDay)
	reader := newDayReader(a, q, covered)
	return &behaviour{a: a, reader: reader, days: days, lo: days.startTime(0), to: reader.to, filters: q.Filters}
}

// ctes returns the common table expressions "ua(user_id, days, events, last_at, mask)" (one row
// per user with activity, mask holding the features of the rollup's days as bits), "fea(user_id,
// feature)" (the features each user used that the masks do not hold), both possibly with users
// outside the population, and "beh(user_id, beneficiary_id, bd, days, events, last_at, mask,
// features)", one row per scored beneficiary; pop must be defined before them. A user's
// features are those of their mask and those of fea beyond it.
func (b *behaviour) ctes() []string {
	// Every user's activity is aggregated, and beh keeps the population's: without filters,
	// testing each activity row for membership would cost more than the rows of the platform's
	// few other users. With filters, the population may be a small part of the users: its
	// activity alone is read. ua is not materialized, although beh reads it twice: inlined, its
	// aggregate joins the population in the planner's order (and RFM, which needs no features,
	// loses the second use), where a materialized CTE is an opaque scan (RFM 442-456 ms -> 392-407,
	// k-means 470-493 -> 424-446, engagement 266 -> 240-251 on the benchmark platform).
	inPop := ""
	if !b.filters.IsZero() {
		inPop = "\n  where " + popMember(b.filters, "x.user_id")
	}
	return []string{
		"ua as not materialized (\n  select x.user_id, sum(x.days)::int as days, sum(x.n)::bigint as events, max(x.last_at) as last_at, bit_or(x.mask) as mask\n  from (" +
			b.reader.activitySpans(b.lo, b.days.start(0)) + ") x" + inPop + "\n  group by x.user_id\n)",
		"fea as (\n  select distinct x.user_id, x.feature from (" + b.reader.namedFeatures(b.lo, b.days.start(0)) + ") x" + inPop + "\n)",
		`beh as (
  select p.user_id, p.beneficiary_id, p.bd, coalesce(x.days, 0) as days, coalesce(x.events, 0) as events, x.last_at, x.mask,
    coalesce(bit_count(x.mask::bit(64))::int, 0) + coalesce(y.features, 0) as features
  from pop p
  left join ua x on x.user_id = p.user_id
  left join (select f.user_id, count(*)::int as features from fea f
      left join ua m on m.user_id = f.user_id
      left join bdc_analytics.feature_bits fb on fb.feature = f.feature
      where ` + beyondMask("m.mask") + `
      group by f.user_id) y on y.user_id = p.user_id
  where not exists (select 1 from bdc.users u where u.id = p.user_id and u.created_at >= ` + b.to.String() + `)
)`,
	}
}

// featuresInUse is a statement of one row (n): the number of distinct features the
// beneficiaries of beh used.
func featuresInUse() string {
	return `select coalesce(bit_count(a.mask::bit(64))::int, 0) + (select count(distinct f.feature)::int from fea f
      join beh h on h.user_id = f.user_id
      left join bdc_analytics.feature_bits fb on fb.feature = f.feature where ` + beyondMask("a.mask") + `) as n
  from (select bit_or(mask) as mask from beh) a`
}

// beyondMask is the condition that the feature of fea f, whose bit is fb.bit, is not in mask.
func beyondMask(mask string) string {
	return "fb.bit is null or coalesce(" + mask + ", 0) & (1::bigint << fb.bit) = 0"
}

// inMask is the condition that the feature whose bit is fb.bit is in mask: beyondMask's converse
// for a feature with a bit and a mask that is not null.
func inMask(mask string) string {
	return mask + " & (1::bigint << fb.bit) <> 0"
}

// recency is the SQL of the days (fractional) from an instant expression to To.
func (b *behaviour) recency(at string) string {
	return "(extract(epoch from " + b.to.String() + " - " + at + ")::float8 / 86400)"
}

// rangeDays is the number of calendar days of the range.
func (b *behaviour) rangeDays() int { return b.days.count() }
