package exporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/kpi"
)

// Defaults of a custom metric.
const (
	DefaultCustomInterval  = time.Minute
	DefaultCustomTimeout   = 10 * time.Second
	DefaultCustomMaxSeries = 1000
)

// CustomConfig is the file given with --config.file: metrics computed from the user's SQL.
type CustomConfig struct {
	Metrics []CustomMetric `yaml:"metrics"`
}

// CustomMetric is one metric from user SQL.
type CustomMetric struct {
	// Name is the metric name; it must not be one of the built-in metrics.
	Name string `yaml:"name"`
	Help string `yaml:"help"`
	// Type is gauge, counter or histogram.
	Type string `yaml:"type"`
	// SQL runs in a read-only transaction; it takes no parameters.
	SQL string `yaml:"sql"`
	// Labels are columns of the result used as labels.
	Labels []string `yaml:"labels"`
	// Value is the column holding the value (gauge, counter) or the observation (histogram).
	Value string `yaml:"value"`
	// Buckets are the histogram's upper bounds, ascending.
	Buckets   []float64     `yaml:"buckets"`
	Interval  time.Duration `yaml:"interval"`
	Timeout   time.Duration `yaml:"timeout"`
	MaxSeries int           `yaml:"max_series"`
}

// ConfigError locates a problem in a configuration file: file, line and field.
type ConfigError struct {
	File   string
	Line   int
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Reason)
}

// LoadCustomConfig reads and validates a custom metrics file.
func LoadCustomConfig(path string) (*CustomConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("couldn't read custom metrics file: %w", err)
	}
	return ParseCustomConfig(path, data)
}

// ParseCustomConfig validates a custom metrics file's content; errors name the file, the line
// and the field.
func ParseCustomConfig(file string, data []byte) (*CustomConfig, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	cfg := &CustomConfig{}
	if err := dec.Decode(&root); errors.Is(err, io.EOF) {
		return cfg, nil // an empty file: no custom metrics
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if root.Kind == 0 { // empty file
		return cfg, nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, &ConfigError{file, doc.Line, "(top level)", "want a mapping with the key metrics"}
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "metrics" {
			return nil, &ConfigError{file, doc.Content[i].Line, doc.Content[i].Value, "unknown field (want metrics)"}
		}
	}
	list := valueOf(doc, "metrics")
	if list == nil {
		return cfg, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, &ConfigError{file, list.Line, "metrics", "want a list of metrics"}
	}
	builtin := map[string]bool{}
	for _, d := range kpi.All() {
		builtin[d.Name] = true
	}
	seen := map[string]int{}
	for i, node := range list.Content {
		field := func(key string) string { return fmt.Sprintf("metrics[%d].%s", i, key) }
		line := func(key string) int {
			if v := valueOf(node, key); v != nil {
				return v.Line
			}
			return node.Line
		}
		fail := func(key, format string, args ...any) error {
			return &ConfigError{file, line(key), field(key), fmt.Sprintf(format, args...)}
		}
		if node.Kind != yaml.MappingNode {
			return nil, &ConfigError{file, node.Line, fmt.Sprintf("metrics[%d]", i), "want a mapping"}
		}
		known := []string{"name", "help", "type", "sql", "labels", "value", "buckets", "interval", "timeout", "max_series"}
		for k := 0; k+1 < len(node.Content); k += 2 {
			if key := node.Content[k].Value; !slices.Contains(known, key) {
				return nil, &ConfigError{file, node.Content[k].Line, field(key), "unknown field (want one of " + strings.Join(known, ", ") + ")"}
			}
		}
		var m CustomMetric
		if err := node.Decode(&m); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				return nil, &ConfigError{file, node.Line, fmt.Sprintf("metrics[%d]", i), strings.Join(te.Errors, "; ")}
			}
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		switch {
		case m.Name == "":
			return nil, fail("name", "is required")
		case !kpi.ValidName(m.Name):
			return nil, fail("name", "%q is not a valid metric name", m.Name)
		case builtin[m.Name] || strings.HasPrefix(m.Name, "bdc_exporter_"):
			return nil, fail("name", "%q is a built-in metric", m.Name)
		case seen[m.Name] > 0:
			return nil, fail("name", "%q is already defined on line %d", m.Name, seen[m.Name])
		}
		seen[m.Name] = line("name")
		if m.Help == "" {
			m.Help = "Custom metric " + m.Name + "."
		}
		switch m.Type {
		case "gauge", "counter", "histogram":
		case "":
			return nil, fail("type", "is required (gauge, counter or histogram)")
		default:
			return nil, fail("type", "unknown type %q (want gauge, counter or histogram)", m.Type)
		}
		if strings.TrimSpace(m.SQL) == "" {
			return nil, fail("sql", "is required")
		}
		if m.Value == "" {
			return nil, fail("value", "is required: the column holding the value")
		}
		for j, l := range m.Labels {
			if !kpi.ValidName(l) || strings.HasPrefix(l, "__") {
				return nil, &ConfigError{file, line("labels"), fmt.Sprintf("%s[%d]", field("labels"), j), fmt.Sprintf("%q is not a valid label name", l)}
			}
			if l == m.Value {
				return nil, fail("labels", "column %q is both a label and the value", l)
			}
		}
		if m.Type == "histogram" {
			if len(m.Buckets) == 0 {
				return nil, fail("buckets", "a histogram needs buckets")
			}
			for j := 1; j < len(m.Buckets); j++ {
				if m.Buckets[j] <= m.Buckets[j-1] {
					return nil, fail("buckets", "must be strictly ascending, got %v", m.Buckets)
				}
			}
		} else if len(m.Buckets) > 0 {
			return nil, fail("buckets", "only histograms have buckets")
		}
		if m.Interval == 0 {
			m.Interval = DefaultCustomInterval
		}
		if m.Interval < time.Second {
			return nil, fail("interval", "must be at least 1s, got %s", m.Interval)
		}
		if m.Timeout == 0 {
			m.Timeout = min(DefaultCustomTimeout, m.Interval)
		}
		if m.Timeout < 0 || m.Timeout > m.Interval {
			return nil, fail("timeout", "must be positive and at most the interval (%s), got %s", m.Interval, m.Timeout)
		}
		if m.MaxSeries == 0 {
			m.MaxSeries = DefaultCustomMaxSeries
		}
		if m.MaxSeries < 0 {
			return nil, fail("max_series", "must be positive, got %d", m.MaxSeries)
		}
		cfg.Metrics = append(cfg.Metrics, m)
	}
	return cfg, nil
}

