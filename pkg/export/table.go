package export

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The canonical tables of DESIGN.md §2, with their validity rules. A platform that maps its own
// tables onto schema bdc with views exports them the same way.
var tableSources = []*Source{
	table("users", "One row per user account.", "created_at", []string{"id"},
		col("id", Int, false), pii(col("email", String, false), "an e-mail address", isEmail),
		oneOf(col("role", String, false), "beneficiary", "trainer", "admin"),
		col("created_at", Timestamp, false), col("last_login_at", Timestamp, true), col("is_active", Bool, false)),
	table("beneficiaries", "One row per beneficiary (a user in a programme).", "created_at", []string{"id"},
		col("id", Int, false), col("user_id", Int, false), col("trainer_id", Int, true),
		oneOf(col("status", String, false), "prospect", "active", "completed", "abandoned"),
		col("acquisition_channel", String, false), col("region", String, false),
		rule(col("birth_year", Int, false), "between 1900 and the current year", birthYear),
		col("gender", String, false), col("created_at", Timestamp, false), col("completed_at", Timestamp, true)),
	table("appointments", "One row per appointment.", "scheduled_at", []string{"id"},
		col("id", Int, false), col("beneficiary_id", Int, false), col("trainer_id", Int, false),
		col("booked_at", Timestamp, false), col("scheduled_at", Timestamp, false),
		rule(col("duration_minutes", Int, false), "between 1 and 1440", intBetween(1, 1440)),
		oneOf(col("channel", String, false), "in_person", "video", "phone"),
		col("reminder_sent", Bool, false),
		oneOf(col("status", String, false), "scheduled", "completed", "cancelled", "no_show")).fresh("booked_at"),
	table("evaluations", "One row per evaluation (assessment) started.", "started_at", []string{"id"},
		col("id", Int, false), col("beneficiary_id", Int, false), col("assessment", String, false),
		rule(col("score", Float, true), "at least 0", floatAtLeast(0)),
		rule(col("max_score", Float, false), "greater than 0", floatAbove(0)),
		col("started_at", Timestamp, false), col("completed_at", Timestamp, true)),
	table("user_activities", "One row per activity event.", "occurred_at", []string{"id"},
		col("id", Int, false), col("user_id", Int, false), col("occurred_at", Timestamp, false),
		col("activity_type", String, false), col("feature", String, true), col("session_id", String, true),
		rule(col("duration_ms", Int, true), "at least 0", intBetween(0, 1<<62))),
	table("trainer_availability", "Minutes a trainer is available, per day.", "day", []string{"trainer_id", "day"},
		col("trainer_id", Int, false), col("day", Date, false),
		rule(col("available_minutes", Int, false), "between 0 and 1440", intBetween(0, 1440))),
	table("payments", "One row per payment.", "paid_at", []string{"id"},
		col("id", Int, false), col("beneficiary_id", Int, false), col("amount_cents", Int, false),
		rule(col("currency", String, false), "an ISO 4217 code", isCurrency),
		col("paid_at", Timestamp, false)),
	table("feedback", "One row per satisfaction score given.", "submitted_at", []string{"id"},
		col("id", Int, false), col("user_id", Int, false), col("appointment_id", Int, true),
		rule(col("score", Int, false), "between 1 and 5", intBetween(1, 5)),
		col("submitted_at", Timestamp, false)),
	table("support_tickets", "One row per support ticket.", "opened_at", []string{"id"},
		col("id", Int, false), col("user_id", Int, false), col("category", String, false),
		col("opened_at", Timestamp, false), col("resolved_at", Timestamp, true)),
}

func table(name, doc, timeColumn string, key []string, cols ...SourceColumn) *Source {
	return &Source{Name: name, Kind: KindTable, Doc: doc, Columns: cols, Key: key, TimeColumn: timeColumn, stream: streamTable}
}

// fresh sets the column freshness is measured on.
func (s *Source) fresh(column string) *Source {
	s.FreshColumn = column
	return s
}

func col(name string, t Type, nullable bool) SourceColumn {
	c := SourceColumn{Column: Column{Name: name, Type: t, Nullable: nullable}}
	if t == Timestamp {
		c.Rule, c.valid = "not later than a year after the export", plausibleTime
	}
	return c
}

func pii(c SourceColumn, rule string, valid func(any, time.Time) bool) SourceColumn {
	c.PII = true
	c.Rule, c.valid = rule, valid
	return c
}

func rule(c SourceColumn, rule string, valid func(any, time.Time) bool) SourceColumn {
	c.Rule, c.valid = rule, valid
	return c
}

func oneOf(c SourceColumn, values ...string) SourceColumn {
	c.Rule = "one of " + strings.Join(values, ", ")
	c.valid = func(v any, _ time.Time) bool { s, ok := v.(string); return ok && slices.Contains(values, s) }
	return c
}

