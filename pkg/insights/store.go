package insights

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// DefaultTimeout is the statement timeout of the rules' queries when Store.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// DefaultTimeZone is the platform's time zone: the calendar days of periods, series and
// "tomorrow" are cut in it.
const DefaultTimeZone = predict.DefaultTimeZone

// Store runs the rules against a database and keeps their insights in bdc_analytics.insights.
type Store struct {
	// DB is the connection pool.
	DB *store.DB
	// Config holds the rules' thresholds; NewStore sets DefaultConfig.
	Config Config
	// Timeout is the statement timeout of each query; 0 means DefaultTimeout.
	Timeout time.Duration
	// TimeZone is the platform's time zone name; "" means DefaultTimeZone.
	TimeZone string
	// Logger receives a line for each rule that cannot run for want of data (a series too
	// short to forecast); nil discards.
	Logger *slog.Logger
}

// NewStore returns a Store on db with the default thresholds, timeout and time zone.
func NewStore(db *store.DB) *Store { return &Store{DB: db, Config: DefaultConfig()} }

func (s *Store) timeout() time.Duration { return cmp.Or(s.Timeout, DefaultTimeout) }

func (s *Store) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Store) location() (*time.Location, error) {
	tz := cmp.Or(s.TimeZone, DefaultTimeZone)
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %w", tz, err)
	}
	return loc, nil
}

// predict returns the models' store with this store's timeout and time zone.
func (s *Store) predict() *predict.Store {
	return &predict.Store{DB: s.DB, Timeout: s.timeout(), TimeZone: cmp.Or(s.TimeZone, DefaultTimeZone)}
}