func valueOf(mapping *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return mapping.Content[i+1]
		}
	}
	return nil
}

// customSource runs one custom metric.
type customSource struct {
	m    CustomMetric
	desc *prometheus.Desc
	sql  string
}

// CustomSources returns the sources of a custom metrics configuration.
func CustomSources(cfg *CustomConfig) []Source {
	var out []Source
	for _, m := range cfg.Metrics {
		// Select the label and value columns by name, in a known order.
		cols := make([]string, 0, len(m.Labels)+1)
		for _, l := range append(slices.Clone(m.Labels), m.Value) {
			cols = append(cols, "u."+pgx.Identifier{l}.Sanitize())
		}
		sql := fmt.Sprintf("select %s from (%s) as u", strings.Join(cols, ", "), strings.TrimRight(strings.TrimSpace(m.SQL), ";"))
		if m.Type == "histogram" {
			sql = kpi.HistogramSQL(sql, len(m.Labels), len(m.Buckets), 1)
		}
		out = append(out, &customSource{m: m, desc: prometheus.NewDesc(m.Name, m.Help, m.Labels, nil), sql: sql})
	}
	return out
}

func (s *customSource) Name() string { return s.m.Name }
func (s *customSource) Key() string {
	return fmt.Sprintf("%+v", s.m)
}
func (s *customSource) Schedule() Schedule {
	return Schedule{Interval: s.m.Interval, Timeout: s.m.Timeout}
}

func (s *customSource) Refresh(ctx context.Context, tx pgx.Tx, _ time.Time) ([]prometheus.Metric, int, error) {
	var args []any
	kind := kpi.Gauge
	switch s.m.Type {
	case "histogram":
		args = append(args, s.m.Buckets)
		kind = kpi.Histogram
	case "counter":
		kind = kpi.Counter
	}
	def := kpi.Definition{Name: s.m.Name, Kind: kind, Labels: s.m.Labels, Buckets: s.m.Buckets}
	rows, err := tx.Query(ctx, s.sql, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("custom metric %s: %w", s.m.Name, err)
	}
	defer rows.Close()
	var samples []kpi.Sample
	dropped := 0
	for rows.Next() {
		if len(samples) == s.m.MaxSeries {
			dropped++
			continue
		}
		vals, err := rows.Values()
		if err != nil {
			return nil, 0, fmt.Errorf("custom metric %s: %w", s.m.Name, err)
		}
		smp, err := def.ParseRow(vals)
		if err != nil {
			return nil, 0, fmt.Errorf("custom metric %s: %w", s.m.Name, err)
		}
		samples = append(samples, smp)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("custom metric %s: %w", s.m.Name, err)
	}
	metrics, err := constMetrics(s.desc, kind, s.m.Buckets, samples)
	return metrics, dropped, err
}
