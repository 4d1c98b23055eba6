package predict

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// evaluationFeatures are an evaluation's features as of its started_at: the assessment, the
// beneficiary's profile, and everything the beneficiary did strictly before the start.
var evaluationFeatures = []feature{
	{Name: "age", SQL: "extract(year from e.started_at at time zone @tz) - b.birth_year", Doc: "beneficiary's age in the evaluation's year"},
	{Name: "days_since_registration", SQL: "extract(epoch from e.started_at - b.created_at) / 86400", Doc: "days from registration to the start"},
	{Name: "days_to_first_booking", SQL: "extract(epoch from h.first_booked - b.created_at) / 86400", Doc: "days from registration to the first booking"},
	{Name: "days_since_first_booking", SQL: "extract(epoch from e.started_at - h.first_booked) / 86400", Doc: "days from the first booking to the start"},
	{Name: "appointments_booked", SQL: "h.booked", Doc: "appointments booked before the start"},
	{Name: "appointments_held", SQL: "h.completed", Doc: "appointments completed before the start"},
	{Name: "no_shows", SQL: "h.no_shows", Doc: "no-shows before the start"},
	{Name: "cancelled", SQL: "h.cancelled", Doc: "cancelled appointments whose time passed before the start"},
	{Name: "minutes_held", SQL: "h.minutes", Doc: "minutes of appointments completed before the start"},
	{Name: "evaluations_started", SQL: "pe.started", Doc: "evaluations started before this one"},
	{Name: "evaluations_completed", SQL: "pe.completed", Doc: "evaluations completed before the start"},
	{Name: "mean_evaluation_score", SQL: "pe.mean_score", Doc: "mean score (percent) of those evaluations"},
	{Name: "last_evaluation_score", SQL: "pe.last_score", Doc: "score (percent) of the last of them"},
	{Name: "events", SQL: "act.events", Doc: "activity events before the start"},
	{Name: "sessions", SQL: "act.sessions", Doc: "sessions before the start"},
	{Name: "active_days", SQL: "act.active_days", Doc: "local days with activity before the start"},
	{Name: "own_sessions", SQL: "act.own_sessions", Doc: "sessions before the start with an event besides logging in, booking and attending"},
	{Name: "own_events", SQL: "act.own_events", Doc: "events before the start besides logins, bookings and attendance"},
	{Name: "own_sessions_per_week", SQL: "7 * act.own_sessions / greatest(extract(epoch from e.started_at - b.created_at) / 86400, 1)",
		Doc: "own sessions per week since registration"},
	{Name: "prospect_sessions", SQL: "act.prospect_sessions", Doc: "own sessions before the first booking"},
	{Name: "programme_sessions", SQL: "act.own_sessions - act.prospect_sessions", Doc: "own sessions from the first booking to the start"},
	{Name: "programme_sessions_per_week", SQL: "7 * (act.own_sessions - act.prospect_sessions) / greatest(extract(epoch from e.started_at - h.first_booked) / 86400, 1)",
		Doc: "own sessions per week from the first booking to the start"},
	{Name: "events_30d", SQL: "act.events_30d", Doc: "activity events in the 30 days before the start"},
	{Name: "own_sessions_30d", SQL: "act.own_sessions_30d", Doc: "own sessions in the 30 days before the start"},
	{Name: "document_uploads", SQL: "act.documents", Doc: "documents uploaded before the start"},
	{Name: "messages", SQL: "act.messages", Doc: "messages sent before the start"},
	{Name: "assessment_events", SQL: "act.assessments", Doc: "assessment activity events before the start"},
	{Name: "resource_views", SQL: "act.resources", Doc: "resources viewed before the start"},
	{Name: "document_message_share", SQL: "(act.documents + act.messages)::float8 / nullif(act.programme_events, 0)",
		Doc: "share of documents and messages among own events from the first booking to the start"},
	{Name: "days_since_last_activity", SQL: "extract(epoch from e.started_at - act.last_at) / 86400", Doc: "days since the last activity"},
	{Name: "feedback_score", SQL: "fb.mean_score", Doc: "mean feedback score given before the start"},
	{Name: "assessment", SQL: "e.assessment", Categorical: true, Doc: "the assessment taken"},
	{Name: "acquisition_channel", SQL: "b.acquisition_channel", Categorical: true, Doc: "how the beneficiary came"},
	{Name: "region", SQL: "b.region", Categorical: true, Doc: "the beneficiary's region"},
	{Name: "gender", SQL: "b.gender", Categorical: true, Doc: "the beneficiary's gender"},
}

// ownExcluded lists the activity types that a platform records for what it asks of a
// beneficiary (logging in, booking, attending) rather than for what the beneficiary chooses to do:
// counts without them measure engagement.
const ownExcluded = "('login', 'booking', 'appointment_attended', 'video_call')"

