package schedule

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// delay is the wait before attempt n+1 after attempt n failed.
func (b Backoff) delay(n int) time.Duration {
	d := float64(b.Initial) * math.Pow(b.Factor, float64(n-1))
	d = math.Min(d, float64(b.Max))
	if b.Jitter != nil {
		d *= 1 + *b.Jitter*(2*rand.Float64()-1) //nolint:gosec // G404: jitter spreads retries, it guards nothing
	}
	return time.Duration(d)
}

// Failure reasons, the reason label of bdc_reporter_job_failures_total.
const (
	ReasonDatabase = "database" // PostgreSQL unreachable or failing
	ReasonOutput   = "output"   // the output folder: not writable, full, missing
	ReasonTimeout  = "timeout"  // the attempt's timeout, or the watchdog
	ReasonJob      = "job"      // anything else the job reported
)

// reason classifies a failure for the metrics.
func reason(err error) string {
	var (
		pgErr   *pgconn.PgError
		connErr *pgconn.ConnectError
		netErr  net.Error
		pathErr *fs.PathError
	)
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EROFS),
		errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EFBIG),
		errors.As(err, &pathErr):
		return ReasonOutput
	case errors.Is(err, store.ErrQueryTimeout), errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, errSessionLost), errors.As(err, &pgErr), errors.As(err, &connErr), errors.As(err, &netErr), pgconn.SafeToRetry(err),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return ReasonDatabase
	}
	return ReasonJob
}
