package main

// These tests run the built bdc-exporter binary as a user would, against the local PostgreSQL
// (isolated databases) or a throwaway cluster of its own.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bdc-exporter-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "bdc-exporter")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building bdc-exporter: %v\n%s", err, out)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	testdb.Main(m)
}

// run runs the binary with a bound on its run time (the "exits within 10 seconds").
func run(t *testing.T, limit time.Duration, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("bdc-exporter %v did not exit within %v:\n%s", args, limit, out)
	}
	return string(out), err
}

func TestBadInputExitsWithAClearMessage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"zero users", []string{"seed", "--users", "0", "--database.url", "postgres://postgres@127.0.0.1:5432/postgres"}, []string{"users must be between 100 and 1000000, got 0"}},
		{"unknown flag", []string{"seed", "--no-such-flag"}, []string{"unknown long flag '--no-such-flag'"}},
		{"unreachable database", []string{"seed", "--database.url", "postgres://postgres:hunter2@127.0.0.1:1/bdc"}, []string{"couldn't reach PostgreSQL at 127.0.0.1:1"}},
		{"unresolvable host", []string{"migrate", "--database.url", "postgres://postgres@no-such-host.invalid:6543/bdc"}, []string{"no-such-host.invalid:6543"}},
		{"no database", []string{"serve"}, []string{"no database given: set --database.url or DATABASE_URL"}},
		{"bad end date", []string{"seed", "--end", "26/11/2026", "--database.url", "postgres://postgres@127.0.0.1:5432/postgres"}, []string{"--end: want a date like"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, 10*time.Second, []string{"DATABASE_URL="}, c.args...)
			if err == nil {
				t.Fatalf("exit 0, want non-zero:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("output leaks the password:\n%s", out)
			}
		})
	}
}

func TestSeedIsDeterministic(t *testing.T) {
	var sums [2]map[string]string
	for i := range sums {
		d, err := testdb.Create(t.Context(), "seeddet", demo.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Drop(context.Background()) })
		out, err := run(t, 5*time.Minute, nil, "seed", "--database.url", d.URL, "--users", "2000", "--days", "365", "--seed", "7", "--end", "2026-09-01")
		if err != nil {
			t.Fatalf("seed: %v\n%s", err, out)
		}
		sums[i] = checksums(t, d)
	}
	if len(sums[0]) != 12 {
		t.Fatalf("checksummed %d tables, want the 9 canonical and 3 ground-truth tables: %v", len(sums[0]), sums[0])
	}
	for table, sum := range sums[0] {
		if sums[1][table] != sum {
			t.Errorf("%s differs between two seeds with the same seed and scale", table)
		}
	}
	// A different seed gives a different platform.
	d, err := testdb.Create(t.Context(), "seeddet", demo.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.Background()) })
	if out, err := run(t, 5*time.Minute, nil, "seed", "--database.url", d.URL, "--users", "2000", "--days", "365", "--seed", "8", "--end", "2026-09-01"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	if other := checksums(t, d); other["bdc.user_activities"] == sums[0]["bdc.user_activities"] {
		t.Error("seeds 7 and 8 gave identical activity")
	}
	// Seeding again refuses the non-empty tables and changes nothing.
	out, err := run(t, time.Minute, nil, "seed", "--database.url", d.URL, "--users", "2000", "--days", "365", "--seed", "7")
	if err == nil || !strings.Contains(out, "already hold rows") {
		t.Errorf("second seed: err %v, want a refusal:\n%s", err, out)
	}
}

