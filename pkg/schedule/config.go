package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/export"
)

// Defaults of reporter.yml.
const (
	DefaultOutputDir        = "output"
	DefaultTimeZone         = export.DefaultTimeZone
	DefaultTimeout          = 30 * time.Minute
	DefaultRetries          = 2
	DefaultBackoffInitial   = 30 * time.Second
	DefaultBackoffMax       = 10 * time.Minute
	DefaultBackoffFactor    = 2.0
	DefaultBackoffJitter    = 0.2
	DefaultRetention        = 30 * 24 * time.Hour
	DefaultWatchdogInterval = 15 * time.Second
	DefaultWatchdogGrace    = time.Minute
	DefaultConcurrency      = 4
	// MaxConcurrency bounds concurrency: each run holds a database session of its own.
	MaxConcurrency = 64
	// MaxRetries bounds a job's retries.
	MaxRetries = 20
)

// Config is reporter.yml.
type Config struct {
	// OutputDir holds the files, under <job>/<date>/; relative to the file's folder.
	OutputDir string `yaml:"output_dir"`
	// TimeZone is the jobs' default zone: of their cron schedules and of their date folders.
	TimeZone string `yaml:"timezone"`
	// Retention is how long a job's date folders are kept (0: forever); jobs may override it.
	Retention *model.Duration `yaml:"retention"`
	// Defaults are the jobs' default timeout, retries and backoff.
	Defaults Defaults `yaml:"defaults"`
	// Watchdog says how often runs are checked: dead replicas' runs picked up, stuck ones failed.
	Watchdog Watchdog `yaml:"watchdog"`
	// Concurrency bounds the runs one replica does at once (default 4); more firings wait.
	Concurrency int `yaml:"concurrency"`
	// Jobs are the scheduled jobs.
	Jobs []*Job `yaml:"jobs"`

	file string
}

// Defaults are the settings a job takes when it gives none.
type Defaults struct {
	Timeout model.Duration `yaml:"timeout"`
	Retries *int           `yaml:"retries"`
	Backoff Backoff        `yaml:"backoff"`
}

// Watchdog configures the loop that checks the runs of every replica.
type Watchdog struct {
	// Interval between checks (default 15s).
	Interval model.Duration `yaml:"interval"`
	// Grace is added to a run's timeout before the watchdog fails it (default 1m): the replica
	// running it fails it itself first, unless it is stuck or gone.
	Grace model.Duration `yaml:"grace"`
}

// Backoff spaces the retries of a failed attempt: initial × factor^(n-1), at most max, each
// delay moved at random by up to ±jitter of itself so that replicas do not retry in step.
type Backoff struct {
	Initial model.Duration `yaml:"initial"`
	Max     model.Duration `yaml:"max"`
	Factor  float64        `yaml:"factor"`
	Jitter  *float64       `yaml:"jitter"`
}

// Job is a scheduled job.
type Job struct {
	// Name names the job's folder, its metrics' job label and its API path.
	Name string `yaml:"name"`
	// Kind is export, report, train or insights.
	Kind Kind `yaml:"kind"`
	// Schedule is a cron expression: 5 fields (minute hour day-of-month month day-of-week), 6
	// with seconds first, or @hourly, @daily, @weekly, @monthly, @yearly.
	Schedule string `yaml:"schedule"`
	// TimeZone the schedule and the date folders are in; default the file's timezone.
	TimeZone string `yaml:"timezone"`
	// Timeout bounds one attempt.
	Timeout model.Duration `yaml:"timeout"`
	// Retries after a failed attempt.
	Retries *int `yaml:"retries"`
	// Backoff between attempts.
	Backoff *Backoff `yaml:"backoff"`
	// Retention of the job's date folders; 0 keeps them.
	Retention *model.Duration `yaml:"retention"`
	// Enabled false keeps the job out of the schedule; it still runs on request.
	Enabled *bool `yaml:"enabled"`

	// The kind's own block: the key named after the kind.
	Export   yaml.Node `yaml:"export"`
	Train    yaml.Node `yaml:"train"`
	Report   yaml.Node `yaml:"report"`
	Insights yaml.Node `yaml:"insights"`

	loc     *time.Location
	cron    *cronSchedule
	task    Task
	backoff Backoff
	retries int
	keep    time.Duration
}

// Location is the job's time zone.
func (j *Job) Location() *time.Location { return j.loc }

// IsEnabled reports whether the job is on the schedule.
func (j *Job) IsEnabled() bool { return j.Enabled == nil || *j.Enabled }

// MaxAttempts is the attempts a firing gets: the first and the retries.
func (j *Job) MaxAttempts() int { return j.retries + 1 }

// Next is the job's first firing after t.
func (j *Job) Next(t time.Time) time.Time { return j.cron.next(t) }

