package predict

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The leakage tests prove that no feature depends on anything at or after its as-of instant.
// For several cutoffs T they compute features of rows whose as-of instant is before T on the
// full database, then, in a transaction that is rolled back, rewrite the database as it stood
// at T (every row from T on deleted, outcomes not yet known reset, statuses recomputed from
// dated facts), add adversarial rows between each row's as-of instant and T (activity at the
// very instant, a no-show, a perfect evaluation, a payment, a ticket, feedback), change the
// outcome of every appointment not yet ended at the as-of instant, and compute the features
// again: they must be identical. A positive control checks that the same adversarial rows do
// change the features of a row whose as-of instant comes after them, so the test can fail.

// truncateAt rewrites the canonical tables in tx as they stood at instant t.
func truncateAt(ctx context.Context, t *testing.T, tx pgx.Tx, at time.Time) {
	t.Helper()
	stmts := []string{
		`delete from bdc.feedback where submitted_at >= $1 or appointment_id in (select id from bdc.appointments where booked_at >= $1)`,
		`delete from bdc.support_tickets where opened_at >= $1`,
		`update bdc.support_tickets set resolved_at = null where resolved_at >= $1`,
		`delete from bdc.user_activities where occurred_at >= $1`,
		`delete from bdc.payments where paid_at >= $1`,
		`delete from bdc.evaluations where started_at >= $1`,
		`update bdc.evaluations set score = null, completed_at = null where completed_at >= $1`,
		`delete from bdc.appointments where booked_at >= $1`,
		`update bdc.appointments set status = 'scheduled' where scheduled_at + make_interval(mins => duration_minutes) > $1`,
		`update bdc.beneficiaries set completed_at = null where completed_at >= $1`,
		`update bdc.beneficiaries b set status = case
			when b.completed_at is not null then 'completed'
			when exists (select 1 from bdc.appointments a where a.beneficiary_id = b.id) then 'active'
			else 'prospect' end
			where b.created_at < $1`,
		`delete from bdc.beneficiaries where created_at >= $1`,
		`delete from bdc.trainer_availability where day >= ($1::timestamptz at time zone 'Europe/Paris')::date`,
		`delete from bdc.users u where created_at >= $1
			and not exists (select 1 from bdc.beneficiaries b where b.user_id = u.id or b.trainer_id = u.id)
			and not exists (select 1 from bdc.appointments a where a.trainer_id = u.id)`,
		`update bdc.users u set last_login_at = (select max(occurred_at) from bdc.user_activities a
			where a.user_id = u.id and a.activity_type = 'login' and a.occurred_at < $1)`,
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s, at); err != nil {
			t.Fatalf("truncate at %s: %s: %v", at.Format(time.RFC3339), s, err)
		}
	}
}

// subject is a row checked for leakage: its id, its beneficiary and its as-of instant.
type subject struct {
	id, beneficiary int64
	at              time.Time
}

func subjectArrays(subjects []subject) (ids []int64, ats []time.Time) {
	for _, s := range subjects {
		ids, ats = append(ids, s.beneficiary), append(ats, s.at)
	}
	return ids, ats
}

// addPending gives each subject's beneficiary an appointment booked an hour before the subject's
// as-of instant and held an hour after it, completed: its booking is known at the instant, its
// outcome is not.
func addPending(ctx context.Context, t *testing.T, tx pgx.Tx, subjects []subject) {
	t.Helper()
	ids, ats := subjectArrays(subjects)
	if _, err := tx.Exec(ctx, `insert into bdc.appointments (beneficiary_id, trainer_id, booked_at, scheduled_at,
			duration_minutes, channel, reminder_sent, status)
		select b.id, coalesce(b.trainer_id, 1), s.at - interval '1 hour', s.at + interval '1 hour', 60, 'video', true, 'completed'
		from unnest($1::bigint[], $2::timestamptz[]) as s(b, at) join bdc.beneficiaries b on b.id = s.b`, ids, ats); err != nil {
		t.Fatalf("add pending appointments: %v", err)
	}
}

