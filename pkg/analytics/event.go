package analytics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// EventKind names something a beneficiary does, read from one canonical table.
type EventKind string

// Event kinds and the instant each happens at.
const (
	// EventSignup is the account's creation (bdc.users.created_at).
	EventSignup EventKind = "signup"
	// EventActivity is a row of bdc.user_activities (occurred_at), optionally of one
	// activity_type and/or one feature.
	EventActivity EventKind = "activity"
	// EventAppointmentBooked is an appointment of any status, at booked_at.
	EventAppointmentBooked EventKind = "appointment_booked"
	// EventAppointmentCompleted is an appointment with status completed, at scheduled_at.
	EventAppointmentCompleted EventKind = "appointment_completed"
	// EventEvaluationStarted is an evaluation, at started_at.
	EventEvaluationStarted EventKind = "evaluation_started"
	// EventEvaluationCompleted is an evaluation with a completed_at, at completed_at.
	EventEvaluationCompleted EventKind = "evaluation_completed"
	// EventProgrammeCompleted is the end of a completed programme (bdc.beneficiaries.completed_at).
	EventProgrammeCompleted EventKind = "programme_completed"
)

// EventKinds lists every kind, for editors and error messages.
var EventKinds = []EventKind{
	EventSignup, EventActivity, EventAppointmentBooked, EventAppointmentCompleted,
	EventEvaluationStarted, EventEvaluationCompleted, EventProgrammeCompleted,
}

// Event selects events: a kind and, for activity, an optional activity type and feature (both
// must match when both are set). In JSON it is an object
// {"kind": "activity", "activityType": "login"} or the short string form read by ParseEvent.
type Event struct {
	Kind         EventKind `json:"kind"`
	ActivityType string    `json:"activityType,omitempty"`
	Feature      string    `json:"feature,omitempty"`
}

// ParseEvent reads the short form of an event, handy in template variables: a kind
// ("signup", "appointment_completed"), "activity" for any activity, "activity:TYPE" for an
// activity type, "feature:NAME" for a feature, or "activity:TYPE/feature:NAME" for both.
func ParseEvent(s string) (Event, error) {
	var e Event
	head, rest, slash := strings.Cut(s, "/")
	kind, arg, hasArg := strings.Cut(head, ":")
	if hasArg && arg == "" {
		return Event{}, fmt.Errorf("%q: %q needs a name after the colon", s, kind)
	}
	switch {
	case kind == "feature" && hasArg && !slash:
		e = Event{Kind: EventActivity, Feature: arg}
	case kind == string(EventActivity) && hasArg:
		e = Event{Kind: EventActivity, ActivityType: arg}
		if slash {
			f, ok := strings.CutPrefix(rest, "feature:")
			if !ok || f == "" {
				return Event{}, fmt.Errorf("%q: after \"/\" expected \"feature:NAME\"", s)
			}
			e.Feature = f
		}
	case !hasArg && !slash:
		e = Event{Kind: EventKind(kind)}
	default:
		return Event{}, fmt.Errorf("%q is not an event (%s, \"activity:TYPE\", \"feature:NAME\")", s, joinQuoted(EventKinds))
	}
	if err := e.validate(""); err != nil {
		var pe *ParamError
		if errors.As(err, &pe) {
			return Event{}, fmt.Errorf("%q: %s", s, pe.Reason)
		}
		return Event{}, err
	}
	return e, nil
}

// String is the short form ParseEvent reads.
func (e Event) String() string {
	switch {
	case e.Kind != EventActivity:
		return string(e.Kind)
	case e.ActivityType != "" && e.Feature != "":
		return "activity:" + e.ActivityType + "/feature:" + e.Feature
	case e.ActivityType != "":
		return "activity:" + e.ActivityType
	case e.Feature != "":
		return "feature:" + e.Feature
	}
	return string(EventActivity)
}

// UnmarshalJSON accepts the object form or the short string form.
func (e *Event) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		ev, err := ParseEvent(s)
		if err != nil {
			return err
		}
		*e = ev
		return nil
	}
	type plain Event // without this method
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*e = Event(p)
	return nil
}

// validateOr fills an empty event with def, then validates it; param is its JSON path.
func (e *Event) validateOr(param string, def Event) error {
	if *e == (Event{}) {
		*e = def
	}
	return e.validate(param)
}

