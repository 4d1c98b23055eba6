package predict

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ActiveWindow is how recently a beneficiary must have been active to be in the churn and
// engagement populations: a beneficiary last seen longer ago has already left.
const ActiveWindow = 90 * 24 * time.Hour

// OutcomeWindow is the period after a cutoff that churn and engagement labels look at.
const OutcomeWindow = 30 * 24 * time.Hour

// beneficiaryFeatures are a beneficiary's features as of a cutoff: the profile, the stage of the
// programme, and activity, appointments and evaluations strictly before the cutoff. The stage is
// derived from dated facts (first booking, completed_at), never from the current status, which
// tells the future ("abandoned").
var beneficiaryFeatures = []feature{
	{Name: "days_since_last_activity", SQL: "extract(epoch from p.t - p.last_at) / 86400", Doc: "days since the last activity (recency)"},
	{Name: "days_since_registration", SQL: "extract(epoch from p.t - p.created_at) / 86400", Doc: "days since registration"},
	{Name: "active_days_7d", SQL: "act.days_7d", Doc: "local days with activity in the 7 days before the cutoff"},
	{Name: "active_days_30d", SQL: "act.days_30d", Doc: "local days with activity in the 30 days before the cutoff"},
	{Name: "active_days_90d", SQL: "act.days_90d", Doc: "local days with activity in the 90 days before the cutoff"},
	{Name: "active_days_trend", SQL: "act.days_30d - act.days_30_60d", Doc: "active days in the last 30 days minus in the 30 before"},
	{Name: "own_sessions_30d", SQL: "act.own_sessions_30d", Doc: "sessions with an event besides logging in, booking and attending, last 30 days"},
	{Name: "own_sessions_trend", SQL: "act.own_sessions_30d - act.own_sessions_30_60d", Doc: "own sessions in the last 30 days minus in the 30 before"},
	{Name: "events_30d", SQL: "act.events_30d", Doc: "activity events in the 30 days before the cutoff"},
	{Name: "documents_messages_30d", SQL: "act.doc_msg_30d", Doc: "documents uploaded and messages sent in the 30 days before the cutoff"},
	{Name: "appointments_booked", SQL: "h.booked", Doc: "appointments booked before the cutoff"},
	{Name: "appointments_held", SQL: "h.completed", Doc: "appointments completed before the cutoff"},
	{Name: "no_shows", SQL: "h.no_shows", Doc: "no-shows before the cutoff"},
	{Name: "upcoming_appointments", SQL: "h.upcoming", Doc: "appointments booked before the cutoff for after it"},
	{Name: "days_to_next_appointment", SQL: "extract(epoch from h.next_at - p.t) / 86400", Doc: "days to the next appointment booked before the cutoff"},
	{Name: "days_since_last_appointment", SQL: "extract(epoch from p.t - h.last_end) / 86400", Doc: "days since the last appointment held or missed"},
	{Name: "days_since_first_booking", SQL: "extract(epoch from p.t - h.first_booked) / 86400", Doc: "days since the first booking"},
	{Name: "evaluations_completed", SQL: "ev.completed", Doc: "evaluations completed before the cutoff"},
	{Name: "mean_evaluation_score", SQL: "ev.mean_score", Doc: "mean score (percent) of those evaluations"},
	{Name: "tickets_30d", SQL: "tk.opened", Doc: "support tickets opened in the 30 days before the cutoff"},
	{Name: "age", SQL: "extract(year from p.t at time zone @tz) - p.birth_year", Doc: "age in the cutoff's year"},
	{Name: "stage", SQL: "case when p.completed_at <= p.t then 'completed' when h.booked > 0 then 'programme' else 'prospect' end",
		Categorical: true, Doc: "prospect (no booking yet), programme or completed, as of the cutoff"},
	{Name: "acquisition_channel", SQL: "p.acquisition_channel", Categorical: true, Doc: "how the beneficiary came"},
	{Name: "region", SQL: "p.region", Categorical: true, Doc: "the beneficiary's region"},
	{Name: "gender", SQL: "p.gender", Categorical: true, Doc: "the beneficiary's gender"},
}

