package exporter_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/exporter"
)

func TestCustomConfigErrorsNameFileLineAndField(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown type", "metrics:\n  - name: a\n    type: gague\n    sql: select 1 as v\n    value: v\n", "c.yml:3: metrics[0].type: unknown type \"gague\""},
		{"missing sql", "metrics:\n  - name: a\n    type: gauge\n    value: v\n", "c.yml:2: metrics[0].sql: is required"},
		{"bad name", "metrics:\n  - name: 9lives\n    type: gauge\n    sql: select 1\n    value: v\n", "c.yml:2: metrics[0].name: \"9lives\" is not a valid metric name"},
		{"built-in name", "metrics:\n  - name: bdc_users\n    type: gauge\n    sql: select 1\n    value: v\n", "metrics[0].name: \"bdc_users\" is a built-in metric"},
		{"duplicate", "metrics:\n  - name: a\n    type: gauge\n    sql: select 1\n    value: v\n  - name: a\n    type: gauge\n    sql: select 1\n    value: v\n", "c.yml:6: metrics[1].name: \"a\" is already defined on line 2"},
		{"unknown field", "metrics:\n  - name: a\n    type: gauge\n    sql: select 1\n    value: v\n    lables: [x]\n", "c.yml:6: metrics[0].lables: unknown field"},
		{"bad label", "metrics:\n  - name: a\n    type: gauge\n    sql: select 1\n    value: v\n    labels: [ok, \"not ok\"]\n", "c.yml:6: metrics[0].labels[1]: \"not ok\" is not a valid label name"},
		{"histogram without buckets", "metrics:\n  - name: a\n    type: histogram\n    sql: select 1\n    value: v\n", "metrics[0].buckets: a histogram needs buckets"},
		{"buckets not ascending", "metrics:\n  - name: a\n    type: histogram\n    sql: select 1\n    value: v\n    buckets: [2, 1]\n", "c.yml:6: metrics[0].buckets: must be strictly ascending"},
		{"timeout past interval", "metrics:\n  - name: a\n    type: gauge\n    sql: select 1\n    value: v\n    interval: 10s\n    timeout: 1m\n", "c.yml:7: metrics[0].timeout: must be positive and at most the interval"},
		{"bad duration", "metrics:\n  - name: a\n    type: gauge\n    sql: select 1\n    value: v\n    interval: often\n", "c.yml:2: metrics[0]"},
		{"not a list", "metrics: 3\n", "c.yml:1: metrics: want a list of metrics"},
		{"unknown top level", "metric:\n  - name: a\n", "c.yml:1: metric: unknown field"},
		{"yaml syntax", "metrics: [\n", "c.yml: yaml:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := exporter.ParseCustomConfig("c.yml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	var ce *exporter.ConfigError
	_, err := exporter.ParseCustomConfig("c.yml", []byte(cases[0].yaml))
	if !errors.As(err, &ce) || ce.Line != 3 || ce.Field != "metrics[0].type" {
		t.Errorf("ConfigError = %+v", ce)
	}
}

func TestCustomConfigDefaults(t *testing.T) {
	cfg, err := exporter.ParseCustomConfig("c.yml", []byte("metrics:\n  - name: a\n    type: counter\n    sql: select 1 as v\n    value: v\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Metrics[0]
	if m.Interval != time.Minute || m.Timeout != 10*time.Second || m.MaxSeries != 1000 || m.Help == "" {
		t.Errorf("defaults not applied: %+v", m)
	}
	if cfg, err := exporter.ParseCustomConfig("c.yml", nil); err != nil || len(cfg.Metrics) != 0 {
		t.Errorf("an empty file: %v %v", cfg, err)
	}
}

// FuzzParseCustomConfig: any input gives a config or an error, never a panic, and an accepted
// config is valid.
func FuzzParseCustomConfig(f *testing.F) {
	f.Add([]byte("metrics:\n  - name: a\n    type: gauge\n    sql: select 1 as v\n    value: v\n"))
	f.Add([]byte("metrics:\n  - name: h\n    type: histogram\n    sql: select 1 as v\n    value: v\n    buckets: [1, 2]\n    labels: [x]\n"))
	f.Add([]byte("metrics: [{name: a, type: counter, sql: x, value: v, interval: 2s, timeout: 1s}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := exporter.ParseCustomConfig("f.yml", data)
		if err != nil {
			return
		}
		for _, m := range cfg.Metrics {
			if m.Name == "" || m.SQL == "" || m.Value == "" || m.Interval < time.Second || m.Timeout <= 0 || m.Timeout > m.Interval || m.MaxSeries <= 0 {
				t.Fatalf("accepted an invalid metric: %+v", m)
			}
		}
		_ = exporter.CustomSources(cfg)
	})
}
