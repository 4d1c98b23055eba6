package predict

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// DefaultTimeout is the statement timeout of feature and registry queries when Store.Timeout is
// zero: feature extraction over two years of a large platform takes seconds, not minutes.
const DefaultTimeout = 2 * time.Minute

// DefaultTimeZone is the platform's time zone: local hours, weekdays and calendar days of
// features and series are cut in it.
const DefaultTimeZone = "Europe/Paris"

// ErrNoModel is returned when a model has no promoted version in the registry yet.
var ErrNoModel = errors.New("no promoted model version")

// ErrUnknownModel and ErrUnknownSeries are returned for a model or series name this package does
// not know: a caller's mistake, such as a bad query parameter.
var (
	ErrUnknownModel  = errors.New("unknown model")
	ErrUnknownSeries = errors.New("unknown series")
)

// ErrNoRows is returned when a query that a model needs returns no rows, for example training
// before the platform has any completed appointment.
var ErrNoRows = errors.New("no rows")

// Store is the package's access to PostgreSQL: features and series are read from schema bdc in
// read-only transactions; the registry, forecasts and drift live in schema bdc_analytics, which
// only the reporter writes.
type Store struct {
	// DB is the connection pool.
	DB *store.DB
	// Timeout is the statement timeout of each query; 0 means DefaultTimeout.
	Timeout time.Duration
	// TimeZone is the platform's time zone name; "" means DefaultTimeZone.
	TimeZone string

	// tx, when set (InTx), is the transaction every read runs in.
	tx pgx.Tx
}

// InTx returns a copy of s whose reads run in tx, a read-only transaction the caller opened
// and bounds (the exporter's refresh transaction, with its statement timeout); its writes
// fail. Only the caller ends tx.
func (s *Store) InTx(tx pgx.Tx) *Store {
	c := *s
	c.tx = tx
	return &c
}

// NewStore returns a Store on db with the default timeout and time zone.
func NewStore(db *store.DB) *Store { return &Store{DB: db} }

func (s *Store) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func (s *Store) timeZone() string {
	if s.TimeZone != "" {
		return s.TimeZone
	}
	return DefaultTimeZone
}

// readOnly runs fn in a read-only transaction with the store's statement timeout.
func (s *Store) readOnly(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if s.tx != nil {
		return fn(ctx, s.tx)
	}
	return s.DB.ReadOnly(ctx, s.timeout(), fn)
}

// write runs fn in a read-write transaction with the store's statement timeout and commits it.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if s.tx != nil {
		return errors.New("a store bound to a read-only transaction (InTx) cannot write")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	tx, err := s.DB.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
