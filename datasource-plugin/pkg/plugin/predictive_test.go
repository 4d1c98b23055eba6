package plugin

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"
	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/grafanahost"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/ml"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// The predictive kinds read what the reporter's train job writes: the tests run that job once on
// the package's database, at the end of the seed's history, and query the models it registered.

var training struct {
	sync.Mutex
	done bool
}

// trained returns the package's database with every model trained and registered at the seed's
// end, training them on first use (about a second at the test scale).
func trained(t *testing.T) *testdb.Database {
	t.Helper()
	d := testdb.Get(t)
	training.Lock()
	defer training.Unlock()
	if !training.done {
		_, err := predict.NewStore(d.DB).RunJob(context.WithoutCancel(t.Context()), predict.JobOptions{
			Now: d.Seed.End, Force: true, Forecast: predict.ForecastOptions{BacktestOrigins: -1},
		})
		if err != nil {
			t.Fatalf("train job: %v", err)
		}
		training.done = true
	}
	return d
}

// predictiveRange ends at the seed's end (2026-06-01, Paris): the predictive kinds' instant.
func predictiveRange() backend.TimeRange {
	return backend.TimeRange{From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), To: testdb.Scale.End}
}

func predictiveQuery(refID, queryType, js string) backend.DataQuery {
	return backend.DataQuery{RefID: refID, QueryType: queryType, JSON: json.RawMessage(js), TimeRange: predictiveRange(),
		Interval: 24 * time.Hour, MaxDataPoints: 100}
}

// predictiveGolden are the predictive kinds' golden frames, checked against testdata/<name>.jsonc.
var predictiveGolden = map[string]backend.DataQuery{
	"forecast_appointments":         predictiveQuery("A", "forecast", `{"series": "appointments", "horizon": 14, "levels": [80, 95]}`),
	"forecast_utilization_theta":    predictiveQuery("A", "forecast", `{"series": "trainer_utilization", "horizon": 7, "levels": [90], "method": "theta", "historyDays": 120}`),
	"predictions_noshow":            predictiveQuery("A", "predictions", `{"model": "noshow", "horizon": 7, "threshold": 0.3, "limit": 10}`),
	"predictions_churn_by_region":   predictiveQuery("A", "predictions", `{"model": "churn", "threshold": 0.5, "limit": 8, "filters": {"region": ["bretagne", "occitanie"]}}`),
	"model_performance_noshow":      predictiveQuery("A", "model_performance", `{"model": "noshow"}`),
	"model_performance_evaluations": predictiveQuery("A", "model_performance", `{"model": "evaluation_score", "recentDays": 60}`),
}

func TestPredictiveGoldenFrames(t *testing.T) {
	trained(t)
	ds, _ := newTestDatasource(t, map[string]any{"cacheTTL": 0})
	for name, q := range predictiveGolden {
		t.Run(name, func(t *testing.T) {
			resp, err := ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{q}})
			if err != nil {
				t.Fatal(err)
			}
			dr := resp.Responses[q.RefID]
			if dr.Error != nil {
				t.Fatalf("%s: %v", name, dr.Error)
			}
			if len(dr.Frames) == 0 || dr.Frames[0].Rows() == 0 {
				t.Fatalf("%s: no rows", name)
			}
			experimental.CheckGoldenJSONResponse(t, "testdata", name, &dr, *update)
		})
	}
}

