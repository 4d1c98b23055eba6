package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}`)

// TestNoPersonalDataInLabelsOrLogs runs the exporter at debug level, with a password in its
// database URL, the models trained at start, and a custom metric whose SQL fails on an e-mail
// address (PostgreSQL quotes the failing value in its message): no label name is an identifier
// or a person's attribute, no label value or log line holds an e-mail address, a generated
// user's e-mail or the password.
func TestNoPersonalDataInLabelsOrLogs(t *testing.T) {
	ctx := t.Context()
	d, err := testdb.Create(ctx, "pii", testdb.Scale)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.WithoutCancel(ctx)) })
	const password = "pii-test-password"
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password) // trust authentication ignores it
	var logs testtools.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := store.Open(ctx, store.Config{URL: u.String(), Application: "pii-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	custom := filepath.Join(t.TempDir(), "custom.yml")
	if err := os.WriteFile(custom, []byte(`metrics:
  - name: bdc_custom_bad_cast
    help: Fails on a user's e-mail address.
    type: gauge
    sql: select (select email from bdc.users order by id limit 1)::int as value
    value: value
`), 0o600); err != nil {
		t.Fatal(err)
	}
	at := d.Seed.End.Add(-time.Hour)
	addr := testtools.ServeExporterWith(t, db, logger, exporter.Options{ConfigFile: custom, Now: func() time.Time { return at },
		Models: exporter.ModelOptions{TrainAtStart: true}})
	body := testtools.Scrape(t, "http://"+addr+"/metrics")
	logger.Info("starting " + store.Redact(u.String())) // as the commands log their database

	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if families["bdc_model_info"] == nil {
		t.Fatal("the models were not trained: the scrape does not show what they label")
	}
	forbidden := regexp.MustCompile(`(?i)(^|_)(id|email|e_mail|name|first_name|last_name|phone|address|birth.*)$`)
	for name, mf := range families {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if forbidden.MatchString(l.GetName()) {
					t.Errorf("%s has a label %q", name, l.GetName())
				}
				if emailPattern.MatchString(l.GetValue()) {
					t.Errorf("%s{%s=%q} holds an e-mail address", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	var email string
	if err := d.DB.Pool.QueryRow(ctx, `select email from bdc.users order by id limit 1`).Scan(&email); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "bdc_custom_bad_cast") {
		t.Fatalf("the failing custom metric was not logged:\n%s", out)
	}
	for _, secret := range []string{email, password} {
		if strings.Contains(out, secret) || strings.Contains(body, secret) {
			t.Errorf("%q appears in the logs or the scrape", secret)
		}
	}
	if m := emailPattern.FindString(out); m != "" {
		t.Errorf("an e-mail address in the logs: %s", m)
	}
	series := 0
	for _, mf := range families {
		series += len(mf.Metric)
	}
	testtools.RecordCheck(t, results.Check{Area: "Security", Case: "personal data in the exporter's labels and logs (debug level, models trained, a failing SQL on an e-mail)",
		Sees:    fmt.Sprintf("%d series in %d families and %d bytes of logs, none with an identifier label, an e-mail address or the database password", series, len(families), len(out)),
		Outcome: "PostgreSQL data errors logged with their SQLSTATE only; database URLs logged with the password redacted"})
}
