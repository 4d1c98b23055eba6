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
}

func newBehaviour(a *sqlArgs, q *Query, covered *time.Time) *behaviour {
	days := newCalendar(q, PeriodDay)
	reader := newDayReader(a, q, covered)
	return &behaviour{a: a, reader: reader, days: days, lo: days.startTime(0), to: reader.to}
}

// ctes returns the common table expressions "act(user_id, day, n, last_at)" (one row per user and
// day with activity), "fea(user_id, feature)" (the features each user used) and
// "beh(user_id, bd, days, events, last_at, features)", one row per scored beneficiary; pop must
// be defined before them.
func (b *behaviour) ctes() []string {
	return []string{
		"act as (\n  select x.user_id, x.day, x.n, x.last_at from (" + b.reader.activity(b.lo, b.days.start(0)) +
			") x\n  where x.user_id in (select user_id from pop)\n)",
		"fea as (\n  select distinct x.user_id, x.feature from (" + b.reader.features(b.lo, b.days.start(0)) +
			") x\n  where x.user_id in (select user_id from pop)\n)",
		`beh as (
  select p.user_id, p.bd, coalesce(x.days, 0) as days, coalesce(x.events, 0) as events, x.last_at, coalesce(y.features, 0) as features
  from pop p
  join bdc.users u on u.id = p.user_id
  left join (select user_id, count(*)::int as days, sum(n)::bigint as events, max(last_at) as last_at from act group by user_id) x
    on x.user_id = p.user_id
  left join (select user_id, count(*)::int as features from fea group by user_id) y on y.user_id = p.user_id
  where u.created_at < ` + b.to.String() + `
)`,
	}
}

// recency is the SQL of the days (fractional) from an instant expression to To.
func (b *behaviour) recency(at string) string {
	return "(extract(epoch from " + b.to.String() + " - " + at + ")::float8 / 86400)"
}

// rangeDays is the number of calendar days of the range.
func (b *behaviour) rangeDays() int { return b.days.count() }
