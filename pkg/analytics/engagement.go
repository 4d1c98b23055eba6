package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The engagement score of a beneficiary over a range, from 0 to 100, is
//
//	score = 100 × (0.35·R + 0.40·F + 0.25·D)
//
// with three components in [0, 1], computed from the beneficiary's activity in the range (see
// behaviour for what counts):
//
//   - recency R = 0.5^(a / 14), where a is the time in days from the last activity to To: 1 for
//     activity just before To, halved every 14 days, 0 without activity in the range;
//   - frequency F = ln(1 + d) / ln(1 + N), where d is the number of days with activity and N the
//     number of calendar days of the range: 0 for none, 1 for every day, and logarithmic in
//     between so that coming back on a few more days matters most for the least active;
//   - depth D = f / Fall, where f is the number of distinct features the beneficiary used and
//     Fall the number of distinct features used by the scored beneficiaries in the range (0
//     when nobody used one): the share of the platform in use that the beneficiary explores.
//
// Recency and frequency are absolute (no rank or percentile), and depth is relative only to the
// features in use, so scores over ranges of the same length compare over time.
const (
	EngagementRecencyWeight   = 0.35
	EngagementFrequencyWeight = 0.40
	EngagementDepthWeight     = 0.25
	// EngagementHalfLifeDays is the half-life of the recency component.
	EngagementHalfLifeDays = 14
	// EngagementBuckets is the number of histogram buckets, each EngagementBucketWidth wide; the
	// last one includes 100.
	EngagementBuckets     = 10
	EngagementBucketWidth = 100 / EngagementBuckets
)

// Engagement limits and defaults.
const (
	DefaultEngagementLimit = 10
	MaxEngagementLimit     = 100
)

// EngagementQuery scores every beneficiary of the population and gives the distribution of the
// scores and the most and least engaged beneficiaries (by user id only: no email or name ever
// leaves the database).
type EngagementQuery struct {
	Query
	// Limit is the length of the top and bottom lists: 0 to 100, default 10 (0 leaves them out).
	Limit int `json:"limit"`
	// Breakdown splits the distribution by an attribute of the beneficiary.
	Breakdown Breakdown `json:"breakdown,omitempty"`
	// IncludeScores lists every beneficiary's score (by user id) in the result, for exports.
	IncludeScores bool `json:"includeScores,omitempty"`

	limitSet bool // limit was present in the JSON, so 0 means no lists, not the default
}

// UnmarshalJSON reads the query and notes whether limit was given, so an explicit 0 is kept.
func (q *EngagementQuery) UnmarshalJSON(data []byte) error {
	type plain EngagementQuery // without this method
	p, set, err := decodeNoting[plain](data, "limit")
	if err != nil {
		return err
	}
	*q = EngagementQuery(p)
	q.limitSet = set[0]
	return nil
}

// Validate checks the query and fills its defaults; errors are *ParamError.
func (q *EngagementQuery) Validate() error {
	if err := q.Query.Validate(); err != nil {
		return err
	}
	if q.Limit == 0 && !q.limitSet {
		q.Limit = DefaultEngagementLimit
	}
	q.limitSet = true
	if q.Limit < 0 || q.Limit > MaxEngagementLimit {
		return paramErr("limit", "must be between 0 and %d, got %d", MaxEngagementLimit, q.Limit)
	}
	if err := q.Breakdown.validate(); err != nil {
		return err
	}
	return newCalendar(&q.Query, PeriodDay).checkCount()
}