// ConfigError locates a problem in a configuration file: file, line and field.
type ConfigError struct {
	File   string
	Line   int
	Field  string
	Reason string
}

// Error reads like file.yml:12: jobs[1].schedule: reason.
func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Reason)
}

// jobNameRE keeps job names usable as folder names, label values and URL path segments.
var jobNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// LoadConfig reads and validates reporter.yml; a relative output_dir is taken from the file's
// folder. kinds are the job kinds this build can run.
func LoadConfig(path string, kinds Kinds) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the reporter configuration: %w", err)
	}
	cfg, err := ParseConfig(path, data, kinds)
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(cfg.OutputDir) {
		cfg.OutputDir = filepath.Join(filepath.Dir(path), cfg.OutputDir)
	}
	return cfg, nil
}

// ParseConfig validates the content of reporter.yml, filling defaults; errors are *ConfigError
// naming the file, the line and the field. It does no I/O.
func ParseConfig(file string, data []byte, kinds Kinds) (*Config, error) {
	cfg := &Config{file: file}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&root)
	switch {
	case errors.Is(err, io.EOF):
		return nil, &ConfigError{File: file, Field: "(top level)", Reason: "the file is empty: want output_dir and jobs"}
	case err != nil:
		line, reason := yamlSyntax(err)
		return nil, &ConfigError{File: file, Line: line, Field: "(syntax)", Reason: reason}
	}
	if len(root.Content) == 0 {
		return nil, &ConfigError{File: file, Field: "(top level)", Reason: "the file is empty: want output_dir and jobs"}
	}
	lines := export.Lines{}
	if err := export.DecodeStrict(root.Content[0], "", cfg, lines); err != nil {
		return nil, configErr(file, err)
	}
	if err := cfg.validate(kinds, lines); err != nil {
		return nil, configErr(file, err)
	}
	return cfg, nil
}

// File is the path the configuration was read from.
func (c *Config) File() string { return c.file }

// Job returns the named job, or nil.
func (c *Config) Job(name string) *Job {
	for _, j := range c.Jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

func configErr(file string, err error) error {
	var fe *export.FieldError
	if errors.As(err, &fe) {
		return &ConfigError{File: file, Line: fe.Line, Field: fe.Field, Reason: fe.Reason}
	}
	return fmt.Errorf("%s: %w", file, err)
}

// yamlSyntax splits a yaml.v3 syntax error ("yaml: line 3: reason") into its line and reason.
func yamlSyntax(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var n int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &n); scanErr == nil {
		_, reason, _ := strings.Cut(msg, ": ")
		return n, reason
	}
	return 0, msg
}

