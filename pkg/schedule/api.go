package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/bdc-analytics/bdc/pkg/export"
)

// Handler serves the reporter's HTTP endpoints: metricsPath (the gatherer's metrics), a landing
// page, /-/healthy, /-/ready, and the API under /api/v1 (jobs, runs, files, insights). API answers use
// Prometheus' envelope: {"status": "success", "data": ...} or {"status": "error", "errorType",
// "error"}.
func (s *Scheduler) Handler(gatherer prometheus.Gatherer, metricsPath string) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle(metricsPath, promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelError)}))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !s.Ready() {
			http.Error(w, "Not ready: the scheduler has not started or PostgreSQL did not answer its last ping", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	mux.HandleFunc("GET /api/v1/jobs", s.handleJobs)
	mux.HandleFunc("POST /api/v1/jobs/{name}/run", s.handleRun)
	mux.HandleFunc("GET /api/v1/runs", s.handleRuns)
	mux.HandleFunc("GET /api/v1/files/{path...}", s.handleFiles)
	mux.HandleFunc("GET /api/v1/insights", s.handleInsights)
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "bdc-reporter",
		Description: "Scheduled exports and reports of BDC Analytics",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: metricsPath, Text: "Metrics"},
			{Address: "/api/v1/jobs", Text: "Jobs"},
			{Address: "/api/v1/runs", Text: "Runs"},
			{Address: "/api/v1/files/", Text: "Files"},
			{Address: "/api/v1/insights", Text: "Insights"},
		},
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /{$}", landing)
	return mux, nil
}

type envelope struct {
	Status    string `json:"status"`
	Data      any    `json:"data,omitempty"`
	ErrorType string `json:"errorType,omitempty"`
	Error     string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v envelope) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func ok(w http.ResponseWriter, code int, data any) {
	writeJSON(w, code, envelope{Status: "success", Data: data})
}

func fail(w http.ResponseWriter, code int, errType string, err error) {
	writeJSON(w, code, envelope{Status: "error", ErrorType: errType, Error: err.Error()})
}

// JobInfo is a job as GET /api/v1/jobs lists it.
type JobInfo struct {
	Name       string     `json:"name"`
	Kind       Kind       `json:"kind"`
	Schedule   string     `json:"schedule"`
	TimeZone   string     `json:"timezone"`
	Enabled    bool       `json:"enabled"`
	Timeout    string     `json:"timeout"`
	Retries    int        `json:"retries"`
	Retention  string     `json:"retention"`
	NextRun    *time.Time `json:"next_run,omitempty"`
	LastRun    *Run       `json:"last_run,omitempty"`
	LastStatus string     `json:"last_status,omitempty"`
}

func (s *Scheduler) handleJobs(w http.ResponseWriter, r *http.Request) {
	latest, err := LatestRuns(r.Context(), s.meta)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "unavailable", err)
		return
	}
	now := s.now()
	jobs := make([]JobInfo, 0, len(s.cfg.Jobs))
	for _, j := range s.cfg.Jobs {
		info := JobInfo{Name: j.Name, Kind: j.Kind, Schedule: j.Schedule, TimeZone: j.loc.String(), Enabled: j.IsEnabled(),
			Timeout: j.Timeout.String(), Retries: j.retries, Retention: durationString(j.keep)}
		if j.IsEnabled() {
			next := j.Next(now)
			info.NextRun = &next
		}
		if run, ok := latest[j.Name]; ok {
			info.LastRun, info.LastStatus = &run, run.Status
		}
		jobs = append(jobs, info)
	}
	ok(w, http.StatusOK, jobs)
}

func durationString(d time.Duration) string {
	if d == 0 {
		return "forever"
	}
	return fmt.Sprint(d)
}