// beneficiarySQL builds the (beneficiary, cutoff) rows of the cutoffs in @cutoffs: beneficiaries
// registered before the cutoff and active in the ActiveWindow before it, with their features as
// of the cutoff and, once the OutcomeWindow after the cutoff has passed by @now, the number of
// local days they were active in it (the label that churn and engagement derive theirs from).
var beneficiarySQL = `with cut as (select unnest(@cutoffs::timestamptz[]) as t),
pop as (
	select c.t, b.id, b.user_id, b.created_at, b.birth_year, b.acquisition_channel, b.region, b.gender,
		b.completed_at, la.last_at
	from cut c
	join bdc.beneficiaries b on b.created_at < c.t
	cross join lateral (
		select max(u.occurred_at) as last_at from bdc.user_activities u
		where u.user_id = b.user_id and u.occurred_at < c.t
	) la
	where la.last_at >= c.t - @active_window::interval
)
select p.id, p.t,
	case when p.t + @outcome_window::interval <= @now then p.t + @outcome_window::interval end,
	case when p.t + @outcome_window::interval <= @now then fut.active_days::float8 end,
	` + selectList(beneficiaryFeatures) + `
from pop p
cross join lateral (
	select count(distinct (u.occurred_at at time zone @tz)::date) filter (where u.occurred_at >= p.t - interval '7 days') as days_7d,
		count(distinct (u.occurred_at at time zone @tz)::date) filter (where u.occurred_at >= p.t - interval '30 days') as days_30d,
		count(distinct (u.occurred_at at time zone @tz)::date) filter (where u.occurred_at < p.t - interval '30 days' and u.occurred_at >= p.t - interval '60 days') as days_30_60d,
		count(distinct (u.occurred_at at time zone @tz)::date) as days_90d,
		count(distinct u.session_id) filter (where u.occurred_at >= p.t - interval '30 days' and u.activity_type not in ` + ownExcluded + `) as own_sessions_30d,
		count(distinct u.session_id) filter (where u.occurred_at < p.t - interval '30 days' and u.occurred_at >= p.t - interval '60 days'
			and u.activity_type not in ` + ownExcluded + `) as own_sessions_30_60d,
		count(*) filter (where u.occurred_at >= p.t - interval '30 days') as events_30d,
		count(*) filter (where u.occurred_at >= p.t - interval '30 days' and u.activity_type in ('document_upload', 'message')) as doc_msg_30d
	from bdc.user_activities u
	where u.user_id = p.user_id and u.occurred_at >= p.t - interval '90 days' and u.occurred_at < p.t
) act
cross join lateral (
	select count(*) as booked,
		count(*) filter (where a.status = 'completed' and a.scheduled_at + make_interval(mins => a.duration_minutes) <= p.t) as completed,
		count(*) filter (where a.status = 'no_show' and a.scheduled_at + make_interval(mins => a.duration_minutes) <= p.t) as no_shows,
		count(*) filter (where a.scheduled_at >= p.t) as upcoming,
		min(a.scheduled_at) filter (where a.scheduled_at >= p.t) as next_at,
		max(a.scheduled_at + make_interval(mins => a.duration_minutes))
			filter (where a.status in ('completed', 'no_show') and a.scheduled_at + make_interval(mins => a.duration_minutes) <= p.t) as last_end,
		min(a.booked_at) as first_booked
	from bdc.appointments a
	where a.beneficiary_id = p.id and a.booked_at < p.t
) h
cross join lateral (
	select count(*) as completed, avg(100 * e.score / nullif(e.max_score, 0)) as mean_score
	from bdc.evaluations e
	where e.beneficiary_id = p.id and e.completed_at < p.t and e.score is not null
) ev
cross join lateral (
	select count(*) as opened from bdc.support_tickets s
	where s.user_id = p.user_id and s.opened_at >= p.t - interval '30 days' and s.opened_at < p.t
) tk
cross join lateral (
	select count(distinct (u.occurred_at at time zone @tz)::date) as active_days
	from bdc.user_activities u
	where u.user_id = p.user_id and u.occurred_at >= p.t and u.occurred_at < p.t + @outcome_window::interval
	  and p.t + @outcome_window::interval <= @now
) fut
order by p.t, p.id`

