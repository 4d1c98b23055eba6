package analytics

import (
	"strconv"
	"strings"
	"time"
)

// sqlArgs collects the values of a statement and hands out their $n placeholders. Every value a
// caller gives reaches PostgreSQL this way; the SQL text is built only from constants.
type sqlArgs struct {
	vals []any
}

// add binds v and returns its placeholder.
func (a *sqlArgs) add(v any) string {
	a.vals = append(a.vals, v)
	return "$" + strconv.Itoa(len(a.vals))
}

// addTyped binds v and returns its placeholder with a cast, so PostgreSQL infers the type
// whatever context the placeholder appears in.
func (a *sqlArgs) addTyped(v any, typ string) string {
	return a.add(v) + "::" + typ
}

// lazyArg is a value bound only when the statement uses it: PostgreSQL refuses arguments that
// no placeholder refers to.
type lazyArg struct {
	a   *sqlArgs
	v   any
	typ string
	p   string
}

// lazy returns a value to bind, with a cast, the first time its placeholder is asked for.
func (a *sqlArgs) lazy(v any, typ string) *lazyArg { return &lazyArg{a: a, v: v, typ: typ} }

// String binds the value on first use and returns its placeholder.
func (l *lazyArg) String() string {
	if l.p == "" {
		l.p = l.a.addTyped(l.v, l.typ)
	}
	return l.p
}

// and joins conditions with "and", dropping empty ones; no condition gives "true".
func and(conds ...string) string {
	var kept []string
	for _, c := range conds {
		if c != "" {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return "true"
	}
	if len(kept) == 1 {
		return kept[0]
	}
	return "(" + strings.Join(kept, " and ") + ")"
}

// or joins conditions with "or"; no condition gives "false".
func or(conds ...string) string {
	var kept []string
	for _, c := range conds {
		if c != "" {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return "false"
	}
	if len(kept) == 1 {
		return kept[0]
	}
	return "(" + strings.Join(kept, " or ") + ")"
}

// inList is "col = any($n::typ[])" for a non-empty list, "" (no condition) for an empty one.
func inList[T any](a *sqlArgs, col string, vals []T, typ string) string {
	if len(vals) == 0 {
		return ""
	}
	return col + " = any(" + a.addTyped(vals, typ+"[]") + ")"
}

// platformZone is the rollup's zone as a SQL literal: a constant of the schema, not a value.
const platformZone = "'" + DefaultTimeZone + "'"

// ageExpr is a beneficiary's age at registration, computed once per row of pop by a lateral
// subquery: the registration year in the platform time zone minus the birth year. It depends
// only on the beneficiary, never on the query's zone.
const (
	ageExpr    = "ag.age"
	ageLateral = "cross join lateral (select extract(year from b.created_at at time zone " + platformZone + ")::int - b.birth_year as age) ag"
)

// ageBandExpr labels ageExpr with StandardAgeBands.
func ageBandExpr() string {
	var b strings.Builder
	b.WriteString("(case")
	for _, band := range StandardAgeBands[:len(StandardAgeBands)-1] {
		b.WriteString(" when " + ageExpr + " <= " + strconv.Itoa(band.Max) + " then '" + band.String() + "'")
	}
	b.WriteString(" else '" + StandardAgeBands[len(StandardAgeBands)-1].String() + "' end)")
	return b.String()
}

// breakdownExpr is the SQL of a breakdown over bdc.beneficiaries b: the empty text without one.
func breakdownExpr(bd Breakdown) string {
	switch bd {
	case BreakdownAcquisitionChannel:
		return "b.acquisition_channel"
	case BreakdownRegion:
		return "b.region"
	case BreakdownGender:
		return "b.gender"
	case BreakdownAgeBand:
		return ageBandExpr()
	}
	return "''::text"
}

// populationCTE is the beneficiaries a query is about: "pop(user_id, beneficiary_id, bd)", where
// bd is the breakdown value. Filters are bound parameters.
func populationCTE(a *sqlArgs, f Filters, bd Breakdown) string {
	conds := []string{
		inList(a, "b.region", f.Region, "text"),
		inList(a, "b.acquisition_channel", f.AcquisitionChannel, "text"),
		inList(a, "b.gender", f.Gender, "text"),
		inList(a, "b.trainer_id", f.TrainerID, "bigint"),
	}
	if len(f.AgeBand) > 0 {
		lo := make([]int32, len(f.AgeBand))
		hi := make([]int32, len(f.AgeBand))
		for i, s := range f.AgeBand {
			band, _ := ParseAgeBand(s) // validated
			lo[i], hi[i] = int32(band.Min), int32(band.Max)
		}
		conds = append(conds, "exists (select 1 from unnest("+a.addTyped(lo, "int[]")+", "+a.addTyped(hi, "int[]")+
			") as band(lo, hi) where "+ageExpr+" between band.lo and band.hi)")
	}
	if len(f.AppointmentChannel) > 0 {
		conds = append(conds, "exists (select 1 from bdc.appointments ap where ap.beneficiary_id = b.id and "+
			inList(a, "ap.channel", f.AppointmentChannel, "text")+")")
	}
	from := "bdc.beneficiaries b"
	if bd == BreakdownAgeBand || len(f.AgeBand) > 0 {
		from += " " + ageLateral
	}
	return "pop as not materialized (\n  select b.user_id, b.id as beneficiary_id, " + breakdownExpr(bd) + " as bd\n  from " + from + "\n  where " + and(conds...) + "\n)"
}

// popMember is the condition that col, a user id, is one of pop's beneficiaries. Without a
// filter pop is every beneficiary, and the condition is that col is none of the platform's other
// users (trainers, staff: hundreds, against ~100,000 beneficiaries): an anti-join with a hash of
// those few instead of a semi-join probing a hash of the whole population, which cost a third
// of a second per million rows on the benchmark platform. The two agree on every id of
// bdc.users, which the user id of every activity row is (a foreign key) and so of every rollup row.
func popMember(f Filters, col string) string {
	if f.IsZero() {
		return "not exists (select 1 from bdc.users pm_u where pm_u.id = " + col +
			" and not exists (select 1 from bdc.beneficiaries pm_b where pm_b.user_id = pm_u.id))"
	}
	return col + " in (select user_id from pop)"
}

// civil is a calendar date, held as midnight UTC so pgx binds it as a SQL date.
type civil = time.Time

// dateOf is the calendar date of t in loc.
func dateOf(t time.Time, loc *time.Location) civil {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// midnight is the first instant of the date in loc.
func midnight(d civil, loc *time.Location) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}
