package analytics

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// HeatmapQuery is the activity_heatmap: events of the range [From, To) counted by the weekday
// and the hour at which they happened in the query's time zone. Each event is placed by its own
// local time, so the hours stay right across daylight saving changes: on the spring change the
// skipped hour (02:00 in Paris) gets nothing that day, and on the autumn change the repeated hour
// gets the events of both of its passes.
type HeatmapQuery struct {
	Query
	// Event is what is counted; default any activity. Appointments count at their instant as the
	// event kind defines it (booked_at, or scheduled_at once completed).
	Event Event `json:"event,omitzero"`
	// ByActivityType adds a series per activity type to the total (activity events only).
	ByActivityType bool `json:"byActivityType,omitempty"`
}

// Validate checks the query and fills its defaults; errors are *ParamError.
func (q *HeatmapQuery) Validate() error {
	if err := q.Query.Validate(); err != nil {
		return err
	}
	if err := q.Event.validateOr("event", Event{Kind: EventActivity}); err != nil {
		return err
	}
	if q.ByActivityType && q.Event.Kind != EventActivity {
		return paramErr("byActivityType", "only activity events have an activity type, not %q", string(q.Event.Kind))
	}
	return nil
}

// HeatmapResult is the heatmap: the total and, by activity type, one series each.
type HeatmapResult struct {
	// Query after defaults.
	Query HeatmapQuery `json:"query"`
	// Series: the total first (ActivityType ""), then one per activity type with events, most
	// events first, then by name.
	Series []HeatmapSeries `json:"series"`
	// Executed is the statement that computed the heatmap.
	Executed Executed `json:"executed"`
}

// HeatmapSeries is one heatmap: 7 × 24 cells, Monday 00:00 first, weekday-major.
type HeatmapSeries struct {
	// ActivityType is the series' activity type, "" for the total.
	ActivityType string `json:"activityType,omitempty"`
	// Events is the number of events of the series.
	Events int64 `json:"events"`
	// Cells are the 168 cells, every one present (zero when nothing happened then).
	Cells []HeatmapCell `json:"cells"`
}

// HeatmapCell is one hour of one weekday.
type HeatmapCell struct {
	// Weekday is ISO's: 1 is Monday, 7 Sunday.
	Weekday int `json:"weekday"`
	// Hour is the local hour, 0 to 23.
	Hour int `json:"hour"`
	// Events is the number of events in this hour of this weekday over the range.
	Events int64 `json:"events"`
	// Users is the number of distinct users with an event in it.
	Users int64 `json:"users"`
}

// Weekdays names the ISO weekdays, Monday first, for axis labels.
var Weekdays = [7]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