// Detect runs the enabled rules at the instant at and returns their insights, most urgent first
// (then by category and rule). It writes nothing.
func (s *Store) Detect(ctx context.Context, at time.Time) ([]Insight, error) {
	if at.IsZero() {
		return nil, errors.New("detect insights: no instant given")
	}
	at = at.Truncate(time.Microsecond) // what PostgreSQL keeps of it
	if err := s.Config.Validate(); err != nil {
		return nil, fmt.Errorf("detect insights: %w", err)
	}
	loc, err := s.location()
	if err != nil {
		return nil, err
	}
	var out []Insight
	rules := []struct {
		enabled bool
		run     func(context.Context, time.Time, *time.Location) ([]Insight, error)
	}{
		{s.Config.Trend.Enabled, s.trends},
		{s.Config.Anomaly.Enabled, s.anomalies},
		{s.Config.Risk.Enabled, s.risks},
	}
	for _, r := range rules {
		if !r.enabled {
			continue
		}
		found, err := r.run(ctx, at, loc)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	for i := range out {
		out[i].DetectedAt = at
		if out[i].Evidence, err = normalize(out[i].Evidence); err != nil {
			return nil, fmt.Errorf("insight %s: %w", out[i].Rule, err)
		}
	}
	sortInsights(out)
	return out, nil
}

// sortInsights orders insights most urgent first, then by category and rule.
func sortInsights(in []Insight) {
	slices.SortStableFunc(in, func(a, b Insight) int {
		return cmp.Or(cmp.Compare(slices.Index(Priorities, a.Priority), slices.Index(Priorities, b.Priority)),
			cmp.Compare(slices.Index(Categories, a.Category), slices.Index(Categories, b.Category)),
			cmp.Compare(a.Rule, b.Rule))
	})
}

// normalize turns evidence into what it reads back as from JSON (numbers float64, lists []any),
// so that Detect, Generate and List return the same values; NaN and infinities become null.
func normalize(ev map[string]any) (map[string]any, error) {
	data, err := json.Marshal(finite(ev))
	if err != nil {
		return nil, fmt.Errorf("couldn't encode evidence: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("couldn't decode evidence: %w", err)
	}
	return out, nil
}

// finite replaces the NaN and infinite floats of v, which JSON cannot hold, with nil.
func finite(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = finite(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = finite(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = finite(e)
		}
		return out
	case []float64:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = finite(e)
		}
		return out
	}
	return v
}

// Generate detects the insights at the instant at and saves them, replacing those saved
// earlier for the same instant (a retried firing gives one set, not two; a rule that no longer
// fires loses its insight). An insight that was saved before for the same instant and rule keeps
// its id. It returns the saved insights with their ids.
func (s *Store) Generate(ctx context.Context, at time.Time) ([]Insight, error) {
	found, err := s.Detect(ctx, at)
	if err != nil {
		return nil, err
	}
	if err := s.save(ctx, at, found); err != nil {
		return nil, err
	}
	return found, nil
}

// saveLock serialises the saves of one instant between processes (with the instant's seconds).
const saveLock = 0x62_64_63_69 // "bdci"

func (s *Store) save(ctx context.Context, at time.Time, found []Insight) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	tx, err := s.DB.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("couldn't save insights: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock($1, $2)", int32(saveLock), int32(at.Unix())); err != nil {
		return fmt.Errorf("couldn't lock the insights of %s: %w", at.Format(time.RFC3339), err)
	}
	rules := make([]string, len(found))
	for i, in := range found {
		rules[i] = in.Rule
	}
	if _, err := tx.Exec(ctx, `delete from bdc_analytics.insights where detected_at = $1 and not (rule = any($2))`, at, rules); err != nil {
		return fmt.Errorf("couldn't replace the insights of %s: %w", at.Format(time.RFC3339), err)
	}
	for i := range found {
		in := &found[i]
		ev, err := json.Marshal(in.Evidence)
		if err != nil {
			return fmt.Errorf("couldn't encode the evidence of %s: %w", in.Rule, err)
		}
		err = tx.QueryRow(ctx, `insert into bdc_analytics.insights
				(detected_at, rule, category, priority, title, detail, evidence, period_from, period_to)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			on conflict (detected_at, rule) do update set category = excluded.category, priority = excluded.priority,
				title = excluded.title, detail = excluded.detail, evidence = excluded.evidence,
				period_from = excluded.period_from, period_to = excluded.period_to
			returning id`,
			at, in.Rule, in.Category, in.Priority, in.Title, in.Detail, ev, in.PeriodFrom, in.PeriodTo).Scan(&in.ID)
		if err != nil {
			return fmt.Errorf("couldn't save insight %s: %w", in.Rule, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("couldn't save insights: %w", err)
	}
	return nil
}

// Check validates list options, filling the default limit; errors wrap ErrBadOptions.
func (o *ListOptions) Check() error {
	switch {
	case o.Category != "" && !slices.Contains(Categories, o.Category):
		return fmt.Errorf("%w: category must be trend, anomaly or risk, got %q", ErrBadOptions, o.Category)
	case o.Priority != "" && !slices.Contains(Priorities, o.Priority):
		return fmt.Errorf("%w: priority must be high, medium or low, got %q", ErrBadOptions, o.Priority)
	case o.Limit < 0 || o.Limit > MaxLimit:
		return fmt.Errorf("%w: limit must be between 1 and %d, got %d", ErrBadOptions, MaxLimit, o.Limit)
	case !o.From.IsZero() && !o.To.IsZero() && o.From.After(o.To):
		return fmt.Errorf("%w: from (%s) is after to (%s)", ErrBadOptions, o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	if o.Limit == 0 {
		o.Limit = DefaultLimit
	}
	return nil
}

// List returns saved insights, newest first (then most urgent first, then by category and
// rule). Bad options return an error wrapping ErrBadOptions.
func (s *Store) List(ctx context.Context, opts ListOptions) ([]Insight, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	var from, to any
	if !opts.From.IsZero() {
		from = opts.From
	}
	if !opts.To.IsZero() {
		to = opts.To
	}
	var out []Insight
	err := s.DB.ReadOnly(ctx, s.timeout(), func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select id, rule, category, priority, title, detail, evidence, period_from, period_to, detected_at
			from bdc_analytics.insights
			where ($1::timestamptz is null or detected_at >= $1) and ($2::timestamptz is null or detected_at <= $2)
			  and ($3 = '' or category = $3) and ($4 = '' or priority = $4)
			order by detected_at desc, array_position(array['high', 'medium', 'low'], priority),
				array_position(array['trend', 'anomaly', 'risk'], category), rule
			limit $5`, from, to, opts.Category, opts.Priority, opts.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var in Insight
			if err := rows.Scan(&in.ID, &in.Rule, &in.Category, &in.Priority, &in.Title, &in.Detail, &in.Evidence,
				&in.PeriodFrom, &in.PeriodTo, &in.DetectedAt); err != nil {
				return err
			}
			out = append(out, in)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't list insights: %w", err)
	}
	return out, nil
}
