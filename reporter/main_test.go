package main

// These tests run the built bdc-reporter binary as an operator would: two replicas on one test
// database, killed with SIGKILL in the middle of a run, checked through their API and files.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bdc-reporter-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "bdc-reporter")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building bdc-reporter: %v\n%s", err, out)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	testdb.Main(m)
}

// run runs the binary to its end, bounded in time.
func run(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("bdc-reporter %v did not exit:\n%s", args, out)
	}
	return string(out), err
}

func TestConfigCheck(t *testing.T) {
	out, err := run(t, nil, "--config.file", "reporter.yml", "--config.check")
	if err != nil || !strings.Contains(out, "reporter.yml: 8 jobs, valid") {
		t.Errorf("shipped reporter.yml: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("jobs:\n  - name: weekly_reports\n    kind: report\n    schedule: \"0 7 * * 1\"\n    report:\n      template: executive_summry\n      formats: [pdf]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, nil, "--config.file", bad, "--config.check")
	if want := bad + `:6: jobs[0].report.template: unknown template "executive_summry"`; err == nil || !strings.Contains(out, want) {
		t.Errorf("report job: %v\n%s\nwant %s", err, out, want)
	}
}

// TestReportCommand builds a report once from the command line: its files are named after the
// template and the period, and the JSON is the document of that period.
func TestReportCommand(t *testing.T) {
	d := testdb.Get(t)
	dir := t.TempDir()
	out, err := run(t, []string{"DATABASE_URL=" + d.URL}, "report", "--template", "performance", "--format", "json,pdf",
		"--period", "day", "--at", "2026-06-01T07:00:00+02:00", "--out", dir)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	for _, name := range []string{"performance_2026-05-31.json", "performance_2026-05-31.pdf"} {
		if !strings.Contains(out, filepath.Join(dir, name)) {
			t.Errorf("report printed %q, want %s listed", out, name)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "performance_2026-05-31.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Template string `json:"template"`
		Period   struct {
			Label string `json:"label"`
		} `json:"period"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Template != "performance" || doc.Period.Label != "Sunday 31 May 2026" {
		t.Errorf("document %+v: %v", doc, err)
	}
	out, err = run(t, nil, "report", "--template", "weekly", "--out", dir)
	if err == nil || !strings.Contains(out, `unknown template "weekly"`) {
		t.Errorf("unknown template: %v\n%s", err, out)
	}
}

func TestExportCommand(t *testing.T) {
	d := testdb.Get(t)
	dir := t.TempDir()
	out, err := run(t, []string{"DATABASE_URL=" + d.URL}, "export", "--source", "appointments", "--format", "parquet", "--out", dir,
		"--where", "status in (completed, no_show)", "--period", "month", "--at", "2026-06-01T03:00:00+02:00",
		"--derive", "lead_days=days_between(booked_at, scheduled_at)")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	want := []string{"appointments_20260601T010000Z.parquet", "appointments_20260601T010000Z.parquet.meta.json"}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	var md export.Metadata
	data, _ := os.ReadFile(filepath.Join(dir, want[1]))
	if err := json.Unmarshal(data, &md); err != nil {
		t.Fatal(err)
	}
	var n int64
	err = d.DB.Pool.QueryRow(t.Context(), `select count(*) from bdc.appointments where status in ('completed', 'no_show')
		and scheduled_at >= '2026-05-01T00:00:00+02:00' and scheduled_at < '2026-06-01T00:00:00+02:00'`).Scan(&n)
	if err != nil || n == 0 || md.Rows != n || md.Schema[len(md.Schema)-1].Name != "lead_days" {
		t.Errorf("metadata: %d rows (want %d), schema %v", md.Rows, n, md.Schema.Names())
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--source", "clients", "--format", "csv"}, `source: unknown source "clients"`},
		{[]string{"--source", "users", "--format", "csv", "--where", "role ~ admin"}, `--where: predicate "role ~ admin": want an operator`},
		{[]string{"--source", "users", "--format", "csv", "--where", "rol = admin"}, `where[0].column: users has no column "rol"`},
		{[]string{"--source", "users", "--format", "csv", "--pii", "anonymize"}, "pii: anonymize needs the export hash key"},
	} {
		out, err := run(t, []string{"DATABASE_URL=" + d.URL}, append([]string{"export", "--out", t.TempDir()}, c.args...)...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%v: %v\n%s\nwant %q", c.args, err, out, c.want)
		}
	}
}

// replica is a running bdc-reporter daemon.
type replica struct {
	cmd  *exec.Cmd
	addr string
	log  *testtools.SyncBuffer
	done chan error
	// client speaks TLS to a replica whose web config serves it; nil is plain HTTP.
	client *http.Client
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

const (
	apiUser     = "ops"
	apiPassword = "s3cret-for-tests"
)

// webConfig writes an exporter-toolkit web config with basic auth.
func webConfig(t *testing.T) string {
	hash, err := bcrypt.GenerateFromPassword([]byte(apiPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(path, []byte("basic_auth_users:\n  "+apiUser+": "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startReplica starts a daemon and waits until it is ready.
func startReplica(t *testing.T, dbURL, config, web string) *replica {
	t.Helper()
	return startReplicaWith(t, dbURL, config, web, nil)
}

// startReplicaWith starts a daemon whose web config serves TLS, reached with client.
func startReplicaWith(t *testing.T, dbURL, config, web string, client *http.Client) *replica {
	t.Helper()
	r := &replica{addr: freeAddr(t), log: &testtools.SyncBuffer{}, done: make(chan error, 1), client: client}
	r.cmd = exec.Command(binary, "--config.file", config, "--web.listen-address", r.addr, "--web.config.file", web, "--log.level", "debug")
	r.cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			if t.Failed() && os.Getenv("DUMP") != "" {
				_ = r.cmd.Process.Signal(syscall.SIGQUIT)
				time.Sleep(time.Second)
			}
			_ = r.cmd.Process.Kill()
			if err := <-r.done; err == nil {
				t.Logf("replica %d exited before it was killed", r.cmd.Process.Pid)
			}
		}
		if t.Failed() {
			t.Logf("replica %d log:\n%s", r.cmd.Process.Pid, r.log.String())
		}
	})
	waitFor(t, time.Minute, "replica ready", func() bool { code, _ := r.get(t, "/-/ready"); return code == 200 })
	return r
}

func (r *replica) get(t *testing.T, path string) (int, string) {
	return r.request(t, path, apiUser, apiPassword)
}

// request GETs path with the given credentials (none when user is empty).
func (r *replica) request(t *testing.T, path, user, password string) (int, string) {
	scheme, client := "http://", http.DefaultClient
	if r.client != nil {
		scheme, client = "https://", r.client
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", scheme+r.addr+path, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// stop ends the replica with SIGTERM and checks that it exits cleanly.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("replica %d exited with %v", r.cmd.Process.Pid, err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("replica %d did not stop", r.cmd.Process.Pid)
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// writeConfig writes a reporter.yml with one export job firing every few seconds.
func writeConfig(t *testing.T, out, job, every, exports string) string {
	t.Helper()
	return writeJobConfig(t, out, job, every, "    kind: export\n    export:\n"+exports)
}

// writeJobConfig writes a reporter.yml with one job firing every few seconds; body is the job's
// kind and its block.
func writeJobConfig(t *testing.T, out, job, every, body string) string {
	t.Helper()
	yml := fmt.Sprintf(`output_dir: %s
watchdog: {interval: 300ms, grace: 30s}
jobs:
  - name: %s
    schedule: "*/%s * * * * *"
    timeout: 1m
    retries: 2
    backoff: {initial: 100ms, max: 1s}
%s`, out, job, every, body)
	path := filepath.Join(t.TempDir(), "reporter.yml")
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type runRow struct {
	id      int64
	at      time.Time
	status  string
	attempt int
	owner   string
	folder  string
	files   []export.FileInfo
}

func runsOf(t *testing.T, d *testdb.Database, job string) []runRow {
	t.Helper()
	rows, err := d.DB.Pool.Query(t.Context(), `select id, scheduled_at, status, attempt, owner, coalesce(folder, ''), files
		from bdc_analytics.job_runs where job = $1 order by scheduled_at`, job)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []runRow
	for rows.Next() {
		var r runRow
		if err := rows.Scan(&r.id, &r.at, &r.status, &r.attempt, &r.owner, &r.folder, &r.files); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// dataFiles lists every exported data file under out (not sidecars or manifests), and every
// temporary file.
func dataFiles(t *testing.T, out string) (data, tmp []string) {
	t.Helper()
	err := filepath.WalkDir(out, func(p string, e os.DirEntry, err error) error {
		switch {
		case err != nil || e.IsDir():
			return err
		case export.IsStaged(e.Name()):
			tmp = append(tmp, p)
		case strings.HasSuffix(e.Name(), ".csv"):
			data = append(data, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return data, tmp
}

// checkExactlyOnce checks the runs of job against the files under out: the succeeded runs are
// consecutive firings every `every` seconds with no gap, and each has exactly its own files,
// once.
func checkExactlyOnce(t *testing.T, d *testdb.Database, out, job string, every time.Duration, perRun int) []runRow {
	t.Helper()
	var ok []runRow
	for _, r := range runsOf(t, d, job) {
		if r.status == schedule.StatusSucceeded {
			ok = append(ok, r)
		}
	}
	for i := 1; i < len(ok); i++ {
		if gap := ok[i].at.Sub(ok[i-1].at); gap != every {
			t.Errorf("firings %s and %s are %s apart: a firing between them was lost", ok[i-1].at, ok[i].at, gap)
		}
	}
	data, tmp := dataFiles(t, out)
	if len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	if len(data) != perRun*len(ok) {
		t.Errorf("%d data files for %d successful runs, want %d each", len(data), len(ok), perRun)
	}
	for _, r := range ok {
		stamp := r.at.UTC().Format("20060102T150405Z")
		n := 0
		for _, f := range data {
			if strings.Contains(filepath.Base(f), stamp) {
				n++
			}
		}
		if n != perRun {
			t.Errorf("firing %s has %d data files, want %d", r.at, n, perRun)
		}
	}
	return ok
}

// TestTwoReplicasExactlyOnce runs two daemons on one database with a job firing every 2 seconds:
// every firing runs once, on one of them, with one file; their API (behind basic auth) and
// metrics agree.
func TestTwoReplicasExactlyOnce(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	config := writeConfig(t, out, "every2s", "2", "      - {source: users, format: csv, columns: [id, role, created_at]}\n")
	web := webConfig(t)
	a := startReplica(t, d.URL, config, web)
	b := startReplica(t, d.URL, config, web)
	const firings = 8
	waitFor(t, 2*time.Minute, fmt.Sprintf("%d successful runs", firings), func() bool {
		n := 0
		for _, r := range runsOf(t, d, "every2s") {
			if r.status == schedule.StatusSucceeded {
				n++
			}
		}
		return n >= firings
	})
	// The API answers behind basic auth only.
	resp, err := http.Get("http://" + a.addr + "/api/v1/runs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API without credentials: %d, want 401", resp.StatusCode)
	}
	var total float64
	for _, r := range []*replica{a, b} {
		code, body := r.get(t, "/metrics")
		if code != 200 {
			t.Fatalf("metrics: %d", code)
		}
		total += counter(body, `bdc_reporter_job_runs_total{job="every2s",status="succeeded"}`)
	}
	a.stop(t)
	b.stop(t)
	ok := checkExactlyOnce(t, d, out, "every2s", 2*time.Second, 1)
	if len(ok) < firings {
		t.Errorf("%d successful runs, want at least %d", len(ok), firings)
	}
	if total < firings || total > float64(len(ok)) {
		t.Errorf("the replicas' bdc_reporter_job_runs_total add up to %v, for %d runs", total, len(ok))
	}
}

func counter(body, series string) float64 {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// lockTables holds an access exclusive lock on tables (a comma-separated list) in a transaction
// of the test's, so that the jobs reading them wait; unlock releases it, as does the test's end.
func lockTables(t *testing.T, d *testdb.Database, tables string) (unlock func()) {
	t.Helper()
	tx, err := d.DB.Pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	unlock = func() { _ = tx.Rollback(context.Background()) }
	t.Cleanup(unlock)
	if _, err := tx.Exec(t.Context(), "lock table "+tables+" in access exclusive mode"); err != nil {
		t.Fatal(err)
	}
	return unlock
}

// startReplicas starts n daemons on the configuration, by process id.
func startReplicas(t *testing.T, dbURL, config string, n int) map[int]*replica {
	t.Helper()
	web := webConfig(t)
	replicas := map[int]*replica{}
	for range n {
		r := startReplica(t, dbURL, config, web)
		replicas[r.cmd.Process.Pid] = r
	}
	return replicas
}

// killOwner kills (SIGKILL) the replica of a run's owner ("host:pid"), checks it died of it,
// and returns the replica left (of two) and when the kill was sent.
func killOwner(t *testing.T, replicas map[int]*replica, owner string) (*replica, time.Time) {
	t.Helper()
	_, pidText, _ := strings.Cut(owner, ":")
	pid, _ := strconv.Atoi(pidText)
	victim := replicas[pid]
	if victim == nil {
		t.Fatalf("the run's owner %q is not one of the replicas", owner)
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := <-victim.done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the victim exited with %v, not killed", err)
	}
	delete(replicas, pid)
	var survivor *replica
	for _, r := range replicas {
		survivor = r
	}
	return survivor, killed
}

// TestKilledReplicaRunIsPickedUp kills (SIGKILL) the replica running a firing in the middle of
// it, after its first export is staged and while its second waits on a table lock the test
// holds: no partial file appears, and the other replica completes the firing once.
func TestKilledReplicaRunIsPickedUp(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	config := writeConfig(t, out, "killed", "3", `      - {source: users, format: csv, columns: [id, role, created_at]}
      - {source: feedback, format: csv}
`)
	unlock := lockTables(t, d, "bdc.feedback")
	replicas := startReplicas(t, d.URL, config, 2)

	// The first firing: running, its users file staged, its feedback export blocked.
	var first runRow
	waitFor(t, time.Minute, "a firing blocked in the middle", func() bool {
		runs := runsOf(t, d, "killed")
		if len(runs) == 0 {
			return false
		}
		first = runs[0]
		_, tmp := dataFiles(t, out)
		return slices.ContainsFunc(tmp, func(p string) bool {
			return strings.HasPrefix(filepath.Base(p), ".users_"+first.at.UTC().Format("20060102T150405Z")+".") &&
				strings.HasSuffix(p, ".tmp-r"+strconv.FormatInt(first.id, 10)+"-a1")
		})
	})
	survivor, killed := killOwner(t, replicas, first.owner)
	if data, _ := dataFiles(t, out); len(data) != 0 {
		t.Errorf("files published while every firing was blocked: %v", data)
	}

	// The survivor takes the firing over, still blocked; then the lock goes.
	waitFor(t, time.Minute, "the survivor to take the firing over", func() bool {
		r := runsOf(t, d, "killed")[0]
		return r.attempt == 2 && strings.HasSuffix(r.owner, ":"+strconv.Itoa(survivor.cmd.Process.Pid))
	})
	takenOver := time.Since(killed)
	unlock()
	waitFor(t, 2*time.Minute, "the firing to complete and two more after it", func() bool {
		runs := runsOf(t, d, "killed")
		n := 0
		for _, r := range runs {
			if r.status == schedule.StatusSucceeded && r.at.After(first.at) {
				n++
			}
		}
		return runs[0].status == schedule.StatusSucceeded && n >= 2
	})
	code, body := survivor.get(t, "/metrics")
	if code != 200 || counter(body, `bdc_reporter_job_takeovers_total{job="killed"}`) < 1 {
		t.Errorf("the survivor's metrics do not count the takeover")
	}
	survivor.stop(t)

	ok := checkExactlyOnce(t, d, out, "killed", 3*time.Second, 2)
	if len(ok) == 0 || !ok[0].at.Equal(first.at) || ok[0].attempt != 2 {
		t.Fatalf("the killed firing: %+v", ok[:min(1, len(ok))])
	}
	m, err := schedule.ReadManifest(filepath.Join(out, ok[0].folder))
	if err != nil {
		t.Fatal(err)
	}
	entries := 0
	for _, e := range m.Runs {
		if e.ScheduledAt.Equal(first.at) {
			entries++
		}
	}
	if entries != 1 {
		t.Errorf("the manifest lists the killed firing %d times", entries)
	}
	testtools.RecordCheck(t, results.Check{Area: "Reliability",
		Case:    "reporter: the replica running a firing killed (SIGKILL) in the middle of it, one export staged",
		Sees:    `the firing stays "running" until its claim expires; the other replica takes it over (bdc_reporter_job_takeovers_total 1)`,
		Outcome: "no partial or temporary file published; the firing completed once, by the survivor, listed once in the manifest (resumed: from the kill to the takeover)",
		Resumed: takenOver.Seconds()})
}

// TestTLSFromWebConfig serves the reporter's API over TLS with basic auth from an
// exporter-toolkit web config: a client trusting the certificate, with the password, reads the
// runs; without the password it gets 401; a client that does not trust the certificate, or
// speaks plain HTTP, is not served.
func TestTLSFromWebConfig(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	config := writeConfig(t, out, "tls", "59", "      - {source: users, format: csv, columns: [id, role, created_at]}\n")
	web, roots := testtools.TLSWebConfig(t, apiUser, apiPassword)
	r := startReplicaWith(t, d.URL, config, web, &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}})
	if code, body := r.get(t, "/api/v1/runs"); code != http.StatusOK {
		t.Errorf("over TLS with the password: %d %s", code, body)
	}
	if code, _ := r.request(t, "/api/v1/runs", "", ""); code != http.StatusUnauthorized {
		t.Errorf("over TLS without the password: %d, want 401", code)
	}
	if code, _ := r.request(t, "/api/v1/runs", apiUser, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("over TLS with a wrong password: %d, want 401", code)
	}
	if resp, err := http.Get("https://" + r.addr + "/api/v1/runs"); err == nil {
		resp.Body.Close()
		t.Error("a client that does not trust the certificate was served")
	}
	if resp, err := http.Get("http://" + r.addr + "/api/v1/runs"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served on the TLS port")
		}
		resp.Body.Close()
	}
	r.stop(t)
	testtools.RecordCheck(t, results.Check{Area: "Security", Case: "reporter listener: TLS and basic auth from an exporter-toolkit web config",
		Sees:    "a client trusting the certificate, with the password, reads /api/v1/runs; without or with a wrong password, 401; a client not trusting it, or plain HTTP, is refused",
		Outcome: "the daemon runs and stops cleanly behind it"})
}

// TestKilledMidReport kills (SIGKILL) the replica building a report in the middle of it, while
// the report's queries wait on table locks the test holds: nothing of the report appears,
// the other replica takes the firing over, and once the lock goes it publishes the report's
// files once, complete (the JSON document parses, the PDF reads back with pdftotext).
func TestKilledMidReport(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	config := writeJobConfig(t, out, "report", "5", `    kind: report
    report: {template: user_behavior, formats: [pdf, json], from: "2026-05-01", to: "2026-06-01"}
`)
	unlock := lockTables(t, d, "bdc.beneficiaries, bdc.user_activities, bdc.appointments")
	replicas := startReplicas(t, d.URL, config, 2)

	// The first firing: running, and its report's queries blocked on the locks.
	var first runRow
	waitFor(t, time.Minute, "a report blocked in the middle", func() bool {
		runs := runsOf(t, d, "report")
		if len(runs) == 0 || runs[0].status != schedule.StatusRunning {
			return false
		}
		first = runs[0]
		var waiting int
		if err := d.DB.Pool.QueryRow(t.Context(), `select count(*) from pg_stat_activity
			where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		return waiting > 0
	})
	survivor, killed := killOwner(t, replicas, first.owner)
	waitFor(t, time.Minute, "the survivor to take the report over", func() bool {
		r := runsOf(t, d, "report")[0]
		return r.attempt == 2 && strings.HasSuffix(r.owner, ":"+strconv.Itoa(survivor.cmd.Process.Pid))
	})
	takenOver := time.Since(killed)
	if files := reportFiles(t, out); len(files) != 0 {
		t.Errorf("report files published while the report was blocked: %v", files)
	}
	unlock()
	waitFor(t, 2*time.Minute, "the killed firing to complete", func() bool {
		return runsOf(t, d, "report")[0].status == schedule.StatusSucceeded
	})
	survivor.stop(t)

	done := runsOf(t, d, "report")[0]
	if !done.at.Equal(first.at) || done.attempt != 2 {
		t.Fatalf("the killed firing: %+v", done)
	}
	var pdf, js []string
	for _, f := range reportFiles(t, filepath.Join(out, done.folder)) {
		switch filepath.Ext(f) {
		case ".pdf":
			pdf = append(pdf, f)
		case ".json":
			js = append(js, f)
		}
	}
	if len(pdf) != 1 || len(js) != 1 {
		t.Fatalf("the killed firing's folder holds %v and %v, want one PDF and one JSON", pdf, js)
	}
	raw, err := os.ReadFile(js[0])
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Template != "user_behavior" {
		t.Errorf("the report's JSON: %v, template %q", err, doc.Template)
	}
	text, err := exec.Command(testtools.Path(t, "pdftotext"), pdf[0], "-").Output()
	if err != nil || !strings.Contains(string(text), "May 2026") {
		t.Errorf("pdftotext %s: %v\n%.500s", pdf[0], err, text)
	}
	if _, tmp := dataFiles(t, out); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	testtools.RecordCheck(t, results.Check{Area: "Reliability",
		Case:    "reporter: the replica building a report (PDF and JSON) killed (SIGKILL) in the middle of it",
		Sees:    `the firing stays "running" until its claim expires; the other replica takes it over (attempt 2)`,
		Outcome: "no report file published before it completed; then one PDF (read back by pdftotext) and one JSON, no temporary file (resumed: from the kill to the takeover)",
		Resumed: takenOver.Seconds()})
}

// reportFiles lists the report files (PDF, JSON) under dir, the manifests and temporary files
// left out.
func reportFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !export.IsStaged(e.Name()) && e.Name() != "manifest.json" &&
			(strings.HasSuffix(p, ".pdf") || strings.HasSuffix(p, ".json")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestRunCommand runs a job of the configuration once from the command line.
func TestRunCommand(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	config := writeConfig(t, filepath.Join(t.TempDir(), "ignored"), "once", "59", "      - {source: support_tickets, format: xlsx}\n")
	env := []string{"DATABASE_URL=" + d.URL}
	stdout, err := run(t, env, "--config.file", config, "--output.dir", out, "run", "once")
	if err != nil || !strings.Contains(stdout, "of once: succeeded after 1 attempt(s)") {
		t.Fatalf("run once: %v\n%s", err, stdout)
	}
	data, _ := dataFiles(t, out)
	xlsx, _ := filepath.Glob(filepath.Join(out, "once", "*", "support_tickets_*.xlsx"))
	if len(xlsx) != 1 || len(data) != 0 {
		t.Errorf("files: %v", xlsx)
	}
	if stdout, err := run(t, env, "--config.file", config, "--output.dir", out, "run", "twice"); err == nil || !strings.Contains(stdout, `no such job: "twice"`) {
		t.Errorf("unknown job: %v\n%s", err, stdout)
	}
}

// TestTrainJob runs a train job through pkg/predict's train job, for one model and one series
// to stay quick, and reads what it registered. A manual run fires now, so the platform's history
// runs up to today.
func TestTrainJob(t *testing.T) {
	d := testdb.GetScale(t, demo.Config{Users: 600, Days: 200, Seed: 9})
	config := filepath.Join(t.TempDir(), "reporter.yml")
	yml := `jobs:
  - name: retrain
    kind: train
    schedule: "0 3 * * 0"
    retries: 0
    train: {models: [noshow], series: [appointments], force: true}
`
	if err := os.WriteFile(config, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, []string{"DATABASE_URL=" + d.URL}, "--config.file", config, "--output.dir", t.TempDir(), "run", "retrain")
	if err != nil || !strings.Contains(out, "of retrain: succeeded") || !strings.Contains(out, "1 models considered, 1 retrained") {
		t.Fatalf("train job: %v\n%s", err, out)
	}
	var versions, forecasts int
	if err := d.DB.Pool.QueryRow(t.Context(), `select (select count(*) from bdc_analytics.model_versions where model = 'noshow'),
		(select count(*) from bdc_analytics.forecast_runs where series = 'appointments')`).Scan(&versions, &forecasts); err != nil {
		t.Fatal(err)
	}
	if versions != 1 || forecasts != 1 {
		t.Errorf("%d noshow versions and %d appointment forecasts registered, want 1 and 1", versions, forecasts)
	}
	bad := strings.Replace(yml, "models: [noshow]", "models: [noshows]", 1)
	if err := os.WriteFile(config, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, nil, "--config.file", config, "--config.check"); err == nil || !strings.Contains(out, `:6: jobs[0].train.models[0]: unknown models "noshows"`) {
		t.Errorf("unknown model: %v\n%s", err, out)
	}
}