// launchPlugin builds the plugin and launches it as Grafana does.
func launchPlugin(t *testing.T) *grafanahost.Host {
	t.Helper()
	binary, err := grafanahost.Build(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h, err := grafanahost.Launch(binary, t.Output())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// TestPredictiveThroughGRPC queries the predictive kinds through the built plugin, good and bad
// queries in one request, and checks each answer against pkg/predict called directly and plain
// SQL over the same rows.
func TestPredictiveThroughGRPC(t *testing.T) {
	d := trained(t)
	h := launchPlugin(t)
	pc, err := grafanahost.PluginContext(d.URL, "predictive", map[string]any{"cacheTTL": 0})
	if err != nil {
		t.Fatal(err)
	}
	s := predict.NewStore(d.DB)
	end := d.Seed.End
	good := []backend.DataQuery{
		predictiveQuery("forecast", "forecast", `{"series": "appointments", "horizon": 21, "levels": [95, 80]}`),
		predictiveQuery("noshow", "predictions", `{"model": "noshow", "horizon": 7, "threshold": 0, "limit": 1000}`),
		predictiveQuery("noshow-top", "predictions", `{"model": "noshow", "horizon": 7, "threshold": 0.25, "limit": 5}`),
		predictiveQuery("noshow-region", "predictions", `{"model": "noshow", "horizon": 14, "threshold": 0, "limit": 1000, "filters": {"region": ["bretagne", "ile-de-france"], "appointmentChannel": ["video", "phone"]}}`),
		predictiveQuery("churn", "predictions", `{"model": "churn", "threshold": 0, "limit": 1000}`),
		predictiveQuery("performance", "model_performance", `{"model": "noshow"}`),
		predictiveQuery("performance-eval", "model_performance", `{"model": "evaluation_score"}`),
	}
	// Each bad query names the field to fix.
	bad := map[string]string{
		"bad-series":     `{"queryType": "forecast", "series": "revenue"}`,
		"no-series":      `{"queryType": "forecast"}`,
		"bad-fhorizon":   `{"queryType": "forecast", "series": "appointments", "horizon": 0}`,
		"long-fhorizon":  `{"queryType": "forecast", "series": "appointments", "horizon": 400}`,
		"bad-level":      `{"queryType": "forecast", "series": "appointments", "levels": [80, 100]}`,
		"bad-method":     `{"queryType": "forecast", "series": "appointments", "method": "prophet"}`,
		"bad-history":    `{"queryType": "forecast", "series": "appointments", "historyDays": 7}`,
		"bad-model":      `{"queryType": "predictions", "model": "evaluation_score"}`,
		"bad-phorizon":   `{"queryType": "predictions", "model": "noshow", "horizon": 91}`,
		"bad-threshold":  `{"queryType": "predictions", "model": "noshow", "threshold": 1.5}`,
		"neg-threshold":  `{"queryType": "predictions", "model": "noshow", "threshold": -0.1}`,
		"huge-limit":     `{"queryType": "predictions", "model": "noshow", "limit": 100000}`,
		"typed-horizon":  `{"queryType": "predictions", "model": "noshow", "horizon": "seven"}`,
		"bad-region":     `{"queryType": "predictions", "model": "noshow", "filters": {"ageBand": ["old"]}}`,
		"unknown-model":  `{"queryType": "model_performance", "model": "noshow'; drop table bdc.users; --"}`,
		"missing-ver":    `{"queryType": "model_performance", "model": "noshow", "version": 99}`,
		"bad-recentDays": `{"queryType": "model_performance", "model": "churn", "recentDays": 0}`,
	}
	field := map[string]string{
		"bad-series": "series", "no-series": "series", "bad-fhorizon": "horizon", "long-fhorizon": "horizon",
		"bad-level": "levels[1]", "bad-method": "method", "bad-history": "historyDays", "bad-model": "model",
		"bad-phorizon": "horizon", "bad-threshold": "threshold", "neg-threshold": "threshold", "huge-limit": "limit",
		"typed-horizon": "horizon", "bad-region": "filters.ageBand[0]", "unknown-model": "model", "missing-ver": "version",
		"bad-recentDays": "recentDays",
	}
	all := slices.Clone(good)
	for ref, js := range bad {
		var kind struct{ QueryType string }
		_ = json.Unmarshal([]byte(js), &kind)
		all = append(all, predictiveQuery(ref, kind.QueryType, js))
	}
	resp, err := h.QueryData(t.Context(), pc, all...)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range good {
		if dr := resp.Responses[q.RefID]; dr.Error != nil || len(dr.Frames) == 0 {
			t.Fatalf("%s: %v (%d frames)", q.RefID, dr.Error, len(dr.Frames))
		}
	}
	for ref := range bad {
		dr := resp.Responses[ref]
		if dr.Error == nil || dr.ErrorSource != backend.ErrorSourcePlugin || dr.Status != backend.StatusBadRequest ||
			!strings.Contains(dr.Error.Error(), field[ref]) {
			t.Errorf("%s: error %v, source %q, status %d; want a plugin 400 naming %s", ref, dr.Error, dr.ErrorSource, dr.Status, field[ref])
		}
	}
	frame := func(ref string, i int) *data.Frame { return resp.Responses[ref].Frames[i] }

	t.Run("forecast means are pkg/predict's, actual values the daily count", func(t *testing.T) {
		f := frame("forecast", 0)
		if f.Meta == nil || f.Meta.Type != data.FrameTypeTimeSeriesWide || !strings.Contains(f.Meta.ExecutedQueryString, "ETS") {
			t.Errorf("meta %+v", f.Meta)
		}
		names := fieldNames(f)
		if want := []string{"time", "actual", "mean", "lower_80", "upper_80", "lower_95", "upper_95"}; !slices.Equal(names, want) {
			t.Fatalf("fields %v, want %v", names, want)
		}
		run, err := s.Forecast(t.Context(), predict.SeriesAppointments, predict.ForecastOptions{Now: end, Horizon: 21, Levels: []float64{0.8, 0.95}, BacktestOrigins: -1})
		if err != nil {
			t.Fatal(err)
		}
		counts := dailyAppointments(t, d, predictiveRange().From, end)
		times := values[time.Time](t, f, "time")
		actual, mean := values[*float64](t, f, "actual"), values[*float64](t, f, "mean")
		lower95, upper80 := values[*float64](t, f, "lower_95"), values[*float64](t, f, "upper_80")
		if len(times) != len(counts)+len(run.Points) {
			t.Fatalf("%d rows, want %d days of history and %d forecast", len(times), len(counts), len(run.Points))
		}
		for i, c := range counts {
			day := times[i].In(demo.Location).Format(time.DateOnly)
			if day != c.day || actual[i] == nil || *actual[i] != c.n || mean[i] != nil {
				t.Fatalf("history row %d: %s actual %v mean %v, want %s actual %v", i, day, deref(actual[i]), mean[i], c.day, c.n)
			}
		}
		for k, p := range run.Points {
			i := len(counts) + k
			if !times[i].Equal(p.Day) || actual[i] != nil || deref(mean[i]) != p.Mean || deref(lower95[i]) != p.Lower[1] || deref(upper80[i]) != p.Upper[0] {
				t.Fatalf("forecast day %d: %s mean %v [%v, %v], want %s %v [%v, %v]", p.Horizon, times[i], deref(mean[i]),
					deref(lower95[i]), deref(upper80[i]), p.Day, p.Mean, p.Lower[1], p.Upper[0])
			}
		}
		if first := run.Points[0].Day.Format(time.DateOnly); first != end.In(demo.Location).Format(time.DateOnly) {
			t.Errorf("the forecast starts on %s, want the instant's day", first)
		}
	})

	t.Run("noshow predictions are pkg/predict's scores of the upcoming appointments", func(t *testing.T) {
		sc, err := s.Score(t.Context(), predict.NoShow, predict.ScoreOptions{Now: end, HorizonDays: 7})
		if err != nil {
			t.Fatal(err)
		}
		upcoming := scheduledAppointments(t, d, end, 7)
		if len(sc.Rows) != len(upcoming) || len(upcoming) == 0 {
			t.Fatalf("pkg/predict scored %d appointments, %d are scheduled in the next 7 days", len(sc.Rows), len(upcoming))
		}
		f := frame("noshow", 0)
		ids, risks := values[int64](t, f, "id"), values[float64](t, f, "risk")
		when, beneficiaries := values[time.Time](t, f, "when"), values[int64](t, f, "beneficiary")
		factors := values[string](t, f, "main factors")
		if len(ids) != len(upcoming) {
			t.Fatalf("%d rows, %d appointments scheduled in the next 7 days", len(ids), len(upcoming))
		}
		for i, r := range sc.Rows {
			a := upcoming[r.ID]
			if ids[i] != r.ID || risks[i] != r.Score || !when[i].Equal(a.scheduled) || beneficiaries[i] != a.beneficiary ||
				!strings.HasPrefix(factors[i], r.Factors[0].Feature+" = ") {
				t.Fatalf("row %d: id %d risk %v at %s beneficiary %d (%s), want id %d risk %v at %s beneficiary %d (%s)", i, ids[i], risks[i],
					when[i], beneficiaries[i], factors[i], r.ID, r.Score, a.scheduled, a.beneficiary, r.Factors[0].Feature)
			}
		}
		top := values[int64](t, frame("noshow-top", 0), "id")
		var want []int64
		for _, r := range sc.Rows {
			if r.Score >= 0.25 && len(want) < 5 {
				want = append(want, r.ID)
			}
		}
		if !slices.Equal(top, want) {
			t.Errorf("threshold 0.25, limit 5: %v, want %v", top, want)
		}
	})

	t.Run("noshow predictions keep the filtered appointments", func(t *testing.T) {
		sc, err := s.Score(t.Context(), predict.NoShow, predict.ScoreOptions{Now: end, HorizonDays: 14})
		if err != nil {
			t.Fatal(err)
		}
		var match map[int64]bool
		rows, err := d.DB.Pool.Query(t.Context(), `select a.id from bdc.appointments a join bdc.beneficiaries b on b.id = a.beneficiary_id
			where b.region in ('bretagne', 'ile-de-france') and a.channel in ('video', 'phone')`)
		if err == nil {
			ids, cerr := pgx.CollectRows(rows, pgx.RowTo[int64])
			err = cerr
			match = map[int64]bool{}
			for _, id := range ids {
				match[id] = true
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, r := range sc.Rows {
			if match[r.ID] {
				want = append(want, r.ID)
			}
		}
		got := values[int64](t, frame("noshow-region", 0), "id")
		if len(want) == 0 || len(want) == len(sc.Rows) || !slices.Equal(got, want) {
			t.Errorf("filtered: %v, want %v (of %d scored)", got, want, len(sc.Rows))
		}
	})

	t.Run("churn predictions are pkg/predict's scores of the active beneficiaries", func(t *testing.T) {
		sc, err := s.ScoreActiveBeneficiaries(t.Context(), predict.Churn, end, 3)
		if err != nil {
			t.Fatal(err)
		}
		f := frame("churn", 0)
		ids, risks, when := values[int64](t, f, "id"), values[float64](t, f, "risk"), values[time.Time](t, f, "when")
		if len(ids) != len(sc.Rows) || len(ids) == 0 {
			t.Fatalf("%d rows, pkg/predict scored %d", len(ids), len(sc.Rows))
		}
		for i, r := range sc.Rows {
			if ids[i] != r.ID || risks[i] != r.Score || !when[i].Equal(end) {
				t.Fatalf("row %d: %d %v %s, want %d %v %s", i, ids[i], risks[i], when[i], r.ID, r.Score, end)
			}
		}
	})

	t.Run("model performance is the registry's table and the reliability on recent rows", func(t *testing.T) {
		for ref, model := range map[string]string{"performance": predict.NoShow, "performance-eval": predict.EvaluationScore} {
			versions := frame(ref, 0)
			want := registryRows(t, d, model)
			primary := "roc_auc"
			if model == predict.EvaluationScore {
				primary = "r2"
			}
			got := values[int64](t, versions, "version")
			algorithms, trainedAt := values[string](t, versions, "algorithm"), values[time.Time](t, versions, "trained")
			promoted, metric := values[bool](t, versions, "promoted"), values[*float64](t, versions, primary)
			testRows := values[int64](t, versions, "test rows")
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%s: %d versions, the registry holds %d", model, len(got), len(want))
			}
			for i, w := range want {
				if got[i] != w.version || algorithms[i] != w.algorithm || !trainedAt[i].Equal(w.trained) || promoted[i] != w.promoted ||
					deref(metric[i]) != w.primary || testRows[i] != w.testRows {
					t.Errorf("%s row %d: %d %s %s %v %s=%v %d rows, registry %+v", model, i, got[i], algorithms[i], trainedAt[i], promoted[i],
						primary, deref(metric[i]), testRows[i], w)
				}
			}
			checkReliability(t, s, model, end, frame(ref, 1))
		}
	})

	t.Run("resources/models lists every model with its promoted version", func(t *testing.T) {
		code, body, err := h.CallResource(t.Context(), pc, "models")
		if err != nil {
			t.Fatal(err)
		}
		var models []struct {
			Text, Value string
			Version     int
			Scorable    bool
		}
		if err := json.Unmarshal(body, &models); err != nil || code != 200 || len(models) != 4 {
			t.Fatalf("%d %s (%v)", code, body, err)
		}
		for _, m := range models {
			if m.Version != 1 || !strings.Contains(m.Text, "version 1") || m.Scorable != slices.Contains(predictionModels, m.Value) {
				t.Errorf("%+v", m)
			}
		}
	})

	t.Run("the tables are intact", func(t *testing.T) {
		var users int
		if err := d.DB.Pool.QueryRow(t.Context(), "select count(*) from bdc.users").Scan(&users); err != nil || users == 0 {
			t.Errorf("bdc.users: %d rows (%v)", users, err)
		}
	})
}

// TestPredictiveNotReadyThroughGRPC: before the first train job, and with the database down,
// the predictive kinds say what is missing, as downstream errors, per query.
func TestPredictiveNotReadyThroughGRPC(t *testing.T) {
	empty, err := testdb.Create(t.Context(), "pluginempty", demo.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = empty.Drop(context.Background()) })
	h := launchPlugin(t)
	pc, err := grafanahost.PluginContext(empty.URL, "empty", nil)
	if err != nil {
		t.Fatal(err)
	}
	queries := []backend.DataQuery{
		predictiveQuery("predictions", "predictions", `{"model": "churn"}`),
		predictiveQuery("performance", "model_performance", `{"model": "engagement"}`),
		predictiveQuery("forecast", "forecast", `{"series": "registrations"}`),
		predictiveQuery("bad", "predictions", `{"model": "noshow", "limit": 0}`),
	}
	resp, err := h.QueryData(t.Context(), pc, queries...)
	if err != nil {
		t.Fatal(err)
	}
	for ref, hint := range map[string]string{"predictions": "bdc-reporter run retrain_models", "performance": "bdc-reporter run retrain_models", "forecast": "cannot forecast registrations"} {
		dr := resp.Responses[ref]
		if dr.Error == nil || dr.ErrorSource != backend.ErrorSourceDownstream || dr.Status != backend.StatusNotFound || !strings.Contains(dr.Error.Error(), hint) {
			t.Errorf("%s: %v (source %q, status %d), want a downstream 404 saying %q", ref, dr.Error, dr.ErrorSource, dr.Status, hint)
		}
	}
	if dr := resp.Responses["bad"]; dr.Error == nil || dr.ErrorSource != backend.ErrorSourcePlugin {
		t.Errorf("limit 0: %v (source %q), want a plugin error", dr.Error, dr.ErrorSource)
	}
	code, body, err := h.CallResource(t.Context(), pc, "models")
	if err != nil || code != 200 || strings.Count(string(body), "not trained yet") != 4 {
		t.Errorf("resources/models before training: %d %s (%v)", code, body, err)
	}

	down, err := grafanahost.PluginContext(strings.Replace(empty.URL, ":5432", ":1", 1), "down", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = h.QueryData(t.Context(), down, queries[:3]...)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries[:3] {
		if dr := resp.Responses[q.RefID]; dr.Error == nil || dr.ErrorSource != backend.ErrorSourceDownstream || dr.Status == backend.StatusNotFound {
			t.Errorf("%s with the database down: %v (source %q, status %d), want a downstream failure", q.RefID, dr.Error, dr.ErrorSource, dr.Status)
		}
	}
}

// TestPredictiveCache: a repeated forecast is served from the cache, a changed one is not.
func TestPredictiveCache(t *testing.T) {
	trained(t)
	ds, _ := newTestDatasource(t, map[string]any{"cacheTTL": 300})
	for _, js := range []string{`{"series": "appointments", "horizon": 7}`, `{"horizon": 7, "series": "appointments"}`, `{"series": "appointments", "horizon": 8}`} {
		resp, err := ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{predictiveQuery("A", "forecast", js)}})
		if err != nil || resp.Responses["A"].Error != nil {
			t.Fatalf("%s: %v %v", js, err, resp.Responses["A"].Error)
		}
	}
	if hits := ds.cache.hits.Load(); hits != 1 {
		t.Errorf("cache hits = %d, want 1", hits)
	}
}

// checkReliability compares a reliability frame with bins computed here, by brute force, over
// the rows labelled in the 28 days before end scored by the promoted version.
func checkReliability(t *testing.T, s *predict.Store, model string, end time.Time, f *data.Frame) {
	t.Helper()
	v, err := s.LatestPromoted(t.Context(), model)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.Labelled(t.Context(), model, end.AddDate(0, 0, -28), end)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := v.Schema.Encode(rows)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := ml.Scores(v.Fitted, ds)
	if err != nil {
		t.Fatal(err)
	}
	type acc struct {
		n          int64
		sumP, sumY float64
	}
	lo, width := 0.0, 0.1 // probabilities: ten bins over [0, 1]
	if model == predict.EvaluationScore {
		lo, width = slices.Min(scores), (slices.Max(scores)-slices.Min(scores))/10
	}
	bins := map[int]*acc{}
	for i, p := range scores {
		b := 0
		for k := 1; k < 10; k++ { // bin k holds (lo + k·width, lo + (k+1)·width]
			if p > lo+float64(k)*width {
				b = k
			}
		}
		a := bins[b]
		if a == nil {
			a = &acc{}
			bins[b] = a
		}
		a.n++
		a.sumP += p
		a.sumY += rows.Y[i]
	}
	keys := make([]int, 0, len(bins))
	for k := range bins {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n, predicted, observed := values[int64](t, f, "rows"), values[float64](t, f, "mean predicted"), values[float64](t, f, "observed")
	if len(n) != len(keys) || len(keys) < 2 {
		t.Fatalf("%s: %d bins, want %d (%d rows)", model, len(n), len(keys), rows.Len())
	}
	for i, k := range keys {
		a := bins[k]
		if n[i] != a.n || math.Abs(predicted[i]-a.sumP/float64(a.n)) > 1e-9 || math.Abs(observed[i]-a.sumY/float64(a.n)) > 1e-9 {
			t.Errorf("%s bin %d: %d rows, %v predicted, %v observed; want %d, %v, %v", model, k, n[i], predicted[i], observed[i],
				a.n, a.sumP/float64(a.n), a.sumY/float64(a.n))
		}
	}
}

type dayCount struct {
	day string
	n   float64
}

// dailyAppointments counts the appointments not cancelled per local day from the day of from to
// the day before the day of to, days without any included.
func dailyAppointments(t *testing.T, d *testdb.Database, from, to time.Time) []dayCount {
	t.Helper()
	rows, err := d.DB.Pool.Query(t.Context(), `select to_char(g.day, 'YYYY-MM-DD'), count(a.id)::float8
		from generate_series(($1::timestamptz at time zone 'Europe/Paris')::date, ($2::timestamptz at time zone 'Europe/Paris')::date - 1, interval '1 day') as g(day)
		left join bdc.appointments a on (a.scheduled_at at time zone 'Europe/Paris')::date = g.day::date and a.status <> 'cancelled'
		group by g.day order by g.day`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var out []dayCount
	var c dayCount
	if _, err := pgx.ForEachRow(rows, []any{&c.day, &c.n}, func() error { out = append(out, c); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

type appointment struct {
	beneficiary int64
	scheduled   time.Time
}

// scheduledAppointments reads the appointments still scheduled in the days after now, booked
// before it.
func scheduledAppointments(t *testing.T, d *testdb.Database, now time.Time, days int) map[int64]appointment {
	t.Helper()
	rows, err := d.DB.Pool.Query(t.Context(), `select id, beneficiary_id, scheduled_at from bdc.appointments
		where status = 'scheduled' and scheduled_at >= $1 and scheduled_at < $1 + make_interval(days => $2) and booked_at < $1`, now, days)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]appointment{}
	var id int64
	var a appointment
	if _, err := pgx.ForEachRow(rows, []any{&id, &a.beneficiary, &a.scheduled}, func() error { out[id] = a; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

type registryRow struct {
	version   int64
	algorithm string
	trained   time.Time
	promoted  bool
	primary   float64
	testRows  int64
}

// registryRows reads a model's versions from the registry table, newest first.
func registryRows(t *testing.T, d *testdb.Database, model string) []registryRow {
	t.Helper()
	rows, err := d.DB.Pool.Query(t.Context(), `select version, algorithm, trained_at, promoted,
			coalesce(metrics->>'roc_auc', metrics->>'r2')::float8, (row_counts->>'test')::bigint
		from bdc_analytics.model_versions where model = $1 order by version desc`, model)
	if err != nil {
		t.Fatal(err)
	}
	var out []registryRow
	var r registryRow
	if _, err := pgx.ForEachRow(rows, []any{&r.version, &r.algorithm, &r.trained, &r.promoted, &r.primary, &r.testRows},
		func() error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func fieldNames(f *data.Frame) []string {
	out := make([]string, len(f.Fields))
	for i, fl := range f.Fields {
		out[i] = fl.Name
	}
	return out
}

// values returns the values of the frame's field called name.
func values[T any](t *testing.T, f *data.Frame, name string) []T {
	t.Helper()
	fl, i := f.FieldByName(name)
	if i < 0 {
		t.Fatalf("frame %s has no field %q (has %v)", f.Name, name, fieldNames(f))
	}
	out := make([]T, fl.Len())
	for k := range out {
		v, ok := fl.At(k).(T)
		if !ok {
			t.Fatalf("field %s holds %T", name, fl.At(k))
		}
		out[k] = v
	}
	return out
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
