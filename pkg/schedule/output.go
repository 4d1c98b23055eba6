package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bdc-analytics/bdc/pkg/export"
)

// ManifestName is the file listing a date folder's runs and files.
const ManifestName = "manifest.json"

// Folder is where a job's files of the firing at `at` go, relative to the output folder:
// <job>/<date>, the date being the firing's in the job's time zone.
func Folder(j *Job, at time.Time) string {
	return filepath.Join(j.Name, at.In(j.loc).Format(time.DateOnly))
}

// Manifest lists what a job wrote into one date folder, one entry per run.
type Manifest struct {
	Job      string          `json:"job"`
	Date     string          `json:"date"`
	TimeZone string          `json:"timezone"`
	Runs     []ManifestEntry `json:"runs"`
}

// ManifestEntry is one run's files.
type ManifestEntry struct {
	RunID       int64             `json:"run_id"`
	ScheduledAt time.Time         `json:"scheduled_at"`
	Trigger     string            `json:"trigger"`
	Attempt     int               `json:"attempt"`
	FinishedAt  time.Time         `json:"finished_at"`
	Rows        int64             `json:"rows"`
	Summary     string            `json:"summary,omitempty"`
	Files       []export.FileInfo `json:"files"`
}

// ReadManifest reads a date folder's manifest; a missing one is empty.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return &Manifest{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read the manifest: %w", err)
	}
	m := &Manifest{}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("couldn't read the manifest %s: %w", filepath.Join(dir, ManifestName), err)
	}
	return m, nil
}

// stageManifest writes the folder's manifest with entry added (replacing an entry of the same
// firing, as a run picked up after a crash does) into the staging, to be published with the
// run's files. The caller holds the job's lock, so runs of the job do not lose each other's
// entries.
func stageManifest(st *export.Staging, j *Job, at time.Time, entry ManifestEntry) error {
	m, err := ReadManifest(st.Dir())
	if err != nil {
		// A damaged manifest is rebuilt from this run on: the files themselves are intact and
		// each has its sidecar.
		m = &Manifest{}
	}
	m.Job, m.Date, m.TimeZone = j.Name, at.In(j.loc).Format(time.DateOnly), j.loc.String()
	m.Runs = slices.DeleteFunc(m.Runs, func(e ManifestEntry) bool { return e.ScheduledAt.Equal(entry.ScheduledAt) })
	m.Runs = append(m.Runs, entry)
	slices.SortFunc(m.Runs, func(a, b ManifestEntry) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	f, err := st.Create(ManifestName)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return err
	}
	return f.Close()
}

// prune removes the job's date folders older than its retention before `at`, and returns how many
// it removed. Folders whose name is not a date are left alone.
func prune(outputDir string, j *Job, at time.Time) (int, error) {
	if j.keep <= 0 {
		return 0, nil
	}
	cutoff := at.In(j.loc).Add(-j.keep).Format(time.DateOnly)
	jobDir := filepath.Join(outputDir, j.Name)
	entries, err := os.ReadDir(jobDir)
	if err != nil {
		return 0, fmt.Errorf("couldn't list %s for pruning: %w", jobDir, err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := time.Parse(time.DateOnly, e.Name()); err != nil || e.Name() >= cutoff {
			continue
		}
		if err := os.RemoveAll(filepath.Join(jobDir, e.Name())); err != nil {
			return n, fmt.Errorf("couldn't prune %s: %w", filepath.Join(jobDir, e.Name()), err)
		}
		n++
	}
	return n, nil
}
