package exporter_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// TestModelMetrics trains the models at start, as the demo does, on a database of its own (the
// registry it fills would make every other exporter of the package score), then checks each
// model and forecast family of DESIGN.md §3 against plain SQL over the same tables and the
// generator's ground truth, and runs promtool check metrics on the scrape.
func TestModelMetrics(t *testing.T) {
	d, err := testdb.Create(t.Context(), "exporter_models", testdb.Scale)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(t.Context()) })
	at := d.Seed.End.Add(-time.Hour) // the generated platform's last hour: appointments are booked for the days after
	base, _ := startWith(t, d.DB, "", exporter.Options{
		Schedules: fast, Now: func() time.Time { return at },
		Models: exporter.ModelOptions{TrainAtStart: true, NoShowThreshold: 0.3},
	})
	eventually(t, "model metrics never served", func() bool {
		_, families := scrape(t, base)
		return families["bdc_appointment_noshow_risk"] != nil && families["bdc_forecast_trainer_utilization_ratio"] != nil
	})
	body, families := scrape(t, base)
	ctx := t.Context()
	pool := d.DB.Pool

	// The registry, read with plain SQL.
	rows, err := pool.Query(ctx, `select model, version, algorithm, task, metrics, extract(epoch from trained_at)
		from bdc_analytics.model_versions where promoted order by model`)
	if err != nil {
		t.Fatal(err)
	}
	promoted := 0
	for rows.Next() {
		var model, algorithm, task string
		var version int
		var raw []byte
		var trained float64
		if err := rows.Scan(&model, &version, &algorithm, &task, &raw, &trained); err != nil {
			t.Fatal(err)
		}
		promoted++
		var metrics map[string]float64
		if err := json.Unmarshal(raw, &metrics); err != nil {
			t.Fatal(err)
		}
		if v, ok := value(families, "bdc_model_info", "algorithm", algorithm, "model", model, "version", strconv.Itoa(version)); !ok || v != 1 {
			t.Errorf("bdc_model_info{model=%q,version=%d,algorithm=%q} = %v, %v", model, version, algorithm, v, ok)
		}
		if v, _ := value(families, "bdc_model_last_trained_timestamp_seconds", "model", model); math.Abs(v-trained) > 1e-3 {
			t.Errorf("bdc_model_last_trained_timestamp_seconds{model=%q} = %v, registry %v", model, v, trained)
		}
		checks := map[string]string{"bdc_model_roc_auc": "roc_auc", "bdc_model_brier_score": "brier", "bdc_model_calibration_error": "ece"}
		if task == "regression" {
			checks = map[string]string{"bdc_model_r2": "r2", "bdc_model_mae": "mae"}
		}
		// The recent figures need 200 outcomes known in the last 28 days.
		recentRows := 200
		if model == predict.EvaluationScore {
			if err := pool.QueryRow(ctx, `select count(*) from bdc.evaluations where score is not null
				and completed_at >= $1::timestamptz - interval '28 days' and completed_at < $1`, at).Scan(&recentRows); err != nil {
				t.Fatal(err)
			}
		}
		for family, key := range checks {
			if v, ok := value(families, family, "model", model, "set", "test"); !ok || math.Abs(v-metrics[key]) > 1e-9 {
				t.Errorf("%s{model=%q,set=test} = %v, %v; registry %v", family, model, v, ok, metrics[key])
			}
			if _, ok := value(families, family, "model", model, "set", "recent"); ok != (recentRows >= 200) {
				t.Errorf("%s{model=%q,set=recent} served %v with %d recent outcomes", family, model, ok, recentRows)
			}
		}
		if v, ok := value(families, "bdc_model_drift_psi", "model", model); !ok || v < 0 || math.IsNaN(v) {
			t.Errorf("bdc_model_drift_psi{model=%q} = %v, %v", model, v, ok)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if promoted != len(predict.Models()) {
		t.Fatalf("%d promoted models in the registry, want %d", promoted, len(predict.Models()))
	}
	if auc, _ := value(families, "bdc_model_roc_auc", "model", "noshow", "set", "recent"); auc < 0.7 {
		t.Errorf("recent no-show AUC %.3f: the generator's outcomes are predictable to about 0.8", auc)
	}

	// Upcoming appointments: the histogram counts those a plain query finds, and its mean risk
	// is near the generator's true no-show probabilities of the same appointments.
	var upcoming, tomorrow int
	var trueMean float64
	if err := pool.QueryRow(ctx, `select count(*), count(*) filter (where a.scheduled_at < $1::timestamptz + interval '24 hours'),
			avg(t.noshow_probability)
		from bdc.appointments a join bdc_demo.appointment_truth t on t.appointment_id = a.id
		where a.status = 'scheduled' and a.scheduled_at >= $1 and a.scheduled_at < $1::timestamptz + interval '7 days' and a.booked_at <= $1`,
		at).Scan(&upcoming, &tomorrow, &trueMean); err != nil {
		t.Fatal(err)
	}
	if upcoming < 50 {
		t.Fatalf("only %d upcoming appointments in the test data: the test cannot judge the risks", upcoming)
	}
	h := histogram(t, families, "bdc_appointment_noshow_risk")
	if int(h.GetSampleCount()) != upcoming {
		t.Errorf("bdc_appointment_noshow_risk counts %d appointments, SQL %d", h.GetSampleCount(), upcoming)
	}
	if mean := h.GetSampleSum() / float64(h.GetSampleCount()); math.Abs(mean-trueMean) > 0.05 {
		t.Errorf("mean no-show risk %.3f, ground truth %.3f", mean, trueMean)
	}
	high7, _ := value(families, "bdc_appointments_high_risk", "horizon", "7d")
	high1, _ := value(families, "bdc_appointments_high_risk", "horizon", "1d")
	// A risk of exactly 0.3 is high-risk yet in the bucket le=0.3: the count lies between the
	// observations above 0.3 and those above 0.2.
	if lo, hi := float64(upcoming)-cumulative(h, 0.3), float64(upcoming)-cumulative(h, 0.2); high7 < lo || high7 > hi || high7 == 0 {
		t.Errorf("bdc_appointments_high_risk{horizon=7d} = %v, histogram: %v above 0.3, %v above 0.2", high7, lo, hi)
	}
	if high1 > high7 || high1 > float64(tomorrow) {
		t.Errorf("bdc_appointments_high_risk{horizon=1d} = %v, 7d %v, scheduled in 24 h %d", high1, high7, tomorrow)
	}

	// Active beneficiaries: as many as a plain query finds, mean churn risk near the truth.
	var active int
	var trueChurn float64
	if err := pool.QueryRow(ctx, `select count(*), avg(t.churn_probability)
		from bdc.beneficiaries b join bdc_demo.beneficiary_truth t on t.beneficiary_id = b.id
		where b.created_at < $1 and exists (select 1 from bdc.user_activities u
			where u.user_id = b.user_id and u.occurred_at >= $1::timestamptz - interval '90 days' and u.occurred_at < $1)`,
		at).Scan(&active, &trueChurn); err != nil {
		t.Fatal(err)
	}
	c := histogram(t, families, "bdc_user_churn_risk")
	if int(c.GetSampleCount()) != active {
		t.Errorf("bdc_user_churn_risk counts %d beneficiaries, SQL %d active", c.GetSampleCount(), active)
	}
	t.Logf("upcoming %d (true mean no-show %.3f, scored %.3f), active %d (true churn %.3f, scored %.3f)",
		upcoming, trueMean, h.GetSampleSum()/float64(h.GetSampleCount()), active, trueChurn, c.GetSampleSum()/float64(c.GetSampleCount()))
	if atRisk, _ := value(families, "bdc_users_at_risk"); atRisk < float64(active)-cumulative(c, 0.5) || atRisk > float64(active)-cumulative(c, 0.4) {
		t.Errorf("bdc_users_at_risk = %v, histogram: %v above 0.5, %v above 0.4", atRisk, float64(active)-cumulative(c, 0.5), float64(active)-cumulative(c, 0.4))
	}

	// Forecasts: the days from today of the latest saved run, read with plain SQL.
	for family, series := range map[string]string{"bdc_forecast_appointments": "appointments",
		"bdc_forecast_registrations": "registrations", "bdc_forecast_trainer_utilization_ratio": "trainer_utilization"} {
		rows, err := pool.Query(ctx, `select (f.day - ($2::timestamptz at time zone 'Europe/Paris')::date), f.mean, f.lower, f.upper
			from bdc_analytics.forecasts f
			where f.run_id = (select id from bdc_analytics.forecast_runs where series = $1 order by generated_at desc limit 1)
			  and f.level = (select max(level) from bdc_analytics.forecasts g where g.run_id = f.run_id)
			  and f.day >= ($2::timestamptz at time zone 'Europe/Paris')::date`, series, at)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var ahead int
			var mean, lower, upper float64
			if err := rows.Scan(&ahead, &mean, &lower, &upper); err != nil {
				t.Fatal(err)
			}
			n++
			h := strconv.Itoa(ahead)
			for bound, want := range map[string]float64{"mean": mean, "lower": lower, "upper": upper} {
				if v, ok := value(families, family, "bound", bound, "horizon_days", h); !ok || math.Abs(v-want) > 1e-9 {
					t.Errorf("%s{horizon_days=%s,bound=%s} = %v, %v; saved %v", family, h, bound, v, ok, want)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n == 0 || len(families[family].GetMetric()) != 3*n {
			t.Errorf("%s: %d series, %d saved days from today", family, len(families[family].GetMetric()), n)
		}
		if _, ok := value(families, "bdc_forecast_generated_timestamp_seconds", "series", series); !ok {
			t.Errorf("bdc_forecast_generated_timestamp_seconds{series=%q} missing", series)
		}
	}
	for _, src := range []string{"model_noshow", "model_churn", "model_engagement", "model_evaluation_score",
		"forecast_appointments", "forecast_registrations", "forecast_trainer_utilization"} {
		if v, ok := value(families, "bdc_exporter_query_success", "query", src); !ok || v != 1 {
			t.Errorf("bdc_exporter_query_success{query=%q} = %v, %v", src, v, ok)
		}
	}

	cmd := exec.Command(testtools.Path(t, "promtool"), "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestNoModelYet: before the reporter has trained anything, the model sources succeed and
// publish no model series (the model-stale alert, not a query failure, tells the operator).
func TestNoModelYet(t *testing.T) {
	d, err := testdb.Create(t.Context(), "exporter_nomodel", testdb.Scale)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(t.Context()) })
	base, _ := startWith(t, d.DB, "", exporter.Options{Schedules: fast, Models: exporter.ModelOptions{Schedule: exporter.Schedule{Interval: time.Second}}})
	waitReady(t, base)
	_, families := scrape(t, base)
	for name := range families {
		if strings.HasPrefix(name, "bdc_model_") || strings.HasPrefix(name, "bdc_forecast_") {
			t.Errorf("%s served with an empty registry", name)
		}
	}
	if v, ok := value(families, "bdc_exporter_query_success", "query", "model_noshow"); !ok || v != 1 {
		t.Errorf("bdc_exporter_query_success{query=model_noshow} = %v, %v", v, ok)
	}
}

// histogram returns the only histogram of family name.
func histogram(t *testing.T, families map[string]*dto.MetricFamily, name string) *dto.Histogram {
	t.Helper()
	mf := families[name]
	if mf == nil || len(mf.Metric) != 1 || mf.Metric[0].Histogram == nil {
		t.Fatalf("%s: want one histogram, got %v", name, mf)
	}
	return mf.Metric[0].Histogram
}

// cumulative returns the count of h's bucket with upper bound le (NaN when there is none).
func cumulative(h *dto.Histogram, le float64) float64 {
	for _, b := range h.Bucket {
		if b.GetUpperBound() == le {
			return float64(b.GetCumulativeCount())
		}
	}
	return math.NaN()
}