// BeneficiaryFrame extracts the churn and engagement features of the beneficiaries active at
// each cutoff (registered before it, active in the ActiveWindow before it), as of the cutoff.
// Its label is the number of local days the beneficiary was active in the OutcomeWindow after the
// cutoff, known when that window ended by now; package-level models derive theirs from it.
func (s *Store) BeneficiaryFrame(ctx context.Context, cutoffs []time.Time, now time.Time) (*Frame, error) {
	var f *Frame
	err := s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		f, err = beneficiaryFrame(ctx, tx, s.timeZone(), cutoffs, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't extract beneficiary features: %w", err)
	}
	return f, nil
}

func beneficiaryFrame(ctx context.Context, q querier, tz string, cutoffs []time.Time, now time.Time) (*Frame, error) {
	return queryFrame(ctx, q, beneficiarySQL, pgx.NamedArgs{
		"tz": tz, "cutoffs": cutoffs, "now": now,
		"active_window": ActiveWindow, "outcome_window": OutcomeWindow,
	}, beneficiaryFeatures)
}

// labelledBeneficiaries extracts the rows of the grid cutoffs whose OutcomeWindow ends in
// [from, to), with label(active days in the window) as their label.
func labelledBeneficiaries(ctx context.Context, q querier, tz string, from, to time.Time, label func(float64) float64) (*Frame, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %w", tz, err)
	}
	if from.IsZero() {
		// The first cutoff worth having: a full ActiveWindow after the first registration.
		var first *time.Time
		rows, err := q.Query(ctx, "select min(created_at) from bdc.beneficiaries")
		if err != nil {
			return nil, err
		}
		first, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[*time.Time])
		if err != nil {
			return nil, err
		}
		if first == nil {
			return nil, ErrNoRows
		}
		from = first.Add(OutcomeWindow)
	}
	cutoffs := Cutoffs(from.Add(-OutcomeWindow), to.Add(-OutcomeWindow).Add(time.Nanosecond), 0, loc)
	if len(cutoffs) == 0 {
		return nil, ErrNoRows
	}
	f, err := beneficiaryFrame(ctx, q, tz, cutoffs, to)
	if err != nil {
		return nil, err
	}
	f = f.labelledIn(from, to.Add(time.Nanosecond))
	for i, y := range f.Y {
		f.Y[i] = label(y)
	}
	return f, nil
}

// beneficiaryPopulation extracts the beneficiaries active at the grid cutoffs in [from, to), or
// at from when no grid cutoff falls in the window.
func beneficiaryPopulation(ctx context.Context, q querier, tz string, from, to time.Time) (*Frame, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %w", tz, err)
	}
	cutoffs := Cutoffs(from, to, 0, loc)
	if len(cutoffs) == 0 {
		cutoffs = []time.Time{from}
	}
	return beneficiaryFrame(ctx, q, tz, cutoffs, to)
}

// CutoffStep is the spacing, in days, of the cutoffs churn and engagement are trained on: four
// weeks, so that a beneficiary's outcome windows at successive cutoffs barely overlap and every
// cutoff falls on the same weekday.
const CutoffStep = 28

// cutoffAnchor fixes the cutoff grid, so that the same cutoffs come back from one training to
// the next and versions are compared on the same rows: local midnights every CutoffStep days
// from this Monday.
var cutoffAnchor = time.Date(2000, time.January, 3, 0, 0, 0, 0, time.UTC)

// Cutoffs returns the local midnights of the cutoff grid in [from, to), every step days (0
// means CutoffStep), in the time zone loc.
func Cutoffs(from, to time.Time, step int, loc *time.Location) []time.Time {
	if step <= 0 {
		step = CutoffStep
	}
	first := time.Date(cutoffAnchor.Year(), cutoffAnchor.Month(), cutoffAnchor.Day(), 0, 0, 0, 0, loc)
	days := int(from.Sub(first).Hours() / 24)
	k := max(0, days/step-1)
	var out []time.Time
	for ; ; k++ {
		t := first.AddDate(0, 0, k*step)
		if !t.Before(to) {
			return out
		}
		if !t.Before(from) {
			out = append(out, t)
		}
	}
}
