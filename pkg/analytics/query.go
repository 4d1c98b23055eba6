// Package analytics computes the user-behaviour analytics of the platform (retention, funnels,
// and the other kinds of DESIGN.md §4) over the canonical schema in PostgreSQL.
//
// Every kind is a query struct with PostHog's parameter names as JSON tags, so the Grafana
// plugin unmarshals panel JSON straight into it, and a result struct that the plugin turns into
// frames and the reporter into tables. A query is validated (Validate fills defaults and returns
// a *ParamError naming the parameter) before it reaches the database; filter values travel as
// bound parameters, never inside the SQL text; the work runs as one SQL statement in a read-only
// transaction with a statement timeout (no per-user round trips, no cross joins over users), and
// the result carries that statement and its arguments for Grafana's query inspector.
//
// The population of every query is the platform's beneficiaries: trainer and admin accounts and
// their activity are not part of user-behaviour analytics.
//
// Activity-based queries read the rollup bdc_analytics.user_activity_daily for the days it covers
// and the raw bdc.user_activities for the rest; RefreshRollups (run by the reporter) maintains it.
// The rollup's day is the calendar day in the platform time zone (Europe/Paris), so only queries
// in that time zone use it: a query in another time zone reads raw data. Results are identical
// either way, and every query works before the first refresh.
//
// The package only reads the bdc schema; RefreshRollups is its only writer, and it writes only
// to bdc_analytics.
package analytics

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris and the zones users pick must resolve without a system zoneinfo.
	"unicode"
	"unicode/utf8"
)

// DefaultTimeZone is the platform's time zone, used when a query names none. The rollup's days
// are calendar days in this zone.
const DefaultTimeZone = "Europe/Paris"

// Limits on query parameters: enough for any dashboard, small enough that a typo cannot ask the
// database for an unbounded amount of work.
const (
	// MaxFilterValues bounds the values of one filter list.
	MaxFilterValues = 1000
	// MaxValueLength bounds one string parameter (a region, an activity type), in bytes.
	MaxValueLength = 200
	// MaxAge is the oldest age an age band may name.
	MaxAge = 150
)

// ErrInvalidQuery is matched (with errors.Is) by every *ParamError: a query the caller must fix.
var ErrInvalidQuery = errors.New("invalid query")

// ParamError reports a parameter out of range: which one (its JSON path, for example
// "filters.ageBand[1]" or "series[2].kind") and why.
type ParamError struct {
	Param  string
	Reason string
}