var (
	emailRE    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

func isEmail(v any, _ time.Time) bool    { s, ok := v.(string); return ok && emailRE.MatchString(s) }
func isCurrency(v any, _ time.Time) bool { s, ok := v.(string); return ok && currencyRE.MatchString(s) }

func birthYear(v any, at time.Time) bool {
	y, ok := v.(int64)
	return ok && y >= 1900 && y <= int64(at.Year())
}

func intBetween(lo, hi int64) func(any, time.Time) bool {
	return func(v any, _ time.Time) bool { n, ok := v.(int64); return ok && n >= lo && n <= hi }
}

func floatAtLeast(lo float64) func(any, time.Time) bool {
	return func(v any, _ time.Time) bool { f, ok := v.(float64); return ok && f >= lo }
}

func floatAbove(lo float64) func(any, time.Time) bool {
	return func(v any, _ time.Time) bool { f, ok := v.(float64); return ok && f > lo }
}

// plausibleTime refuses instants more than a year after the export: a clock or unit mistake
// (milliseconds stored as seconds) rather than a planned appointment.
func plausibleTime(v any, at time.Time) bool {
	t, ok := v.(time.Time)
	return ok && !t.After(at.AddDate(1, 0, 0))
}

// sqlType is the PostgreSQL type a column is read as and its parameters are bound as, so that
// pgx hands back the Go type the column's Type promises whatever the platform's own types are
// (a view may have integer where the canonical table has bigint).
func sqlType(t Type) string {
	switch t {
	case Int:
		return "bigint"
	case Float:
		return "double precision"
	case Bool:
		return "boolean"
	case Timestamp:
		return "timestamptz"
	case Date:
		return "date"
	}
	return "text"
}

// tableSQL builds the statement that reads sel from the table: column names from the catalogue,
// every value a bound parameter.
func tableSQL(s *Source, sel *selection) (string, []any) {
	var (
		b    strings.Builder
		args []any
	)
	arg := func(v any, t Type) string {
		args = append(args, v)
		return fmt.Sprintf("$%d::%s", len(args), sqlType(t))
	}
	b.WriteString("select ")
	for i, c := range sel.read {
		if i > 0 {
			b.WriteString(", ")
		}
		col := s.Columns[c]
		fmt.Fprintf(&b, "%s::%s", ident(col.Name), sqlType(col.Type))
	}
	fmt.Fprintf(&b, " from bdc.%s", ident(s.Name))
	var conds []string
	if r := sel.rng; r != nil {
		col := s.Columns[r.column]
		name := ident(col.Name)
		if !r.from.IsZero() {
			conds = append(conds, name+" >= "+arg(r.bound(r.from, col.Type), col.Type))
		}
		if !r.to.IsZero() {
			conds = append(conds, name+" < "+arg(r.bound(r.to, col.Type), col.Type))
		}
	}
	for _, p := range sel.where {
		col := s.Columns[p.column]
		name := ident(col.Name)
		switch p.op {
		case OpIsNull:
			conds = append(conds, name+" is null")
		case OpNotNull:
			conds = append(conds, name+" is not null")
		case OpIn:
			args = append(args, p.list)
			conds = append(conds, fmt.Sprintf("%s = any($%d::%s[])", name, len(args), sqlType(col.Type)))
		case OpNotIn:
			args = append(args, p.list)
			conds = append(conds, fmt.Sprintf("%s <> all($%d::%s[])", name, len(args), sqlType(col.Type)))
		case OpLike:
			conds = append(conds, name+" like "+arg(p.value, col.Type))
		default:
			conds = append(conds, name+" "+string(p.op)+" "+arg(p.value, col.Type))
		}
	}
	if len(conds) > 0 {
		b.WriteString(" where " + strings.Join(conds, " and "))
	}
	keys := make([]string, len(s.Key))
	for i, k := range s.Key {
		keys[i] = ident(k)
	}
	b.WriteString(" order by " + strings.Join(keys, ", "))
	if sel.limit > 0 {
		b.WriteString(" limit " + arg(sel.limit, Int))
	}
	return b.String(), args
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// streamTable reads the rows with one statement in a read-only transaction. pgx hands rows over
// as they arrive from the server, so only a buffer's worth is in memory whatever the count.
func streamTable(ctx context.Context, e *env, s *Source, sel *selection, fn func(Row) error) error {
	query, args := tableSQL(s, sel)
	return e.db.ReadOnly(ctx, e.timeout, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("couldn't read bdc.%s: %w", s.Name, err)
		}
		defer rows.Close()
		row := make(Row, len(sel.read))
		dest := make([]any, len(sel.read))
		for i := range row {
			dest[i] = &row[i]
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return fmt.Errorf("couldn't read a row of bdc.%s: %w", s.Name, err)
			}
			for i, c := range sel.read {
				// timestamptz comes in the process's zone; writers apply the export's.
				if s.Columns[c].Type == Date {
					if t, ok := row[i].(time.Time); ok {
						row[i] = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
					}
				}
			}
			if err := fn(row); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("couldn't read bdc.%s: %w", s.Name, err)
		}
		return nil
	})
}