// evaluationSQL selects evaluations by started_at and computes their features as of started_at.
// The label, the score as a percentage of the maximum, is known at completed_at.
var evaluationSQL = `select e.id, e.started_at,
	case when e.score is not null then e.completed_at end,
	case when e.completed_at is not null then (100 * e.score / nullif(e.max_score, 0))::float8 end,
	` + selectList(evaluationFeatures) + `
from bdc.evaluations e
join bdc.beneficiaries b on b.id = e.beneficiary_id
cross join lateral (
	select min(p.booked_at) as first_booked, count(*) as booked,
		count(*) filter (where p.status = 'completed' and p.scheduled_at + make_interval(mins => p.duration_minutes) <= e.started_at) as completed,
		coalesce(sum(p.duration_minutes) filter (where p.status = 'completed' and p.scheduled_at + make_interval(mins => p.duration_minutes) <= e.started_at), 0) as minutes,
		count(*) filter (where p.status = 'no_show' and p.scheduled_at + make_interval(mins => p.duration_minutes) <= e.started_at) as no_shows,
		count(*) filter (where p.status = 'cancelled' and p.scheduled_at < e.started_at) as cancelled
	from bdc.appointments p
	where p.beneficiary_id = e.beneficiary_id and p.booked_at < e.started_at
) h
cross join lateral (
	select count(*) as started,
		count(*) filter (where q.completed_at < e.started_at and q.score is not null) as completed,
		avg(100 * q.score / nullif(q.max_score, 0)) filter (where q.completed_at < e.started_at) as mean_score,
		(array_agg(100 * q.score / nullif(q.max_score, 0) order by q.completed_at desc)
			filter (where q.completed_at < e.started_at and q.score is not null))[1] as last_score
	from bdc.evaluations q
	where q.beneficiary_id = e.beneficiary_id and q.started_at < e.started_at
) pe
cross join lateral (
	select count(*) as events, count(distinct u.session_id) as sessions,
		count(distinct (u.occurred_at at time zone @tz)::date) as active_days,
		count(distinct u.session_id) filter (where u.activity_type not in ` + ownExcluded + `) as own_sessions,
		count(*) filter (where u.activity_type not in ` + ownExcluded + `) as own_events,
		count(distinct u.session_id) filter (where u.activity_type not in ` + ownExcluded + `
			and (h.first_booked is null or u.occurred_at < h.first_booked)) as prospect_sessions,
		count(*) filter (where u.activity_type not in ` + ownExcluded + ` and u.occurred_at >= h.first_booked) as programme_events,
		count(*) filter (where u.occurred_at >= e.started_at - interval '30 days') as events_30d,
		count(distinct u.session_id) filter (where u.activity_type not in ` + ownExcluded + `
			and u.occurred_at >= e.started_at - interval '30 days') as own_sessions_30d,
		count(*) filter (where u.activity_type = 'document_upload') as documents,
		count(*) filter (where u.activity_type = 'message') as messages,
		count(*) filter (where u.activity_type = 'assessment') as assessments,
		count(*) filter (where u.activity_type = 'resource_view') as resources,
		max(u.occurred_at) as last_at
	from bdc.user_activities u
	where u.user_id = b.user_id and u.occurred_at < e.started_at
) act
cross join lateral (
	select avg(f.score) as mean_score
	from bdc.appointments p join bdc.feedback f on f.appointment_id = p.id
	where p.beneficiary_id = e.beneficiary_id and p.booked_at < e.started_at and f.submitted_at < e.started_at
) fb
where e.started_at >= @started_from and e.started_at < @started_to
  and (not @completed_only or (e.completed_at is not null and e.score is not null))
order by e.id`

// evaluationModel predicts the score of an evaluation.
var evaluationModel = &Definition{
	Name: EvaluationScore, Task: ml.Regression, Subject: "evaluation", Primary: MetricR2,
	Label: "the evaluation's score as a percentage of its maximum (rows: evaluations completed with a score)",
	AsOf:  "the evaluation's started_at",
	GBM: ml.GBMParams{
		Task: ml.Regression, MaxIter: 500, LearningRate: 0.1, MaxLeafNodes: 8,
		MinSamplesLeaf: 50, L2: 1, Patience: 15,
	},
	features: evaluationFeatures,
	labelled: func(ctx context.Context, q querier, tz string, from, to time.Time) (*Frame, error) {
		f, err := evaluationFrame(ctx, q, tz, EvaluationSelection{StartedTo: to, CompletedOnly: true})
		if err != nil {
			return nil, err
		}
		return f.labelledIn(from, to), nil
	},
	population: func(ctx context.Context, q querier, tz string, from, to time.Time) (*Frame, error) {
		return evaluationFrame(ctx, q, tz, EvaluationSelection{StartedFrom: from, StartedTo: to})
	},
}

// EvaluationSelection chooses the evaluations of an evaluation-score frame. Zero times leave a
// bound open.
type EvaluationSelection struct {
	// StartedFrom and StartedTo bound started_at: [from, to).
	StartedFrom, StartedTo time.Time
	// CompletedOnly keeps the evaluations completed with a score.
	CompletedOnly bool
}

// EvaluationFrame extracts the features of the selected evaluations, each as of its started_at,
// with its score as a percentage of the maximum where it was completed.
func (s *Store) EvaluationFrame(ctx context.Context, sel EvaluationSelection) (*Frame, error) {
	var f *Frame
	err := s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		f, err = evaluationFrame(ctx, tx, s.timeZone(), sel)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't extract evaluation features: %w", err)
	}
	return f, nil
}

func evaluationFrame(ctx context.Context, q querier, tz string, sel EvaluationSelection) (*Frame, error) {
	return queryFrame(ctx, q, evaluationSQL, pgx.NamedArgs{
		"tz": tz, "started_from": lowerBound(sel.StartedFrom), "started_to": upperBound(sel.StartedTo),
		"completed_only": sel.CompletedOnly,
	}, evaluationFeatures)
}