func (c *Config) validate(kinds Kinds, lines export.Lines) error {
	if c.OutputDir == "" {
		c.OutputDir = DefaultOutputDir
	}
	if c.TimeZone == "" {
		c.TimeZone = DefaultTimeZone
	}
	if _, err := export.LoadZone(c.TimeZone); err != nil {
		return lines.Errorf("timezone", "%v", err)
	}
	if c.Retention == nil {
		r := model.Duration(DefaultRetention)
		c.Retention = &r
	}
	if *c.Retention < 0 {
		return lines.Errorf("retention", "must be 0 (keep everything) or more")
	}
	d := &c.Defaults
	if d.Timeout == 0 {
		d.Timeout = model.Duration(DefaultTimeout)
	}
	if d.Timeout < 0 {
		return lines.Errorf("defaults.timeout", "must be positive")
	}
	if d.Retries == nil {
		n := DefaultRetries
		d.Retries = &n
	}
	if *d.Retries < 0 || *d.Retries > MaxRetries {
		return lines.Errorf("defaults.retries", "must be between 0 and %d, got %d", MaxRetries, *d.Retries)
	}
	if err := d.Backoff.fill(Backoff{Initial: model.Duration(DefaultBackoffInitial), Max: model.Duration(DefaultBackoffMax),
		Factor: DefaultBackoffFactor, Jitter: ptr(DefaultBackoffJitter)}, lines, "defaults.backoff"); err != nil {
		return err
	}
	if c.Watchdog.Interval == 0 {
		c.Watchdog.Interval = model.Duration(DefaultWatchdogInterval)
	}
	if c.Watchdog.Interval < model.Duration(100*time.Millisecond) {
		return lines.Errorf("watchdog.interval", "must be at least 100ms")
	}
	if c.Watchdog.Grace == 0 {
		c.Watchdog.Grace = model.Duration(DefaultWatchdogGrace)
	}
	if c.Watchdog.Grace < 0 {
		return lines.Errorf("watchdog.grace", "must be positive")
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		return lines.Errorf("concurrency", "must be between 1 and %d, got %d", MaxConcurrency, c.Concurrency)
	}
	seen := map[string]int{}
	for i, j := range c.Jobs {
		path := export.Index("jobs", i)
		if j == nil {
			return lines.Errorf(path, "want a job (name, kind, schedule, ...)")
		}
		if err := j.validate(c, kinds, lines, path); err != nil {
			return err
		}
		if line, dup := seen[j.Name]; dup {
			return lines.Errorf(export.Join(path, "name"), "%q is already the name of the job on line %d", j.Name, line)
		}
		seen[j.Name] = lines.Of(export.Join(path, "name"))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// fill takes the missing settings from def and checks them.
func (b *Backoff) fill(def Backoff, lines export.Lines, path string) error {
	if b.Initial == 0 {
		b.Initial = def.Initial
	}
	if b.Max == 0 {
		b.Max = max(def.Max, b.Initial)
	}
	if b.Factor == 0 {
		b.Factor = def.Factor
	}
	if b.Jitter == nil {
		b.Jitter = def.Jitter
	}
	switch {
	case b.Initial < 0:
		return lines.Errorf(export.Join(path, "initial"), "must be positive")
	case b.Max < b.Initial:
		return lines.Errorf(export.Join(path, "max"), "must be at least initial (%s)", b.Initial)
	case b.Factor < 1 || b.Factor > 10:
		return lines.Errorf(export.Join(path, "factor"), "must be between 1 and 10, got %g", b.Factor)
	case *b.Jitter < 0 || *b.Jitter > 1:
		return lines.Errorf(export.Join(path, "jitter"), "must be between 0 and 1, got %g", *b.Jitter)
	}
	return nil
}

func (j *Job) validate(c *Config, kinds Kinds, lines export.Lines, path string) error {
	field := func(name string) string { return export.Join(path, name) }
	switch {
	case j.Name == "":
		return lines.Errorf(field("name"), "is required")
	case !jobNameRE.MatchString(j.Name):
		return lines.Errorf(field("name"), "%q is not a job name: lower-case letters, digits, '_' and '-', up to 63", j.Name)
	}
	if j.Kind == "" {
		return lines.Errorf(field("kind"), "is required (one of %s)", strings.Join(kindNames(AllKinds), ", "))
	}
	if !slices.Contains(AllKinds, j.Kind) {
		return lines.Errorf(field("kind"), "unknown kind %q (want one of %s)", j.Kind, strings.Join(kindNames(AllKinds), ", "))
	}
	runner, ok := kinds[j.Kind]
	if !ok {
		return lines.Errorf(field("kind"), "kind %q is not available in this build (available: %s); leave the job out or commented until it is",
			j.Kind, strings.Join(kinds.names(), ", "))
	}
	if j.TimeZone == "" {
		j.TimeZone = c.TimeZone
	}
	loc, err := export.LoadZone(j.TimeZone)
	if err != nil {
		return lines.Errorf(field("timezone"), "%v", err)
	}
	j.loc = loc
	if j.Schedule == "" {
		return lines.Errorf(field("schedule"), "is required: a cron expression like \"0 3 * * *\" (03:00 every day)")
	}
	if j.cron, err = parseCron(j.Schedule, loc); err != nil {
		return lines.Errorf(field("schedule"), "%v", err)
	}
	if j.Timeout == 0 {
		j.Timeout = c.Defaults.Timeout
	}
	if j.Timeout < 0 {
		return lines.Errorf(field("timeout"), "must be positive")
	}
	j.retries = *c.Defaults.Retries
	if j.Retries != nil {
		j.retries = *j.Retries
	}
	if j.retries < 0 || j.retries > MaxRetries {
		return lines.Errorf(field("retries"), "must be between 0 and %d, got %d", MaxRetries, j.retries)
	}
	j.backoff = c.Defaults.Backoff
	if j.Backoff != nil {
		j.backoff = *j.Backoff
		if err := j.backoff.fill(c.Defaults.Backoff, lines, field("backoff")); err != nil {
			return err
		}
	}
	j.keep = time.Duration(*c.Retention)
	if j.Retention != nil {
		j.keep = time.Duration(*j.Retention)
	}
	if j.keep < 0 {
		return lines.Errorf(field("retention"), "must be 0 (keep everything) or more")
	}
	blocks := map[Kind]*yaml.Node{KindExport: &j.Export, KindTrain: &j.Train, KindReport: &j.Report, KindInsights: &j.Insights}
	for k, n := range blocks {
		if n.Kind != 0 && k != j.Kind {
			return lines.Errorf(field(string(k)), "only jobs of kind %s take a %s block (this job is of kind %s)", k, k, j.Kind)
		}
	}
	var block *yaml.Node
	if n := blocks[j.Kind]; n.Kind != 0 {
		block = n
	}
	j.task, err = runner.Prepare(j, block, lines, field(string(j.Kind)))
	return err
}
