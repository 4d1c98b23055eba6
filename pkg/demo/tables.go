package demo

import "github.com/jackc/pgx/v5"

// table names one generated table, in COPY order: a table comes after those it references.
type table int

const (
	tUsers table = iota
	tBeneficiaries
	tAppointments
	tEvaluations
	tActivities
	tAvailability
	tPayments
	tFeedback
	tTickets
	tAppointmentTruth
	tBeneficiaryTruth
	tEvaluationTruth
	numTables
)

// tableSpec describes how a generated table is written. Rows are generated with block-local ids
// in column 0 when localID is set, and with block-local references in the columns of refs;
// the loader turns both into global ids, so blocks can be generated in parallel and still give
// the same ids for the same seed.
type tableSpec struct {
	name    pgx.Identifier
	columns []string
	localID bool
	refs    map[int]table
}

var tableSpecs = [numTables]tableSpec{
	tUsers: {name: pgx.Identifier{"bdc", "users"},
		columns: []string{"id", "email", "role", "created_at", "last_login_at", "is_active"}},
	tBeneficiaries: {name: pgx.Identifier{"bdc", "beneficiaries"},
		columns: []string{"id", "user_id", "trainer_id", "status", "acquisition_channel", "region",
			"birth_year", "gender", "created_at", "completed_at"}},
	tAppointments: {name: pgx.Identifier{"bdc", "appointments"}, localID: true,
		columns: []string{"id", "beneficiary_id", "trainer_id", "booked_at", "scheduled_at",
			"duration_minutes", "channel", "reminder_sent", "status"}},
	tEvaluations: {name: pgx.Identifier{"bdc", "evaluations"}, localID: true,
		columns: []string{"id", "beneficiary_id", "assessment", "score", "max_score", "started_at", "completed_at"}},
	tActivities: {name: pgx.Identifier{"bdc", "user_activities"}, localID: true,
		columns: []string{"id", "user_id", "occurred_at", "activity_type", "feature", "session_id", "duration_ms"}},
	tAvailability: {name: pgx.Identifier{"bdc", "trainer_availability"},
		columns: []string{"trainer_id", "day", "available_minutes"}},
	tPayments: {name: pgx.Identifier{"bdc", "payments"}, localID: true,
		columns: []string{"id", "beneficiary_id", "amount_cents", "currency", "paid_at"}},
	tFeedback: {name: pgx.Identifier{"bdc", "feedback"}, localID: true,
		columns: []string{"id", "user_id", "appointment_id", "score", "submitted_at"},
		refs:    map[int]table{2: tAppointments}},
	tTickets: {name: pgx.Identifier{"bdc", "support_tickets"}, localID: true,
		columns: []string{"id", "user_id", "category", "opened_at", "resolved_at"}},
	tAppointmentTruth: {name: pgx.Identifier{"bdc_demo", "appointment_truth"},
		columns: []string{"appointment_id", "noshow_probability", "cancel_probability"},
		refs:    map[int]table{0: tAppointments}},
	tBeneficiaryTruth: {name: pgx.Identifier{"bdc_demo", "beneficiary_truth"},
		columns: []string{"beneficiary_id", "engagement", "churn_probability", "converts"}},
	tEvaluationTruth: {name: pgx.Identifier{"bdc_demo", "evaluation_truth"},
		columns: []string{"evaluation_id", "expected_score"},
		refs:    map[int]table{0: tEvaluations}},
}

// truthDDL creates the ground-truth schema. It is never part of the production migrations: a
// real platform's database has no bdc_demo.
const truthDDL = `
create schema if not exists bdc_demo;
comment on schema bdc_demo is 'Ground truth of the BDC Analytics demo generator: read by tests and benchmarks only.';
create table if not exists bdc_demo.seed_info (
    seed              numeric not null,
    users             integer not null,
    days              integer not null,
    end_at            timestamptz not null,
    generator_version integer not null,
    loaded_at         timestamptz not null default now()
);
alter table bdc_demo.seed_info add column if not exists session_depth double precision not null default 2;
create table if not exists bdc_demo.appointment_truth (
    appointment_id     bigint primary key,
    noshow_probability double precision not null,
    cancel_probability double precision not null
);
create table if not exists bdc_demo.beneficiary_truth (
    beneficiary_id    bigint primary key,
    engagement        double precision not null,
    churn_probability double precision not null,
    converts          boolean not null
);
create table if not exists bdc_demo.evaluation_truth (
    evaluation_id  bigint primary key,
    expected_score double precision not null
);
`

// GeneratorVersion changes whenever the same Config would generate different rows.
const GeneratorVersion = 2

// block is the rows of one unit of generation (a range of staff or of beneficiaries).
type block struct {
	rows [numTables][][]any
}

// add appends a row and returns its block-local index; for tables with local ids, that index
// also replaces the row's id column.
func (b *block) add(t table, row ...any) int64 {
	idx := int64(len(b.rows[t]))
	if tableSpecs[t].localID {
		row[0] = idx
	}
	b.rows[t] = append(b.rows[t], row)
	return idx
}