// validate checks the event; param is its JSON path, used in the error.
func (e Event) validate(param string) error {
	at := func(field string) string {
		if param == "" {
			return field
		}
		return param + "." + field
	}
	known := false
	for _, k := range EventKinds {
		known = known || e.Kind == k
	}
	if !known {
		if e.Kind == "" {
			return paramErr(at("kind"), "is required; one of %s", joinQuoted(EventKinds))
		}
		return paramErr(at("kind"), "unknown event %q; one of %s", string(e.Kind), joinQuoted(EventKinds))
	}
	if e.Kind != EventActivity {
		if e.ActivityType != "" || e.Feature != "" {
			return paramErr(at("kind"), "only activity events take an activityType or a feature, not %q", string(e.Kind))
		}
		return nil
	}
	if e.ActivityType != "" {
		if err := checkValue(at("activityType"), e.ActivityType); err != nil {
			return err
		}
	}
	if e.Feature != "" {
		if err := checkValue(at("feature"), e.Feature); err != nil {
			return err
		}
	}
	return nil
}

// source is where the rows of an event kind come from: a table (joined to the beneficiary for
// the tables keyed on it), the user and instant expressions, and the rows that count.
type source struct {
	from string // FROM clause, aliases x (the table) and b (bdc.beneficiaries) where needed
	user string
	ts   string
	cond string
	// own is the table alone (alias x) for the kinds whose rows name a beneficiary
	// (x.beneficiary_id): aggregates per beneficiary need no join; "" for the others.
	own string
}

// sourceOf describes the rows of kind. Appointment events honour the appointment channel filter.
func sourceOf(a *sqlArgs, kind EventKind, f Filters) source {
	switch kind {
	case EventSignup:
		return source{from: "bdc.users x", user: "x.id", ts: "x.created_at"}
	case EventActivity:
		return source{from: "bdc.user_activities x", user: "x.user_id", ts: "x.occurred_at"}
	case EventAppointmentBooked, EventAppointmentCompleted:
		s := source{from: "bdc.appointments x join bdc.beneficiaries b on b.id = x.beneficiary_id", user: "b.user_id", ts: "x.booked_at", own: "bdc.appointments x"}
		var conds []string
		if kind == EventAppointmentCompleted {
			s.ts = "x.scheduled_at"
			conds = append(conds, "x.status = 'completed'")
		}
		conds = append(conds, inList(a, "x.channel", f.AppointmentChannel, "text"))
		s.cond = and(conds...)
		return s
	case EventEvaluationStarted:
		return source{from: "bdc.evaluations x join bdc.beneficiaries b on b.id = x.beneficiary_id", user: "b.user_id", ts: "x.started_at", own: "bdc.evaluations x"}
	case EventEvaluationCompleted:
		return source{from: "bdc.evaluations x join bdc.beneficiaries b on b.id = x.beneficiary_id", user: "b.user_id", ts: "x.completed_at", own: "bdc.evaluations x"}
	case EventProgrammeCompleted:
		return source{from: "bdc.beneficiaries x", user: "x.user_id", ts: "x.completed_at"}
	}
	panic("analytics: unvalidated event kind " + string(kind))
}

// activityCond is the condition an activity row (alias x) must meet for e; "" for any activity.
func activityCond(a *sqlArgs, e Event) string {
	var conds []string
	if e.ActivityType != "" {
		conds = append(conds, "x.activity_type = "+a.addTyped(e.ActivityType, "text"))
	}
	if e.Feature != "" {
		conds = append(conds, "x.feature = "+a.addTyped(e.Feature, "text"))
	}
	if len(conds) == 0 {
		return ""
	}
	return and(conds...)
}

// rollupCapable reports whether the daily rollup can answer "did the user do e on day d": it
// keeps per-day counts by activity type and by feature, not by both at once.
func rollupCapable(e Event) bool {
	return e.Kind == EventActivity && (e.ActivityType == "" || e.Feature == "")
}

// rollupCond is the condition a rollup row (alias r) must meet for a rollupCapable e.
func rollupCond(a *sqlArgs, e Event) string {
	switch {
	case e.ActivityType != "":
		return "r.type_counts ? " + a.addTyped(e.ActivityType, "text")
	case e.Feature != "":
		return "r.feature_counts ? " + a.addTyped(e.Feature, "text")
	}
	return ""
}
