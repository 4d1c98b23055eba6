// Package bench holds the suite's side-by-side benchmarks. They run with `make bench`, never as
// tests, at the scale given by the environment (documented in the README's Performance section).
package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// benchUsers is the seeding scale: BDC_BENCH_USERS, 100,000 by default.
func benchUsers(b testing.TB) int {
	if v := os.Getenv("BDC_BENCH_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("BDC_BENCH_USERS: %v", err)
		}
		return n
	}
	return 100_000
}

// BenchmarkSeed compares the generator (draw the platform, COPY it in one transaction, rebuild
// indexes and foreign keys) with the peer a user would otherwise reach for: restoring the same
// rows from CSV files with psql's \copy into the migrated schema. It reports rows per second and
// the Go heap's peak during generation.
func BenchmarkSeed(b *testing.B) {
	cfg := demo.Config{Users: benchUsers(b), Days: 730, Seed: 1, End: time.Date(2026, 11, 1, 0, 0, 0, 0, demo.Location)}
	dump := b.TempDir()
	var (
		rows                   int64
		oursRate, peerRate, mb float64
	)
	b.Run(fmt.Sprintf("generator-copy/users=%d", cfg.Users), func(b *testing.B) {
		for range b.N {
			d, err := testdb.Create(context.Background(), "benchseed", demo.Config{})
			if err != nil {
				b.Fatal(err)
			}
			var peak uint64
			stop := watchHeap(&peak)
			b.ResetTimer()
			stats, err := demo.Seed(context.Background(), d.DB, cfg, nil)
			b.StopTimer()
			stop()
			if err != nil {
				b.Fatal(err)
			}
			rows = stats.Total()
			oursRate, mb = float64(rows)/stats.Duration.Seconds(), float64(peak)/(1<<20)
			b.ReportMetric(oursRate, "rows/s")
			b.ReportMetric(float64(rows), "rows")
			b.ReportMetric(mb, "peak-heap-MiB")
			if err := dumpCSV(d, dump); err != nil {
				b.Fatal(err)
			}
			_ = d.Drop(context.Background())
		}
	})
	b.Run(fmt.Sprintf("psql-copy-csv/users=%d", cfg.Users), func(b *testing.B) {
		for range b.N {
			d, err := testdb.Create(context.Background(), "benchrestore", demo.Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			begin := time.Now()
			if err := restoreCSV(d, dump); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(begin)
			b.StopTimer()
			peerRate = float64(rows) / elapsed.Seconds()
			b.ReportMetric(peerRate, "rows/s")
			b.ReportMetric(float64(rows), "rows")
			_ = d.Drop(context.Background())
		}
	})
	scale := fmt.Sprintf("users=%d rows=%d", cfg.Users, rows)
	record(b, Result{Area: "Seeding", Case: "load the platform into the migrated schema", Scale: scale, Metric: "throughput", Unit: "rows/s",
		Ours: oursRate, OursName: "generator + COPY", Peer: peerRate, PeerName: `psql \copy from CSV`})
	record(b, Result{Area: "Seeding", Case: "load the platform into the migrated schema", Scale: scale, Metric: "Go peak heap", Unit: "MiB",
		Ours: mb, OursName: "generator + COPY", LowerIsBetter: true})
}

// tables in foreign-key order.
var tables = []string{
	"bdc.users", "bdc.beneficiaries", "bdc.appointments", "bdc.evaluations", "bdc.user_activities",
	"bdc.trainer_availability", "bdc.payments", "bdc.feedback", "bdc.support_tickets",
}

func dumpCSV(d *testdb.Database, dir string) error {
	for _, t := range tables {
		f, err := os.Create(filepath.Join(dir, t+".csv"))
		if err != nil {
			return err
		}
		conn, err := d.DB.Pool.Acquire(context.Background())
		if err != nil {
			return err
		}
		_, err = conn.Conn().PgConn().CopyTo(context.Background(), f, "copy "+t+" to stdout with (format csv)")
		conn.Release()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// restoreCSV loads the dump in one psql session and one transaction, as a restore script would.
func restoreCSV(d *testdb.Database, dir string) error {
	script := "begin;\n"
	for _, t := range tables {
		script += fmt.Sprintf("\\copy %s from '%s' with (format csv)\n", t, filepath.Join(dir, t+".csv"))
	}
	script += "commit;\nanalyze;\n"
	cmd := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", d.URL)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql restore: %w\n%s", err, out)
	}
	return nil
}

// watchHeap samples the Go heap until stopped and keeps its peak.
func watchHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