// checksums returns an md5 of every row of every generated table, in a fixed order.
func checksums(t *testing.T, d *testdb.Database) map[string]string {
	t.Helper()
	rows, err := d.DB.Pool.Query(t.Context(), `select table_schema || '.' || table_name from information_schema.tables
		where table_schema in ('bdc', 'bdc_demo') and table_name <> 'seed_info' order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, table := range tables {
		var sum string
		q := fmt.Sprintf("select md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) from %s t", table)
		if err := d.DB.Pool.QueryRow(t.Context(), q).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		sums[table] = sum
	}
	return sums
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestDemoWithThrowawayCluster runs `demo` where no server answers at the local URL: it must
// start its own cluster, seed it, serve metrics, and remove the cluster on Ctrl-C.
func TestDemoWithThrowawayCluster(t *testing.T) {
	tmp, err := os.MkdirTemp("", "bdc-demo-test")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	// The postgres OS user runs the cluster when tests run as root: it must be able to enter.
	if err := os.Chmod(tmp, 0o755); err != nil { //nolint:gosec // a test folder the postgres user must enter
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.CommandContext(t.Context(), binary, "demo", "--web.listen-address", addr,
		"--demo.local-url", "postgres://postgres@127.0.0.1:1/postgres", "--users", "300", "--days", "60")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "DATABASE_URL=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		logs <- b.String()
	}()

	metrics := waitFor(t, "http://"+addr+"/metrics", "bdc_exporter_database_up 1", 3*time.Minute)
	for _, want := range []string{"bdc_exporter_build_info{", "bdc_exporter_database_up 1", "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) == 0 {
		t.Fatal("no throwaway cluster folder under TMPDIR while the demo runs")
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitErr := cmd.Wait()
	out := <-logs
	if waitErr != nil {
		t.Fatalf("demo exited with %v after Ctrl-C:\n%s", waitErr, out)
	}
	for _, want := range []string{"throwaway cluster", "seeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo log lacks %q:\n%s", want, out)
		}
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("throwaway cluster left behind: %v", entries)
	}
}

// TestDemoOnGivenDatabase runs `demo --database.url` on an empty database: it migrates, seeds,
// moves, serves, and on a second start keeps the seed instead of loading it again.
func TestDemoOnGivenDatabase(t *testing.T) {
	d, err := testdb.Create(t.Context(), "demo", demo.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.Background()) })
	for round := range 2 {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		cmd := exec.CommandContext(t.Context(), binary, "demo", "--web.listen-address", addr,
			"--database.url", d.URL, "--users", "300", "--days", "60", "--simulate.sessions-per-minute", "600")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "http://"+addr+"/metrics", "bdc_exporter_database_up 1", 2*time.Minute)
		// Ready once the first refresh of every KPI is done.
		waitFor(t, "http://"+addr+"/-/ready", "Ready", 2*time.Minute)
		_ = cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("round %d: demo exited with %v", round, err)
		}
		var seeds, users int
		if err := d.DB.Pool.QueryRow(t.Context(), "select (select count(*) from bdc_demo.seed_info), (select count(*) from bdc.users)").Scan(&seeds, &users); err != nil {
			t.Fatal(err)
		}
		if seeds != 1 || users != 300 {
			t.Errorf("round %d: %d seeds and %d users, want one seed of 300 users", round, seeds, users)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(good, []byte("metrics:\n  - name: bdc_custom_x\n    type: gauge\n    sql: select 1 as v\n    value: v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("metrics:\n  - name: bdc_custom_x\n    type: gauge\n    sql: select 1 as v\n    value: v\n    interval: 0.5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, 10*time.Second, nil, "--config.file", good, "--config.check"); err != nil || !strings.Contains(out, "1 custom metrics, valid") {
		t.Errorf("check of a good file: %v\n%s", err, out)
	}
	out, err := run(t, 10*time.Second, nil, "--config.file", bad, "--config.check")
	if err == nil || !strings.Contains(out, bad+":6: metrics[0].interval: must be at least 1s") {
		t.Errorf("check of a bad file: %v\n%s", err, out)
	}
	// serve refuses to start on a bad file.
	out, err = run(t, 10*time.Second, nil, "serve", "--config.file", bad, "--database.url", "postgres://postgres@127.0.0.1:5432/postgres", "--web.listen-address", "127.0.0.1:0")
	if err == nil || !strings.Contains(out, "metrics[0].interval") {
		t.Errorf("serve with a bad file: %v\n%s", err, out)
	}
}

// TestReloadOnSIGHUP: the running binary picks up a changed custom metrics file on SIGHUP.
func TestReloadOnSIGHUP(t *testing.T) {
	d := testdb.Get(t)
	cfg := filepath.Join(t.TempDir(), "custom.yml")
	write := func(name string) {
		content := fmt.Sprintf("metrics:\n  - name: %s\n    type: gauge\n    sql: select count(*) as n from bdc.users\n    value: n\n    interval: 1s\n", name)
		if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("bdc_custom_first")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.CommandContext(t.Context(), binary, "serve", "--database.url", d.URL, "--config.file", cfg, "--web.listen-address", addr)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGINT); _ = cmd.Wait() }()
	waitFor(t, "http://"+addr+"/metrics", "bdc_custom_first ", time.Minute)
	write("bdc_custom_second")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	body := waitFor(t, "http://"+addr+"/metrics", "bdc_custom_second ", time.Minute)
	if strings.Contains(body, "bdc_custom_first ") {
		t.Error("the metric removed from the file is still served after SIGHUP")
	}
}

// waitFor polls url until its body contains want, for at most limit.
func waitFor(t *testing.T, url, want string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), want) {
				return string(body)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not serve %q within %v", url, want, limit)
	return ""
}