// Error says which parameter and why.
func (e *ParamError) Error() string {
	return fmt.Sprintf("invalid parameter %s: %s", e.Param, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidQuery) true for every ParamError.
func (e *ParamError) Is(target error) bool { return target == ErrInvalidQuery }

func paramErr(param, format string, args ...any) *ParamError {
	return &ParamError{Param: param, Reason: fmt.Sprintf(format, args...)}
}

// Query is what every kind shares: the time range, the time zone its periods and days are cut
// in, and the filters on the population. Kinds embed it, so its fields appear at the top level
// of their JSON.
type Query struct {
	// From is the inclusive start of the range. Kinds with periods (retention) start at the
	// beginning of the period that contains From.
	From time.Time `json:"from"`
	// To is the exclusive end of the range: events at or after To are not counted.
	To time.Time `json:"to"`
	// TimeZone is an IANA zone name; days, weeks and months are calendar periods in it. Empty
	// means DefaultTimeZone.
	TimeZone string `json:"timezone,omitempty"`
	// Filters restrict the population of beneficiaries.
	Filters Filters `json:"filters,omitzero"`

	loc *time.Location
}

// Filters restrict the population to beneficiaries matching every non-empty list; a list matches
// when any of its values does. Values are compared exactly (no case folding).
type Filters struct {
	// Region of the beneficiary (bdc.beneficiaries.region).
	Region []string `json:"region,omitempty"`
	// AcquisitionChannel of the beneficiary.
	AcquisitionChannel []string `json:"acquisitionChannel,omitempty"`
	// Gender of the beneficiary.
	Gender []string `json:"gender,omitempty"`
	// AgeBand is an age range such as "25-34" or "65+": the beneficiary's age at registration,
	// computed as the registration year in the platform time zone minus the birth year.
	AgeBand []string `json:"ageBand,omitempty"`
	// TrainerID is the beneficiary's trainer (a user id).
	TrainerID []int64 `json:"trainerId,omitempty"`
	// AppointmentChannel keeps beneficiaries with at least one appointment on one of these
	// channels (in_person, video, phone), and counts only those appointments in appointment
	// events.
	AppointmentChannel []string `json:"appointmentChannel,omitempty"`
}

// IsZero reports whether no filter is set.
func (f Filters) IsZero() bool {
	return len(f.Region) == 0 && len(f.AcquisitionChannel) == 0 && len(f.Gender) == 0 &&
		len(f.AgeBand) == 0 && len(f.TrainerID) == 0 && len(f.AppointmentChannel) == 0
}

// Validate checks the range, the time zone and the filters, and fills defaults. From and To are
// truncated to the microsecond, PostgreSQL's precision.
func (q *Query) Validate() error {
	if q.From.IsZero() {
		return paramErr("from", "is required")
	}
	if q.To.IsZero() {
		return paramErr("to", "is required")
	}
	q.From = q.From.Truncate(time.Microsecond)
	q.To = q.To.Truncate(time.Microsecond)
	if !q.From.Before(q.To) {
		return paramErr("to", "must be after from (%s), got %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	// PostgreSQL's timestamptz covers 4713 BC to 294276 AD; a range outside years 1..9999 is a
	// mistake, and keeping to it keeps every date computation exact.
	if y := q.From.UTC().Year(); y < 1 || y > 9999 {
		return paramErr("from", "year %d is out of range", y)
	}
	if y := q.To.UTC().Year(); y < 1 || y > 9999 {
		return paramErr("to", "year %d is out of range", y)
	}
	if q.TimeZone == "" {
		q.TimeZone = DefaultTimeZone
	}
	loc, err := loadZone(q.TimeZone)
	if err != nil {
		return err
	}
	q.loc = loc
	return q.Filters.validate()
}

// loadZone resolves an IANA zone name. "Local" and file paths are refused: the zone must mean the
// same to Go and to PostgreSQL.
func loadZone(name string) (*time.Location, error) {
	if len(name) > 64 || name == "Local" || strings.ContainsAny(name, " \\") || strings.HasPrefix(name, "/") ||
		strings.Contains(name, "..") || !printable(name) {
		return nil, paramErr("timezone", "%q is not an IANA time zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, paramErr("timezone", "%q is not an IANA time zone name", name)
	}
	return loc, nil
}

// Location is the query's time zone; call it after Validate.
func (q *Query) Location() *time.Location {
	if q.loc == nil {
		loc, err := loadZone(q.TimeZone)
		if err != nil || q.TimeZone == "" {
			loc, _ = time.LoadLocation(DefaultTimeZone)
		}
		q.loc = loc
	}
	return q.loc
}

func (f *Filters) validate() error {
	lists := []struct {
		name string
		vals []string
	}{
		{"filters.region", f.Region},
		{"filters.acquisitionChannel", f.AcquisitionChannel},
		{"filters.gender", f.Gender},
		{"filters.appointmentChannel", f.AppointmentChannel},
	}
	for _, l := range lists {
		if len(l.vals) > MaxFilterValues {
			return paramErr(l.name, "has %d values, at most %d", len(l.vals), MaxFilterValues)
		}
		for i, v := range l.vals {
			if err := checkValue(fmt.Sprintf("%s[%d]", l.name, i), v); err != nil {
				return err
			}
		}
	}
	if len(f.AgeBand) > MaxFilterValues {
		return paramErr("filters.ageBand", "has %d values, at most %d", len(f.AgeBand), MaxFilterValues)
	}
	for i, b := range f.AgeBand {
		if _, err := ParseAgeBand(b); err != nil {
			return &ParamError{Param: fmt.Sprintf("filters.ageBand[%d]", i), Reason: err.Error()}
		}
	}
	if len(f.TrainerID) > MaxFilterValues {
		return paramErr("filters.trainerId", "has %d values, at most %d", len(f.TrainerID), MaxFilterValues)
	}
	for i, id := range f.TrainerID {
		if id <= 0 {
			return paramErr(fmt.Sprintf("filters.trainerId[%d]", i), "must be a positive user id, got %d", id)
		}
	}
	return nil
}

// checkValue accepts a string parameter that PostgreSQL can store and a person can read.
func checkValue(param, v string) error {
	switch {
	case v == "":
		return paramErr(param, "must not be empty")
	case len(v) > MaxValueLength:
		return paramErr(param, "is %d bytes long, at most %d", len(v), MaxValueLength)
	case !utf8.ValidString(v):
		return paramErr(param, "is not valid UTF-8")
	case !printable(v):
		return paramErr(param, "%q holds control characters", v)
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// AgeBand is an inclusive range of ages; Max is MaxAge for an open band such as "65+".
type AgeBand struct {
	Min, Max int
}

// String renders the band as it is parsed: "25-34" or "65+".
func (b AgeBand) String() string {
	if b.Max >= MaxAge {
		return strconv.Itoa(b.Min) + "+"
	}
	return strconv.Itoa(b.Min) + "-" + strconv.Itoa(b.Max)
}

// ParseAgeBand reads "25-34" (inclusive) or "65+".
func ParseAgeBand(s string) (AgeBand, error) {
	num := func(t string) (int, bool) {
		if t == "" || len(t) > 3 {
			return 0, false
		}
		n := 0
		for _, c := range t {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, n <= MaxAge
	}
	if lo, ok := strings.CutSuffix(s, "+"); ok {
		if n, ok := num(lo); ok {
			return AgeBand{Min: n, Max: MaxAge}, nil
		}
	} else if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, okA := num(lo)
		b, okB := num(hi)
		if okA && okB {
			if a > b {
				return AgeBand{}, fmt.Errorf("age band %q ends before it starts", s)
			}
			return AgeBand{Min: a, Max: b}, nil
		}
	}
	return AgeBand{}, fmt.Errorf("%q is not an age band like \"25-34\" or \"65+\" (ages 0 to %d)", s, MaxAge)
}

// StandardAgeBands are the bands of the age_band breakdown, in order.
var StandardAgeBands = []AgeBand{{0, 17}, {18, 24}, {25, 34}, {35, 44}, {45, 54}, {55, 64}, {65, MaxAge}}

// Breakdown splits a result by an attribute of the beneficiary.
type Breakdown string

// Breakdowns. The zero value means no breakdown.
const (
	BreakdownNone               Breakdown = ""
	BreakdownAcquisitionChannel Breakdown = "acquisition_channel"
	BreakdownRegion             Breakdown = "region"
	BreakdownGender             Breakdown = "gender"
	BreakdownAgeBand            Breakdown = "age_band"
)

var breakdowns = []Breakdown{BreakdownAcquisitionChannel, BreakdownRegion, BreakdownGender, BreakdownAgeBand}

func (b Breakdown) validate() error {
	if b == BreakdownNone {
		return nil
	}
	for _, k := range breakdowns {
		if b == k {
			return nil
		}
	}
	return paramErr("breakdown", "unknown breakdown %q; one of %s", string(b), joinQuoted(breakdowns))
}

// Executed is the statement a query ran, for Grafana's query inspector and for logs.
type Executed struct {
	// SQL is the statement with $n placeholders.
	SQL string `json:"sql"`
	// Args are the values bound to the placeholders, in order.
	Args []any `json:"args"`
	// Rollup is true when the statement reads a rollup (bdc_analytics.user_activity_daily, or
	// user_activity_hourly for the heatmap, user_session_daily for paths, user_activity_instants
	// for ordered funnels), for the days it covers; it reads raw rows for the days after. It is
	// false before the first refresh, in a time zone other than the platform's for the kinds
	// that count days (for the heatmap: one not a whole number of hours from UTC), and for events
	// the rollup cannot answer (appointments, evaluations, signups, an activity type and a
	// feature together; for the heatmap any event but every activity, or counts by type; for
	// funnels, strict and unordered ones, and ordered ones whose first step happens once per
	// user).
	Rollup bool `json:"rollup"`
	// Serial is true when the statement runs without parallel workers: when its aggregate
	// has about as many groups as rows, merging the workers' partial aggregates costs more
	// than they save.
	Serial bool `json:"serial,omitempty"`
	// NoIndexScan is true when the statement reads ranges that hold a large part of their tables
	// (a year of appointments): plain index scans, which visit the heap once per row, are then
	// off, and the ranges are read by bitmap or sequential scans. The planner prefers the plain
	// scan of a well-correlated index that takes twice the time of a sequential scan there.
	NoIndexScan bool `json:"noIndexScan,omitempty"`
	// ParallelSorts is true when the statement groups large inputs by user in sorted order (the
	// step arrays of an ordered funnel): parallel_tuple_cost is then 0.01 instead of 0.1, so
	// that the workers sort the rows they read and the leader merges them (Gather Merge); at
	// the default the planner sorts every row in the leader.
	ParallelSorts bool `json:"parallelSorts,omitempty"`
}

// settings are the planner settings (name, value) the statement runs with, local to its
// transaction.
func (e Executed) settings() [][2]string {
	var out [][2]string
	if e.Serial {
		out = append(out, [2]string{"max_parallel_workers_per_gather", "0"})
	}
	if e.NoIndexScan {
		out = append(out, [2]string{"enable_indexscan", "off"})
	}
	if e.ParallelSorts {
		out = append(out, [2]string{"parallel_tuple_cost", "0.01"})
	}
	return out
}

// String renders the statement with its arguments listed after it, as the query inspector
// shows it.
func (e Executed) String() string {
	var b strings.Builder
	for _, set := range e.settings() {
		b.WriteString("set local " + set[0] + " = " + set[1] + ";\n")
	}
	b.WriteString(e.SQL)
	for i, a := range e.Args {
		fmt.Fprintf(&b, "\n-- $%d = %s", i+1, formatArg(a))
	}
	return b.String()
}

func formatArg(a any) string {
	switch v := a.(type) {
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case time.Duration:
		return v.String()
	default:
		j, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(j)
	}
}

// decodeNoting decodes the JSON object data into a T, a query's plain type (without its
// UnmarshalJSON method), and reports for each key whether data gives it a non-null value (keys
// match as encoding/json matches fields), so that an explicit 0 can be told from an absent
// parameter.
func decodeNoting[T any](data []byte, keys ...string) (T, []bool, error) {
	var v T
	set := make([]bool, len(keys))
	if err := json.Unmarshal(data, &v); err != nil {
		return v, set, err
	}
	// data decoded into a struct, so it is an object (or null): this cannot fail.
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(data, &raw)
	for k, val := range raw {
		for i, key := range keys {
			set[i] = set[i] || (strings.EqualFold(k, key) && string(val) != "null")
		}
	}
	return v, set, nil
}

// byTotal orders the keys of totals (breakdown values, activity types) as results list them:
// largest total first, then by name.
func byTotal(totals map[string]int64) []string {
	keys := make([]string, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if totals[a] != totals[b] {
			return cmp.Compare(totals[b], totals[a])
		}
		return strings.Compare(a, b)
	})
	return keys
}

func joinQuoted[T ~string](vals []T) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(string(v))
	}
	return strings.Join(q, ", ")
}