// pollute adds adversarial rows for each subject's beneficiary at the subject's as-of instant
// and one second later, and marks every appointment of the beneficiary not ended by then as a
// no-show.
func pollute(ctx context.Context, t *testing.T, tx pgx.Tx, subjects []subject) {
	t.Helper()
	const from = `from unnest($1::bigint[], $2::timestamptz[]) as s(b, at) join bdc.beneficiaries b on b.id = s.b`
	stmts := []string{
		`insert into bdc.user_activities (user_id, occurred_at, activity_type, feature, session_id, duration_ms)
			select b.user_id, s.at + (g % 2) * interval '1 second', t, 'documents', 'leak-' || b.id || '-' || g, 100
			` + from + `, generate_series(1, 15) g, unnest(array['login', 'document_upload', 'message', 'page_view']) t`,
		`update bdc.appointments a set status = 'no_show'
			from unnest($1::bigint[], $2::timestamptz[]) as s(b, at)
			where a.beneficiary_id = s.b and a.scheduled_at + make_interval(mins => a.duration_minutes) > s.at`,
		`insert into bdc.appointments (beneficiary_id, trainer_id, booked_at, scheduled_at, duration_minutes, channel, reminder_sent, status)
			select b.id, coalesce(b.trainer_id, 1), s.at + interval '1 second', s.at + interval '2 seconds', 1, 'phone', false, st
			` + from + `, unnest(array['no_show', 'no_show', 'cancelled', 'completed']) st`,
		`insert into bdc.evaluations (beneficiary_id, assessment, score, max_score, started_at, completed_at)
			select b.id, 'skills', 100, 100, s.at + interval '1 second', s.at + interval '1 second' ` + from,
		`insert into bdc.payments (beneficiary_id, amount_cents, currency, paid_at) select b.id, 100000, 'EUR', s.at ` + from,
		`insert into bdc.support_tickets (user_id, category, opened_at) select b.user_id, 'billing', s.at ` + from,
		`insert into bdc.feedback (user_id, appointment_id, score, submitted_at)
			select b.user_id, a.id, 1, s.at + interval '1 second'
			` + from + ` join bdc.appointments a on a.beneficiary_id = b.id`,
	}
	ids, ats := subjectArrays(subjects)
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s, ids, ats); err != nil {
			t.Fatalf("pollute: %s: %v", s, err)
		}
	}
}