// EngagementResult is the distribution of the scores and the extremes.
type EngagementResult struct {
	// Query after defaults.
	Query EngagementQuery `json:"query"`
	// FeaturesInUse is Fall, the denominator of the depth component.
	FeaturesInUse int `json:"featuresInUse"`
	// RangeDays is N, the number of calendar days of the range.
	RangeDays int `json:"rangeDays"`
	// Series are the distributions by breakdown value (most beneficiaries first, then by name);
	// one series with Breakdown "" without breakdown.
	Series []EngagementSeries `json:"series"`
	// Top are the Limit highest scores, highest first; Bottom the Limit lowest, lowest first.
	// Ties go to the lower user id.
	Top    []EngagementScore `json:"top"`
	Bottom []EngagementScore `json:"bottom"`
	// Scores are every beneficiary's, by user id, when asked for.
	Scores []EngagementScore `json:"scores,omitempty"`
	// Executed is the statement that computed the scores.
	Executed Executed `json:"executed"`
}

// EngagementSeries is the distribution of one breakdown value.
type EngagementSeries struct {
	// Breakdown is the breakdown value, "" without breakdown.
	Breakdown string `json:"breakdown,omitempty"`
	// Users is the number of beneficiaries scored.
	Users int64 `json:"users"`
	// Mean is the mean score (0 without beneficiaries).
	Mean float64 `json:"mean"`
	// Buckets is the histogram, every bucket present.
	Buckets []EngagementBucket `json:"buckets"`
}

// EngagementBucket is one bar of the histogram: the scores in [From, To) (the last includes 100).
type EngagementBucket struct {
	From  float64 `json:"from"`
	To    float64 `json:"to"`
	Users int64   `json:"users"`
}

// EngagementScore is one beneficiary's score and what it is made of.
type EngagementScore struct {
	UserID    int64   `json:"userId"`
	Score     float64 `json:"score"`
	Recency   float64 `json:"recency"`
	Frequency float64 `json:"frequency"`
	Depth     float64 `json:"depth"`
	// ActiveDays, Events and Features are the usage figures behind the components.
	ActiveDays int   `json:"activeDays"`
	Events     int64 `json:"events"`
	Features   int   `json:"features"`
	// LastActivity is the last activity in the range; nil without any.
	LastActivity *time.Time `json:"lastActivity"`
}

