package schedule_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/schedule"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

func call(t *testing.T, method, url string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func decode(t *testing.T, body []byte, data any) apiResponse {
	t.Helper()
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if data != nil && r.Data != nil {
		if err := json.Unmarshal(r.Data, data); err != nil {
			t.Fatalf("%s: %v", r.Data, err)
		}
	}
	return r
}

// TestAPI drives the HTTP API of a running scheduler: jobs, manual runs, runs, files (with
// attempts to leave the output folder), health, readiness and metrics.
func TestAPI(t *testing.T) {
	d := testdb.Get(t)
	out := t.TempDir()
	yml := exportJob("api") + `
  - name: api_off
    kind: export
    schedule: "0 0 1 1 *"
    enabled: false
    export: [{source: feedback, format: json}]
`
	s, reg := newScheduler(t, d.DB, config(t, d.DB, yml, out), "replica-a")
	handler, err := s.Handler(reg, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scheduler: %v", err)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); !s.Ready(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not become ready")
		}
	}

	t.Run("health", func(t *testing.T) {
		for _, p := range []string{"/-/healthy", "/-/ready"} {
			if code, _, body := call(t, "GET", srv.URL+p); code != 200 {
				t.Errorf("%s: %d %s", p, code, body)
			}
		}
		code, _, body := call(t, "GET", srv.URL+"/")
		if code != 200 || !strings.Contains(string(body), "bdc-reporter") {
			t.Errorf("landing page: %d", code)
		}
	})

	var run schedule.Run
	t.Run("run and wait", func(t *testing.T) {
		code, _, body := call(t, "POST", srv.URL+"/api/v1/jobs/api/run?wait=true")
		if r := decode(t, body, &run); code != 200 || r.Status != "success" || run.Status != schedule.StatusSucceeded || run.Trigger != "manual" {
			t.Fatalf("POST run?wait=true: %d %s", code, body)
		}
		if code, _, body := call(t, "POST", srv.URL+"/api/v1/jobs/nope/run"); code != 404 || decode(t, body, nil).ErrorType != "not_found" {
			t.Errorf("unknown job: %d %s", code, body)
		}
		if code, _, _ := call(t, "GET", srv.URL+"/api/v1/jobs/api/run"); code != http.StatusMethodNotAllowed {
			t.Errorf("GET on the run endpoint: %d, want 405", code)
		}
	})

	t.Run("run in the background", func(t *testing.T) {
		code, _, body := call(t, "POST", srv.URL+"/api/v1/jobs/api_off/run")
		if code != http.StatusAccepted {
			t.Fatalf("POST run: %d %s", code, body)
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			var runs []schedule.Run
			_, _, body := call(t, "GET", srv.URL+"/api/v1/runs?job=api_off&status=succeeded")
			decode(t, body, &runs)
			if len(runs) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the manual run of a disabled job did not succeed: %s", body)
			}
		}
	})

	t.Run("jobs", func(t *testing.T) {
		var jobs []schedule.JobInfo
		code, _, body := call(t, "GET", srv.URL+"/api/v1/jobs")
		decode(t, body, &jobs)
		if code != 200 || len(jobs) != 2 {
			t.Fatalf("jobs: %d %s", code, body)
		}
		if j := jobs[0]; j.Name != "api" || !j.Enabled || j.NextRun == nil || j.LastRun == nil || j.LastStatus != "succeeded" || j.TimeZone != "Europe/Paris" {
			t.Errorf("job api: %+v", j)
		}
		if j := jobs[1]; j.Name != "api_off" || j.Enabled || j.NextRun != nil {
			t.Errorf("disabled job: %+v", j)
		}
	})

	t.Run("runs", func(t *testing.T) {
		var runs []schedule.Run
		code, _, body := call(t, "GET", srv.URL+"/api/v1/runs?job=api&limit=5")
		decode(t, body, &runs)
		if code != 200 || len(runs) != 1 || runs[0].ID != run.ID {
			t.Errorf("runs: %d %s", code, body)
		}
		for _, bad := range []string{"?limit=0", "?limit=x", "?status=done"} {
			if code, _, body := call(t, "GET", srv.URL+"/api/v1/runs"+bad); code != 400 || decode(t, body, nil).ErrorType != "bad_data" {
				t.Errorf("runs%s: %d %s", bad, code, body)
			}
		}
	})

	t.Run("files", func(t *testing.T) {
		var list []schedule.FileEntry
		code, _, body := call(t, "GET", srv.URL+"/api/v1/files/")
		decode(t, body, &list)
		if code != 200 || len(list) != 2 || list[0].Name != "api" || !list[0].Dir {
			t.Fatalf("root listing: %d %s", code, body)
		}
		folder := "/api/v1/files/" + filepath.ToSlash(run.Folder)
		// A temporary file of a run in progress is neither listed nor served.
		if err := os.WriteFile(filepath.Join(out, run.Folder, ".users_x.csv.tmp-r99-a1"), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, body = call(t, "GET", srv.URL+folder)
		decode(t, body, &list)
		var names []string
		for _, e := range list {
			names = append(names, e.Name)
		}
		if code != 200 || strings.Join(names, " ") != "manifest.json "+run.Files[0].Name+" "+run.Files[1].Name {
			t.Errorf("folder listing: %d %v", code, names)
		}
		code, header, body := call(t, "GET", srv.URL+folder+"/"+run.Files[0].Name)
		disk, _ := os.ReadFile(filepath.Join(out, run.Folder, run.Files[0].Name))
		if code != 200 || string(body) != string(disk) || header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Errorf("file: %d %s, %d bytes", code, header.Get("Content-Type"), len(body))
		}
		if code, _, _ := call(t, "GET", srv.URL+folder+"/.users_x.csv.tmp-r99-a1"); code != 404 {
			t.Errorf("temporary file served: %d", code)
		}
		// Ways out of the output folder.
		if err := os.Symlink("/etc", filepath.Join(out, "evil")); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{
			"/api/v1/files/..%2f..%2f..%2fetc%2fpasswd",
			"/api/v1/files/api/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
			"/api/v1/files/api/../../../../etc/passwd",
			"/api/v1/files/evil/passwd",
			"/api/v1/files//etc/passwd",
			"/api/v1/files/nope",
		} {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL, nil)
			req.URL.Opaque = p // sent as written, not cleaned by the client
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 || strings.Contains(string(body), "root:") {
				t.Errorf("%s: %d %s", p, resp.StatusCode, body)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		code, _, body := call(t, "GET", srv.URL+"/metrics")
		for _, want := range []string{
			`bdc_reporter_job_runs_total{job="api",status="succeeded"} 1`,
			`bdc_reporter_job_failures_total{job="api",reason="database"} 0`,
			`bdc_reporter_job_duration_seconds_count{job="api"} 1`,
			`bdc_reporter_job_last_success_timestamp_seconds{job="api"}`,
			`bdc_reporter_job_next_run_timestamp_seconds{job="api"}`,
			`bdc_reporter_database_up 1`,
		} {
			if code != 200 || !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}
