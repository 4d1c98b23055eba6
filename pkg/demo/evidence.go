package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// ReadEngagementEvidence reads from the platform's tables the evidence of engagement of the
// beneficiary of each given evaluation at the instant it started (see EngagementEvidence), by
// evaluation id. Evaluations of beneficiaries with no appointment before them are left out.
func ReadEngagementEvidence(ctx context.Context, db *store.DB, evaluationIDs []int64) (map[int64]EngagementEvidence, error) {
	type target struct {
		id, beneficiary int64
		assessment      string
		started         time.Time
		completed       bool
	}
	var targets []target
	rows, _ := db.Pool.Query(ctx, `select id, beneficiary_id, assessment, started_at, completed_at is not null and score is not null
		from bdc.evaluations where id = any($1)`, evaluationIDs)
	var tg target
	if _, err := pgx.ForEachRow(rows, []any{&tg.id, &tg.beneficiary, &tg.assessment, &tg.started, &tg.completed}, func() error {
		targets = append(targets, tg)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read evaluations: %w", err)
	}
	type person struct {
		userID      int64
		channel     string
		created     time.Time
		birthYear   int
		outcomes    []string
		booked      []time.Time
		evaluations []EvaluationEvidence
		sessions    []SessionEvidence
	}
	people := map[int64]*person{}
	var ids []int64
	for _, t := range targets {
		if people[t.beneficiary] == nil {
			people[t.beneficiary] = &person{}
			ids = append(ids, t.beneficiary)
		}
	}
	users := map[int64]*person{}
	var b int64
	var p person
	rows, _ = db.Pool.Query(ctx, `select id, user_id, acquisition_channel, created_at, birth_year from bdc.beneficiaries where id = any($1)`, ids)
	if _, err := pgx.ForEachRow(rows, []any{&b, &p.userID, &p.channel, &p.created, &p.birthYear}, func() error {
		q := people[b]
		q.userID, q.channel, q.created, q.birthYear = p.userID, p.channel, p.created, p.birthYear
		users[p.userID] = q
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read beneficiaries: %w", err)
	}
	var status string
	var booked time.Time
	rows, _ = db.Pool.Query(ctx, `select beneficiary_id, booked_at, status from bdc.appointments
		where beneficiary_id = any($1) order by beneficiary_id, booked_at, id`, ids)
	if _, err := pgx.ForEachRow(rows, []any{&b, &booked, &status}, func() error {
		q := people[b]
		q.booked, q.outcomes = append(q.booked, booked), append(q.outcomes, status)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read appointments: %w", err)
	}
	var q EvaluationEvidence
	var completed *time.Time
	var score *float64
	rows, _ = db.Pool.Query(ctx, `select beneficiary_id, assessment, started_at, completed_at, score::float8
		from bdc.evaluations where beneficiary_id = any($1) order by started_at`, ids)
	if _, err := pgx.ForEachRow(rows, []any{&b, &q.Assessment, &q.Started, &completed, &score}, func() error {
		q.Completed, q.Score = time.Time{}, 0
		if completed != nil && score != nil {
			q.Completed, q.Score = *completed, *score
		}
		people[b].evaluations = append(people[b].evaluations, q)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read evaluations: %w", err)
	}
	userIDs := make([]int64, 0, len(users))
	for id := range users {
		userIDs = append(userIDs, id)
	}
	var user int64
	var s SessionEvidence
	rows, _ = db.Pool.Query(ctx, `select user_id, min(occurred_at), count(*) filter (where activity_type <> 'login'),
			count(*) filter (where activity_type in ('document_upload', 'message'))
		from bdc.user_activities where user_id = any($1)
		group by user_id, session_id
		having bool_and(activity_type not in ('booking', 'appointment_attended', 'video_call'))`, userIDs)
	if _, err := pgx.ForEachRow(rows, []any{&user, &s.Start, &s.Actions, &s.DocumentsMessages}, func() error {
		users[user].sessions = append(users[user].sessions, s)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}

	out := make(map[int64]EngagementEvidence, len(targets))
	for _, t := range targets {
		pp := people[t.beneficiary]
		if len(pp.booked) == 0 || !pp.booked[0].Before(t.started) {
			continue
		}
		ev := EngagementEvidence{
			Channel: pp.channel, Age: pp.created.In(Location).Year() - pp.birthYear,
			Created: pp.created, FirstBooked: pp.booked[0], At: t.started,
			Sessions: pp.sessions, Completed: t.completed,
		}
		// The assessment follows the held-th completed appointment; those before it in booking
		// order each let the programme go on.
		held := slices.Index(Assessments, t.assessment) + 1
		for i, o := range pp.outcomes {
			if o == "completed" {
				if held--; held == 0 {
					ev.Outcomes = pp.outcomes[:i]
					break
				}
			}
		}
		for _, e := range pp.evaluations {
			if e.Started.Before(t.started) {
				ev.Evaluations = append(ev.Evaluations, e)
			}
		}
		out[t.id] = ev
	}
	return out, nil
}
