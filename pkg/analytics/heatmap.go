package analytics

import (
	"context"
	"fmt"
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
	ex, err := e.query(ctx, false, func(*time.Time) Executed { return q.build() }, func(rows pgx.Rows) error {
		var (
			typ          *string
			wd, hour     int
			events, user int64
		)
		if err := rows.Scan(&typ, &wd, &hour, &events, &user); err != nil {
			return err
		}
		key := ""
		if typ != nil {
			key = *typ
		}
		if cells[key] == nil {
			cells[key] = emptyHeatmap()
		}
		c := &cells[key][(wd-1)*24+hour]
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

// build writes the statement; it returns rows (activity type or null for the total, ISO weekday,
// hour, events, users) for the cells with events.
func (q *HeatmapQuery) build() Executed {
	a := &sqlArgs{}
	pop := populationCTE(a, q.Filters, BreakdownNone)
	s := sourceOf(a, q.Event.Kind, q.Filters)
	cond := s.cond
	typ := "null::text"
	if q.Event.Kind == EventActivity {
		cond = and(cond, activityCond(a, q.Event))
		typ = "x.activity_type"
	}
	tz := a.addTyped(q.TimeZone, "text")
	ev := "ev as (\n  select " + s.user + " as user_id, " + typ + " as typ, (" + s.ts + " at time zone " + tz + ") as local\n  from " + s.from +
		"\n  where " + and(s.ts+" >= "+a.addTyped(q.From, "timestamptz"), s.ts+" < "+a.addTyped(q.To, "timestamptz"), cond) +
		"\n    and " + s.user + " in (select user_id from pop)\n)"
	sel, group := "null::text", "wd, hour"
	if q.ByActivityType {
		// One pass gives the cells per type and the total.
		sel, group = "case when grouping(typ) = 0 then typ end", "wd, hour, grouping sets ((), (typ))"
	}
	sql := "with " + pop + ",\n" + ev + "\nselect " + sel + `, wd, hour, count(*), count(distinct user_id)
from (select user_id, typ, extract(isodow from local)::int as wd, extract(hour from local)::int as hour from ev) h
group by ` + group
	return Executed{SQL: sql, Args: a.vals}
}