// handleRun starts a manual run: 202 with its firing time, or with ?wait=true 200 and the run
// record once it ended (500 if it failed).
func (s *Scheduler) handleRun(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.cfg.Job(name) == nil {
		fail(w, http.StatusNotFound, "not_found", fmt.Errorf("%w: %q", ErrUnknownJob, name))
		return
	}
	wait, _ := strconv.ParseBool(r.URL.Query().Get("wait"))
	if !wait {
		at, err := s.Trigger(name)
		if err != nil {
			fail(w, http.StatusInternalServerError, "internal", err)
			return
		}
		ok(w, http.StatusAccepted, map[string]any{"job": name, "scheduled_at": at, "trigger": TriggerManual})
		return
	}
	at := s.now().Truncate(time.Second)
	type result struct {
		run *Run
		err error
	}
	done := make(chan result, 1)
	s.wg.Add(1)
	go func() { // the run goes on if the client goes away
		defer s.wg.Done()
		run, err := s.Execute(s.ctx, name, at, TriggerManual)
		done <- result{run, err}
	}()
	select {
	case <-r.Context().Done():
		return
	case res := <-done:
		switch {
		case errors.Is(res.err, ErrBusy), errors.Is(res.err, ErrDone):
			fail(w, http.StatusConflict, "conflict", fmt.Errorf("a run of %s at %s exists: %w", name, at.Format(time.RFC3339), res.err))
		case res.err != nil && res.run == nil:
			fail(w, http.StatusInternalServerError, "execution", res.err)
		case res.err != nil:
			writeJSON(w, http.StatusInternalServerError, envelope{Status: "error", ErrorType: "execution", Error: res.err.Error(), Data: res.run})
		default:
			ok(w, http.StatusOK, res.run)
		}
	}
}

func (s *Scheduler) handleRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := RunFilter{Job: q.Get("job"), Status: q.Get("status")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			fail(w, http.StatusBadRequest, "bad_data", fmt.Errorf("limit must be between 1 and 10000, got %q", l))
			return
		}
		f.Limit = n
	}
	switch f.Status {
	case "", StatusRunning, StatusSucceeded, StatusFailed:
	default:
		fail(w, http.StatusBadRequest, "bad_data", fmt.Errorf("status must be running, succeeded or failed, got %q", f.Status))
		return
	}
	runs, err := ListRuns(r.Context(), s.meta, f)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "unavailable", err)
		return
	}
	if runs == nil {
		runs = []Run{}
	}
	ok(w, http.StatusOK, runs)
}

// FileEntry is an item of a folder listing.
type FileEntry struct {
	Name     string    `json:"name"`
	Dir      bool      `json:"dir"`
	Bytes    int64     `json:"bytes"`
	Modified time.Time `json:"modified"`
}

// handleFiles serves the output folder: a folder as a JSON listing, a file as itself. Paths are
// resolved inside the output folder with os.Root, so neither ".." nor a symbolic link leads out
// of it; temporary files of runs in progress are not served.
func (s *Scheduler) handleFiles(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("path")
	for _, part := range strings.Split(rel, "/") {
		switch {
		case part == "..":
			fail(w, http.StatusBadRequest, "bad_data", errors.New("paths may not contain \"..\""))
			return
		case strings.HasPrefix(part, "."):
			fail(w, http.StatusNotFound, "not_found", fmt.Errorf("no file %q", rel))
			return
		}
	}
	rel = path.Clean("/" + rel)[1:]
	if rel == "" {
		rel = "."
	}
	root, err := os.OpenRoot(s.cfg.OutputDir)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "unavailable", fmt.Errorf("couldn't open the output folder: %w", err))
		return
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			fail(w, http.StatusNotFound, "not_found", fmt.Errorf("no file %q", rel))
			return
		}
		fail(w, http.StatusForbidden, "forbidden", fmt.Errorf("couldn't open %q: %w", rel, unwrapPath(err)))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal", err)
		return
	}
	if !st.IsDir() {
		ctype := "application/octet-stream"
		if format := export.FormatByExt(st.Name()); format != nil {
			ctype = format.MediaType
		}
		if strings.HasSuffix(st.Name(), ".json") {
			ctype = "application/json"
		}
		w.Header().Set("Content-Type", ctype)
		http.ServeContent(w, r, st.Name(), st.ModTime(), f)
		return
	}
	entries, err := f.ReadDir(-1)
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal", err)
		return
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	list := []FileEntry{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		list = append(list, FileEntry{Name: e.Name(), Dir: e.IsDir(), Bytes: info.Size(), Modified: info.ModTime().UTC()})
	}
	ok(w, http.StatusOK, list)
}

// unwrapPath drops the absolute path from an *fs.PathError, which names the server's folders.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
