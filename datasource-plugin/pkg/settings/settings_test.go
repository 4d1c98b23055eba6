package settings_test

import (
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/settings"
)

func load(js string, secure map[string]string) (settings.Settings, error) {
	return settings.Load(backend.DataSourceInstanceSettings{JSONData: []byte(js), DecryptedSecureJSONData: secure})
}

func TestLoad(t *testing.T) {
	s, err := load(`{"host": "db.internal:6432", "database": "platform", "user": "grafana", "sslmode": "verify-full", "cacheTTL": 30, "maxRows": 500, "queryTimeout": 12}`,
		map[string]string{"password": "p@ss word"})
	if err != nil {
		t.Fatal(err)
	}
	want := settings.Settings{Host: "db.internal", Port: 6432, Database: "platform", User: "grafana", Password: "p@ss word",
		SSLMode: "verify-full", CacheTTL: 30 * time.Second, MaxRows: 500, QueryTimeout: 12 * time.Second}
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	if u := s.URL(); u != "postgres://grafana:p%40ss%20word@db.internal:6432/platform?sslmode=verify-full" {
		t.Errorf("URL = %s", u)
	}
	if s.Addr() != "db.internal:6432" {
		t.Errorf("Addr = %s", s.Addr())
	}
	d, err := load(`{"host": "db", "database": "x", "user": "u"}`, nil)
	if err != nil || d.Port != 5432 || d.SSLMode != "require" || d.CacheTTL != time.Minute || d.MaxRows != 10000 {
		t.Errorf("defaults: %+v %v", d, err)
	}
}

func TestLoadErrorsNameTheField(t *testing.T) {
	for js, field := range map[string]string{
		`{"database": "x", "user": "u"}`:                                    "host",
		`{"host": "db", "user": "u"}`:                                       "database",
		`{"host": "db", "database": "x"}`:                                   "user",
		`{"host": "db", "database": "x", "user": "u", "port": 70000}`:       "port",
		`{"host": "db", "database": "x", "user": "u", "sslmode": "maybe"}`:  "sslmode",
		`{"host": "db", "database": "x", "user": "u", "cacheTTL": -1}`:      "cacheTTL",
		`{"host": "db", "database": "x", "user": "u", "maxRows": 0}`:        "maxRows",
		`{"host": "db", "database": "x", "user": "u", "queryTimeout": "x"}`: "queryTimeout",
		`{"host": `: "jsonData",
	} {
		_, err := load(js, nil)
		if err == nil || !strings.Contains(err.Error(), "setting "+field) {
			t.Errorf("%s: err = %v, want it to name %s", js, err, field)
		}
	}
}