// checkCutoff compares the features extract computes for subjects (as-of instants before cut)
// on the database with pending appointments added, and on the same database truncated at cut
// and polluted after each subject's instant.
func checkCutoff(t *testing.T, pool *pgxpool.Pool, what string, cut time.Time, subjects []subject,
	extract func(ctx context.Context, q querier) (*Frame, error)) {
	t.Helper()
	ctx := t.Context()
	ids := make([]int64, len(subjects))
	for i, s := range subjects {
		ids[i] = s.id
	}
	var full *Frame
	func() {
		tx := begin(t, pool)
		defer rollback(tx)
		addPending(ctx, t, tx, subjects)
		var err error
		if full, err = extract(ctx, tx); err != nil {
			t.Fatal(err)
		}
	}()
	tx := begin(t, pool)
	defer rollback(tx)
	addPending(ctx, t, tx, subjects)
	truncateAt(ctx, t, tx, cut)
	pollute(ctx, t, tx, subjects)
	trunc, err := extract(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	sameFeatures(t, what, full, trunc, ids)
}

// latestSubjects returns, for the rows that sql selects with as-of instants in [$1, $2) as
// (id, beneficiary, as-of instant), the latest row of each beneficiary.
func latestSubjects(t *testing.T, pool *pgxpool.Pool, sql string, from, to time.Time) []subject {
	t.Helper()
	rows, err := pool.Query(t.Context(), sql, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var out []subject
	var s subject
	if _, err := pgx.ForEachRow(rows, []any{&s.id, &s.beneficiary, &s.at}, func() error {
		out = append(out, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameFeatures fails unless rows id of a and b have identical as-of instants and features.
func sameFeatures(t *testing.T, what string, a, b *Frame, ids []int64) {
	t.Helper()
	index := func(f *Frame) map[int64]int {
		m := map[int64]int{}
		for i, id := range f.IDs {
			m[id] = i
		}
		return m
	}
	ia, ib := index(a), index(b)
	for _, id := range ids {
		i, ok := ia[id]
		j, ok2 := ib[id]
		if !ok || !ok2 {
			t.Fatalf("%s %d: in full database %v, in truncated database %v", what, id, ok, ok2)
		}
		if !a.At[i].Equal(b.At[j]) {
			t.Errorf("%s %d: as-of instant %s became %s", what, id, a.At[i], b.At[j])
		}
		for k, name := range a.Numeric {
			x, y := a.NumRow(i)[k], b.NumRow(j)[k]
			if x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
				t.Errorf("%s %d: feature %s = %v on the full database, %v on the database at its as-of instant", what, id, name, x, y)
			}
		}
		for k, name := range a.Categorical {
			if x, y := a.CatRow(i)[k], b.CatRow(j)[k]; x != y {
				t.Errorf("%s %d: feature %s = %q on the full database, %q on the database at its as-of instant", what, id, name, x, y)
			}
		}
	}
}

// begin starts a transaction for the caller to roll back (see rollback).
func begin(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// rollback ends a transaction of begin; deferred, it also runs when the test fails.
func rollback(tx pgx.Tx) { _ = tx.Rollback(context.Background()) }

// leakageCutoffs spread the checks over the small platform's history.
func leakageCutoffs(end time.Time) []time.Time {
	return []time.Time{end.AddDate(0, 0, -120), end.AddDate(0, 0, -61).Add(7 * time.Hour), end.AddDate(0, 0, -9).Add(15 * time.Hour)}
}

func TestNoShowFeaturesIgnoreTheFuture(t *testing.T) {
	_, d := small(t)
	checked := 0
	for _, cut := range leakageCutoffs(d.Seed.End) {
		sel := AppointmentSelection{BookedFrom: cut.AddDate(0, 0, -21), BookedTo: cut}
		subjects := latestSubjects(t, d.DB.Pool, `select distinct on (beneficiary_id) id, beneficiary_id, booked_at
			from bdc.appointments where booked_at >= $1 and booked_at < $2 order by beneficiary_id, booked_at desc, id desc`,
			sel.BookedFrom, sel.BookedTo)
		checkCutoff(t, d.DB.Pool, "appointment", cut, subjects, func(ctx context.Context, q querier) (*Frame, error) {
			return noShowFrame(ctx, q, DefaultTimeZone, sel)
		})
		checked += len(subjects)
	}
	if checked < 50 {
		t.Fatalf("only %d appointments checked", checked)
	}
	t.Logf("%d appointments have the same features on the database as it stood at their booking", checked)
}

// TestLeakageCheckCanFail is the positive control of the leakage checks: an appointment booked
// after the adversarial rows does see them.
func TestLeakageCheckCanFail(t *testing.T) {
	_, d := small(t)
	ctx := t.Context()
	cut := d.Seed.End.AddDate(0, 0, -30)
	subjects := latestSubjects(t, d.DB.Pool, `select distinct on (beneficiary_id) id, beneficiary_id, booked_at
		from bdc.appointments where booked_at >= $1 and booked_at < $2 order by beneficiary_id, booked_at desc, id desc`,
		cut.AddDate(0, 0, -21), cut)
	if len(subjects) == 0 {
		t.Fatal("no appointment to check")
	}
	first := subjects[0]
	before, err := noShowFrame(ctx, d.DB.Pool, DefaultTimeZone, AppointmentSelection{BookedFrom: first.at, BookedTo: first.at.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	tx := begin(t, d.DB.Pool)
	defer rollback(tx)
	addPending(ctx, t, tx, subjects[:1])
	truncateAt(ctx, t, tx, cut)
	pollute(ctx, t, tx, subjects[:1])
	var control int64
	if err := tx.QueryRow(ctx, `insert into bdc.appointments (beneficiary_id, trainer_id, booked_at, scheduled_at,
			duration_minutes, channel, reminder_sent, status)
		select beneficiary_id, trainer_id, booked_at + interval '3 hours', booked_at + interval '1 day', 60, channel, reminder_sent, 'scheduled'
		from bdc.appointments where id = $1 returning id`, first.id).Scan(&control); err != nil {
		t.Fatal(err)
	}
	after, err := noShowFrame(ctx, tx, DefaultTimeZone, AppointmentSelection{BookedFrom: first.at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	i, j := slices.Index(after.IDs, control), slices.Index(before.IDs, first.id)
	if i < 0 || j < 0 {
		t.Fatalf("control appointment %d or appointment %d missing", control, first.id)
	}
	for name, least := range map[string]float64{"events_7d": 60, "earlier_no_shows": 3, "appointment_number": 6, "evaluations_completed": 1} {
		k := slices.Index(after.Numeric, name)
		got, was := after.NumRow(i)[k], before.NumRow(j)[k]
		if got < was+least {
			t.Errorf("the control appointment booked after the adversarial rows does not see them: %s %v -> %v", name, was, got)
		}
		t.Logf("%s: %v for the checked appointment, %v for the control booked after the adversarial rows", name, was, got)
	}
}

func TestEvaluationFeaturesIgnoreTheFuture(t *testing.T) {
	_, d := small(t)
	checked := 0
	for _, cut := range leakageCutoffs(d.Seed.End) {
		sel := EvaluationSelection{StartedFrom: cut.AddDate(0, 0, -30), StartedTo: cut}
		subjects := latestSubjects(t, d.DB.Pool, `select distinct on (beneficiary_id) id, beneficiary_id, started_at
			from bdc.evaluations where started_at >= $1 and started_at < $2 order by beneficiary_id, started_at desc, id desc`,
			sel.StartedFrom, sel.StartedTo)
		checkCutoff(t, d.DB.Pool, "evaluation", cut, subjects, func(ctx context.Context, q querier) (*Frame, error) {
			return evaluationFrame(ctx, q, DefaultTimeZone, sel)
		})
		checked += len(subjects)
	}
	if checked < 30 {
		t.Fatalf("only %d evaluations checked", checked)
	}
	t.Logf("%d evaluations have the same features on the database as it stood at their start", checked)
}

func TestBeneficiaryFeaturesIgnoreTheFuture(t *testing.T) {
	s, d := small(t)
	checked := 0
	for _, cut := range leakageCutoffs(d.Seed.End) {
		pop, err := s.BeneficiaryFrame(t.Context(), []time.Time{cut}, d.Seed.End)
		if err != nil {
			t.Fatal(err)
		}
		subjects := make([]subject, pop.Len())
		for i, id := range pop.IDs {
			subjects[i] = subject{id: id, beneficiary: id, at: cut}
		}
		checkCutoff(t, d.DB.Pool, "beneficiary", cut, subjects, func(ctx context.Context, q querier) (*Frame, error) {
			return beneficiaryFrame(ctx, q, DefaultTimeZone, []time.Time{cut}, d.Seed.End)
		})
		checked += len(subjects)
	}
	if checked < 100 {
		t.Fatalf("only %d beneficiaries checked", checked)
	}
	t.Logf("%d (beneficiary, cutoff) rows have the same features on the database as it stood at the cutoff", checked)
}