// Engagement scores the beneficiaries.
//
// The statement aggregates each beneficiary's activity days and features once (from the daily
// rollup where it covers), computes the score per beneficiary, and returns the histogram per
// breakdown value and the two ends of the ranking from one sort each.
func (e *Engine) Engagement(ctx context.Context, q EngagementQuery) (*EngagementResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	type hist struct {
		users   int64
		sum     float64
		buckets [EngagementBuckets]int64
	}
	series := map[string]*hist{}
	type ranked struct {
		rank  int
		score EngagementScore
	}
	var top, bottom []ranked
	res := &EngagementResult{Query: q, RangeDays: newCalendar(&q.Query, PeriodDay).count(), Top: []EngagementScore{}, Bottom: []EngagementScore{}}
	ex, err := e.query(ctx, e.useRollup(q.Location()), q.build, func(rows pgx.Rows) error {
		var (
			kind, bd string
			k        int
			n        int64
			sum      float64
			s        EngagementScore
		)
		if err := rows.Scan(&kind, &bd, &k, &n, &sum, &res.FeaturesInUse, &s.UserID, &s.Score, &s.Recency, &s.Frequency, &s.Depth,
			&s.ActiveDays, &s.Events, &s.Features, &s.LastActivity); err != nil {
			return err
		}
		switch kind {
		case "h":
			if k < 0 || k >= EngagementBuckets {
				return fmt.Errorf("bucket %d out of range", k)
			}
			h := series[bd]
			if h == nil {
				h = &hist{}
				series[bd] = h
			}
			h.users += n
			h.sum += sum
			h.buckets[k] = n
		case "t":
			top = append(top, ranked{k, s})
		case "b":
			bottom = append(bottom, ranked{k, s})
		case "s":
			res.Scores = append(res.Scores, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute engagement: %w", err)
	}
	res.Executed = ex
	slices.SortFunc(res.Scores, func(a, b EngagementScore) int { return cmp.Compare(a.UserID, b.UserID) })
	for _, list := range []struct {
		from []ranked
		to   *[]EngagementScore
	}{{top, &res.Top}, {bottom, &res.Bottom}} {
		slices.SortFunc(list.from, func(a, b ranked) int { return cmp.Compare(a.rank, b.rank) })
		for _, r := range list.from {
			*list.to = append(*list.to, r.score)
		}
	}
	totals := map[string]int64{}
	for bd, h := range series {
		totals[bd] = h.users
	}
	if q.Breakdown == BreakdownNone {
		totals[""] += 0
	}
	for _, bd := range byTotal(totals) {
		h := series[bd]
		if h == nil {
			h = &hist{}
		}
		s := EngagementSeries{Breakdown: bd, Users: h.users}
		if h.users > 0 {
			s.Mean = h.sum / float64(h.users)
		}
		for k, n := range h.buckets {
			s.Buckets = append(s.Buckets, EngagementBucket{From: float64(k * EngagementBucketWidth), To: float64((k + 1) * EngagementBucketWidth), Users: n})
		}
		res.Series = append(res.Series, s)
	}
	return res, nil
}

// build writes the statement, reading the rollup up to covered (nil: raw rows only). It returns
// rows of 15 columns (kind, breakdown, k, users, sum of scores, Fall, then a beneficiary's user id,
// score, R, F, D, days, events, features and last activity): kind 'h' per histogram bucket k of a
// breakdown value (no beneficiary), 't' and 'b' per beneficiary of rank k in the top and bottom
// lists, and 's' per beneficiary when scores are asked for.
func (q *EngagementQuery) build(covered *time.Time) Executed {
	a := &sqlArgs{}
	ctes := []string{populationCTE(a, q.Filters, q.Breakdown)}
	b := newBehaviour(a, &q.Query, covered)
	ctes = append(ctes, b.ctes()...)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	ctes = append(ctes, "nf as materialized (\n  "+featuresInUse()+"\n)", `sc as (
  select b.user_id, b.bd, b.days, b.events, b.features, b.last_at, nf.n as nf, c.r, c.f, c.d,
    100 * (`+f(EngagementRecencyWeight)+` * c.r + `+f(EngagementFrequencyWeight)+` * c.f + `+f(EngagementDepthWeight)+` * c.d) as score
  from beh b
  cross join nf
  cross join lateral (select
    coalesce(power(0.5, `+b.recency("b.last_at")+` / `+strconv.Itoa(EngagementHalfLifeDays)+`), 0) as r,
    ln(1 + b.days::float8) / ln(1 + `+a.addTyped(b.rangeDays(), "float8")+`) as f,
    case when nf.n = 0 then 0 else b.features::float8 / nf.n end as d) c
)`)
	cols := "user_id, score, r, f, d, days, events, features, last_at"
	sql := "with " + strings.Join(ctes, ",\n") + `
select 'h', bd, least(floor(score / ` + strconv.Itoa(EngagementBucketWidth) + `)::int, ` + strconv.Itoa(EngagementBuckets-1) + `), count(*), sum(score), min(nf),
  0::bigint, 0::float8, 0::float8, 0::float8, 0::float8, 0, 0::bigint, 0, null::timestamptz
from sc group by 2, 3`
	if q.IncludeScores {
		sql += "\nunion all\nselect 's', '', 0, 0, 0, nf, " + cols + " from sc"
	}
	if q.Limit > 0 {
		// The top and the bottom by a bounded sort (the limit keeps a heap of Limit rows) rather
		// than numbering every score: ranks are numbered over the rows kept only.
		lim := a.addTyped(q.Limit, "int")
		for _, end := range []struct{ kind, order string }{{"t", "score desc, user_id"}, {"b", "score, user_id"}} {
			sql += `
union all
select '` + end.kind + `', '', (row_number() over (order by ` + end.order + `))::int, 0, 0, nf, ` + cols + `
from (select * from sc order by ` + end.order + ` limit ` + lim + `) x`
		}
	}
	return Executed{SQL: sql, Args: a.vals, Rollup: b.reader.used}
}