// Heatmap computes the activity heatmap: one grouping of the events of the range by local
// weekday and hour (and activity type), with grouping sets giving the total in the same pass.
func (e *Engine) Heatmap(ctx context.Context, q HeatmapQuery) (*HeatmapResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	cells := map[string][]HeatmapCell{"": emptyHeatmap()}
	totals := map[string]int64{}
	ex, err := e.query(ctx, !e.NoRollup && q.hourlyCapable(), q.build, func(rows pgx.Rows) error {
		var (
			typ          *string
			cell         int
			events, user int64
		)
		if err := rows.Scan(&typ, &cell, &events, &user); err != nil {
			return err
		}
		if cell < 0 || cell >= 7*24 {
			return fmt.Errorf("heatmap cell %d out of range", cell)
		}
		key := ""
		if typ != nil {
			key = *typ
		}
		if cells[key] == nil {
			cells[key] = emptyHeatmap()
		}
		c := &cells[key][cell]
		c.Events, c.Users = events, user
		totals[key] += events
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute the activity heatmap: %w", err)
	}
	res := &HeatmapResult{Query: q, Executed: ex}
	res.Series = append(res.Series, HeatmapSeries{Events: totals[""], Cells: cells[""]})
	delete(totals, "")
	for _, typ := range byTotal(totals) {
		res.Series = append(res.Series, HeatmapSeries{ActivityType: typ, Events: totals[typ], Cells: cells[typ]})
	}
	return res, nil
}

func emptyHeatmap() []HeatmapCell {
	c := make([]HeatmapCell, 7*24)
	for i := range c {
		c[i] = HeatmapCell{Weekday: i/24 + 1, Hour: i % 24}
	}
	return c
}

// build writes the statement; it returns rows (activity type or null for the total, cell,
// events, users) for the cells with events, where cell is (ISO weekday - 1) * 24 + hour.
//
// The events are first grouped by cell and user (one hash aggregate, no sort), then by cell: the
// distinct users of a cell are the groups of the first level, so there is no count(distinct)
// to sort. The population filter applies to those groups rather than to every event, since it
// depends on the user only. The local hour of an event comes from its UTC offset, looked up in
// the range's offset periods (localHourCell) rather than converted row by row.
// hourlyCapable says whether the hourly rollup can answer the query: every activity counted,
// not by type, in a time zone whose offsets over the range are whole hours (a UTC hour is then
// one local hour).
func (q *HeatmapQuery) hourlyCapable() bool {
	if q.Event != (Event{Kind: EventActivity}) || q.ByActivityType {
		return false
	}
	periods := offsetPeriods(q.From, q.To, q.Location())
	if len(periods) > maxOffsetPeriods {
		return false
	}
	for _, p := range periods {
		if p.offset%3600 != 0 {
			return false
		}
	}
	return true
}

// build writes the statement. With covered (the rollups' coverage) and a query the hourly rollup
// can answer, the whole hours of the range before it are read from the hourly rollup and the
// rest of the range from raw rows.
func (q *HeatmapQuery) build(covered *time.Time) Executed {
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, BreakdownNone)
	if covered != nil && q.hourlyCapable() {
		lo, hi := q.From.Truncate(time.Hour), q.To.Truncate(time.Hour)
		if lo.Before(q.From) {
			lo = lo.Add(time.Hour)
		}
		if cut := midnight(*covered, platformLocation); cut.Before(hi) {
			hi = cut
		}
		if lo.Before(hi) {
			return q.buildHourly(a, pop, lo, hi)
		}
	}
	s := sourceOf(a, q.Event.Kind, q.Filters)
	cond := s.cond
	if q.Event.Kind == EventActivity {
		cond = and(cond, activityCond(a, q.Event))
	}
	cell := localHourCell(a, s.ts, q.From, q.To, q.Location())
	from := a.addTyped(q.From, "timestamptz")
	to := a.addTyped(q.To, "timestamptz")
	typ, group := "null::text", "2, 3"
	if q.ByActivityType {
		// The cells of each type and of the total in the same pass: the total's rows are those
		// not grouped by type.
		typ, group = "case when grouping(x.activity_type) = 0 then x.activity_type end", "grouping sets ((2, 3), (x.activity_type, 2, 3))"
	}
	sql := "with " + pop + `,
uc as (
  select ` + typ + ` as typ, ` + cell + ` as cell, ` + s.user + ` as user_id, count(*) as n
  from ` + s.from + `
  where ` + and(s.ts+" >= "+from, s.ts+" < "+to, cond) + `
  group by ` + group + `
)
select typ, cell::int, sum(n)::bigint, count(*)
from uc
where ` + popMember(q.Filters, "user_id") + `
group by typ, cell`
	return Executed{SQL: sql, Args: a.vals}
}

// maxOffsetPeriods bounds the UTC offset periods localHourCell writes out; a range with more
// (decades of daylight saving changes) converts each event's time instead.
const maxOffsetPeriods = 64

// hourCellShift makes the hour number of an instant positive for every year PostgreSQL and
// Validate allow (from year 1, about -6.2e10 seconds) and aligns cell 0 on a Monday 00:00: a whole
// number of weeks, plus the 3 days from Monday 1969-12-29 to the epoch, a Thursday.
const hourCellShift = 110_000*7*86400 + 3*86400

// buildHourly writes the statement that reads the hours [lo, hi) from the hourly rollup and the
// events of the range outside them raw.
func (q *HeatmapQuery) buildHourly(a *sqlArgs, pop string, lo, hi time.Time) Executed {
	loc := q.Location()
	hourCell := localHourCell(a, "h.hour", q.From, q.To, loc)
	rawCell := localHourCell(a, "x.occurred_at", q.From, q.To, loc)
	from, to := a.addTyped(q.From, "timestamptz"), a.addTyped(q.To, "timestamptz")
	loP, hiP := a.addTyped(lo, "timestamptz"), a.addTyped(hi, "timestamptz")
	sql := "with " + pop + `,
uc as (
  select cell, user_id, sum(n) as n from (
    select ` + hourCell + ` as cell, h.user_id, h.events as n
    from bdc_analytics.user_activity_hourly h where h.hour >= ` + loP + ` and h.hour < ` + hiP + `
    union all
    select ` + rawCell + ` as cell, x.user_id, 1 as n
    from bdc.user_activities x
    where (x.occurred_at >= ` + from + ` and x.occurred_at < ` + loP + `) or (x.occurred_at >= ` + hiP + ` and x.occurred_at < ` + to + `)
  ) u
  group by cell, user_id
)
select null::text, cell::int, sum(n)::bigint, count(*)
from uc
where ` + popMember(q.Filters, "user_id") + `
group by cell`
	// Each user has about one hour of the range in a cell (a quarter: 414,000 hours, 366,000
	// pairs of cell and user), so partial aggregates in parallel workers merge almost as many
	// rows as they read: serial, the statement takes two thirds of the time.
	return Executed{SQL: sql, Args: a.vals, Rollup: true, Serial: true}
}

// offsetPeriod is a stretch of time with one UTC offset (in seconds) in a zone.
type offsetPeriod struct {
	end    time.Time // exclusive; zero for the last period
	offset int
}

// offsetPeriods cuts [from, to) at the zone's transitions, stopping after maxOffsetPeriods+1
// periods (more than the caller takes).
func offsetPeriods(from, to time.Time, loc *time.Location) []offsetPeriod {
	var periods []offsetPeriod
	for t := from; t.Before(to) && len(periods) <= maxOffsetPeriods; {
		_, offset := t.In(loc).Zone()
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			periods = append(periods, offsetPeriod{offset: offset})
			break
		}
		periods = append(periods, offsetPeriod{end: end, offset: offset})
		t = end
	}
	return periods
}

// localHourCell is the SQL of the heatmap cell, (ISO weekday - 1) * 24 + hour, of the local time
// in loc of the instant ts, for instants in [from, to). The local time is UTC plus the offset in
// force, which changes only at the zone's transitions: the range is cut into its offset periods
// (each daylight saving change, exactly, whatever the offset: half hours, quarter hours) and the
// offset of an instant is a CASE over the cut points, so no row pays a time zone conversion.
func localHourCell(a *sqlArgs, ts string, from, to time.Time, loc *time.Location) string {
	periods := offsetPeriods(from, to, loc)
	if len(periods) == 0 || len(periods) > maxOffsetPeriods {
		tz := a.addTyped(loc.String(), "text")
		local := "(" + ts + " at time zone " + tz + ")"
		return "((extract(isodow from " + local + ")::int - 1) * 24 + extract(hour from " + local + ")::int)"
	}
	offset := strconv.Itoa(periods[len(periods)-1].offset)
	if len(periods) > 1 {
		var b strings.Builder
		b.WriteString("case")
		for _, p := range periods[:len(periods)-1] {
			b.WriteString(" when " + ts + " < " + a.addTyped(p.end, "timestamptz") + " then " + strconv.Itoa(p.offset))
		}
		b.WriteString(" else " + offset + " end")
		offset = b.String()
	}
	// Whole seconds (floor) are enough for the hour; date_part's float8 epoch is exact to the
	// microsecond in these years, and cheaper than extract's numeric.
	return "(((floor(date_part('epoch', " + ts + "))::bigint + " + offset + " + " + strconv.Itoa(hourCellShift) + ") / 3600) % 168)"
}
