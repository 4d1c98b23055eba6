package predict

import (
	"errors"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/ml"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// jobScale is the platform the train job runs on: small, and of its own, since the job writes
// to the registry.
var jobScale = demo.Config{Users: 900, Days: 300, Seed: 6, End: time.Date(2026, 6, 1, 0, 0, 0, 0, demo.Location)}

// TestTrainJob runs the reporter's train job on a fresh platform, then reads what it wrote the
// way the exporter and the Grafana plugin do.
func TestTrainJob(t *testing.T) {
	t.Parallel()
	d := testdb.GetScale(t, jobScale)
	s := NewStore(d.DB)
	ctx := t.Context()
	end := d.Seed.End
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Backtests are TestAppointmentForecastBeatsSeasonalNaive's business; here one origin checks
	// they run.
	rep, err := s.RunJob(ctx, JobOptions{Now: end, Logger: logger, Forecast: ForecastOptions{BacktestOrigins: 1, HistoryDays: 200}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Decisions) != 4 || len(rep.Registrations) != 4 || len(rep.Drift) != 4 || len(rep.Forecasts) != 3 {
		t.Fatalf("job: %d decisions, %d registrations, %d drift reports, %d forecasts", len(rep.Decisions),
			len(rep.Registrations), len(rep.Drift), len(rep.Forecasts))
	}
	for i, dec := range rep.Decisions {
		if !dec.Retrain || !reflect.DeepEqual(dec.Reasons, []string{ReasonNoModel}) || !rep.Registrations[i].Promoted {
			t.Errorf("first job, %s: decision %+v, promoted %v", dec.Model, dec, rep.Registrations[i].Promoted)
		}
		t.Logf("%s: %s %v", dec.Model, rep.Registrations[i].Version.Algorithm, rep.Registrations[i].Version.Metrics)
	}

	t.Run("the exporter reads every promoted model", func(t *testing.T) {
		all, err := s.PromotedVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, v := range all {
			names = append(names, v.Model)
			key := MetricROCAUC
			if v.Task == ml.Regression {
				key = MetricR2
			}
			if _, ok := v.Metrics[key]; !ok || !v.TrainedAt.Equal(end) {
				t.Errorf("%s: metrics %v, trained at %s", v.Model, v.Metrics, v.TrainedAt)
			}
		}
		if !reflect.DeepEqual(names, []string{Churn, Engagement, EvaluationScore, NoShow}) {
			t.Errorf("promoted models %v", names)
		}
	})

	t.Run("upcoming appointments are scored with their main factors", func(t *testing.T) {
		sc, err := s.ScoreUpcomingAppointments(ctx, end, 7, 3)
		if err != nil {
			t.Fatal(err)
		}
		var want int
		if err := d.DB.Pool.QueryRow(ctx, `select count(*) from bdc.appointments
			where status = 'scheduled' and scheduled_at >= $1 and scheduled_at < $1 + interval '7 days' and booked_at < $1`,
			end).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if len(sc.Rows) != want || want == 0 {
			t.Fatalf("%d appointments scored, %d scheduled in the next 7 days", len(sc.Rows), want)
		}
		checkScored(t, sc, 3)
		top := sc.Rows[0]
		t.Logf("riskiest upcoming appointment %d: %.3f, factors %+v", top.ID, top.Score, top.Factors)
	})

	t.Run("active beneficiaries are scored", func(t *testing.T) {
		for _, model := range []string{Churn, Engagement} {
			sc, err := s.ScoreActiveBeneficiaries(ctx, model, end, 2)
			if err != nil {
				t.Fatal(err)
			}
			pop, err := s.BeneficiaryFrame(ctx, []time.Time{end}, end)
			if err != nil {
				t.Fatal(err)
			}
			if len(sc.Rows) != pop.Len() || pop.Len() == 0 {
				t.Fatalf("%s: %d beneficiaries scored, %d active", model, len(sc.Rows), pop.Len())
			}
			checkScored(t, sc, 2)
		}
		if _, err := s.ScoreActiveBeneficiaries(ctx, NoShow, end, 2); !errors.Is(err, ErrUnknownModel) {
			t.Errorf("scoring beneficiaries with the no-show model: %v", err)
		}
	})

	t.Run("evaluations in progress are scored", func(t *testing.T) {
		sc, err := s.Score(ctx, EvaluationScore, ScoreOptions{Now: end, Factors: -1})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sc.Rows {
			if r.Factors != nil || r.Score < 0 || r.Score > 110 {
				t.Errorf("evaluation %d: score %v, factors %v", r.ID, r.Score, r.Factors)
			}
		}
		t.Logf("%d evaluations in progress scored", len(sc.Rows))
	})

	t.Run("drift reads back as measured", func(t *testing.T) {
		for _, want := range rep.Drift {
			got, err := s.LatestDrift(ctx, want.Model)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != want.Version || got.Score != want.Score || got.Rows != want.Rows || len(got.Features) != len(want.Features) ||
				!got.MeasuredAt.Equal(want.MeasuredAt) || math.IsNaN(got.Score) {
				t.Errorf("%s: drift %+v read back as %+v", want.Model, want, got)
			}
			if got.MaxFeature() != want.MaxFeature() {
				t.Errorf("%s: largest feature drift %+v read back as %+v", want.Model, want.MaxFeature(), got.MaxFeature())
			}
		}
	})

	t.Run("forecasts read back as saved", func(t *testing.T) {
		for _, want := range rep.Forecasts {
			got, err := s.LatestForecast(ctx, want.Series)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != want.ID || got.Model != want.Model || !reflect.DeepEqual(got.Levels, want.Levels) || len(got.Points) != len(want.Points) ||
				!got.HistoryTo.Equal(want.HistoryTo) || !got.HistoryFrom.Equal(want.HistoryFrom) {
				t.Fatalf("%s: forecast read back differs: %+v", want.Series, got)
			}
			for i, p := range got.Points {
				w := want.Points[i]
				if p.Horizon != w.Horizon || !p.Day.Equal(w.Day) || p.Mean != w.Mean || !reflect.DeepEqual(p.Lower, w.Lower) || !reflect.DeepEqual(p.Upper, w.Upper) {
					t.Fatalf("%s: point %+v read back as %+v", want.Series, w, p)
				}
				if p.Lower[1] > p.Lower[0] || p.Upper[1] < p.Upper[0] || p.Lower[0] > p.Mean || p.Upper[0] < p.Mean {
					t.Fatalf("%s: intervals do not nest around the mean: %+v", want.Series, p)
				}
			}
			if first := got.Points[0].Day; !first.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, first.Location())) {
				t.Errorf("%s: the first day forecast is %s, want the job's day", want.Series, first)
			}
		}
	})

	t.Run("a retried firing leaves what one run would", func(t *testing.T) {
		count := func(sql string) int {
			var n int
			if err := d.DB.Pool.QueryRow(ctx, sql).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		const versions = `select count(*) from bdc_analytics.model_versions`
		const drift = `select count(*) from bdc_analytics.model_drift`
		const forecasts = `select count(*) from bdc_analytics.forecast_runs`
		before := []int{count(versions), count(drift), count(forecasts)}
		// Forced, as a retry of a forced firing would be: the models registered at this
		// instant are not trained again.
		retry, err := s.RunJob(ctx, JobOptions{Now: end, Logger: logger, Force: true, Series: []string{SeriesRegistrations},
			Forecast: ForecastOptions{BacktestOrigins: -1, HistoryDays: 200}})
		if err != nil {
			t.Fatal(err)
		}
		if len(retry.Registrations) != 0 || len(retry.Drift) != 4 || len(retry.Forecasts) != 1 {
			t.Errorf("retry: %d registrations, %d drift reports, %d forecasts", len(retry.Registrations), len(retry.Drift), len(retry.Forecasts))
		}
		if after := []int{count(versions), count(drift), count(forecasts)}; !reflect.DeepEqual(after, before) {
			t.Errorf("versions, drift rows, forecast runs: %v before the retry, %v after", before, after)
		}
	})

	t.Run("a second job keeps fresh models", func(t *testing.T) {
		again, err := s.RunJob(ctx, JobOptions{Now: end.Add(time.Hour), Logger: logger, Series: []string{SeriesRegistrations},
			Forecast: ForecastOptions{BacktestOrigins: -1}, Policy: RetrainPolicy{ScorePSI: 10, FeaturePSI: 10}})
		if err != nil {
			t.Fatal(err)
		}
		for _, dec := range again.Decisions {
			if dec.Retrain {
				t.Errorf("%s retrained an hour later: %s", dec.Model, dec.Detail)
			}
		}
		if len(again.Registrations) != 0 {
			t.Errorf("%d registrations", len(again.Registrations))
		}
		dec, err := s.RetrainDecision(ctx, Churn, end.AddDate(0, 0, 8), RetrainPolicy{ScorePSI: 10, FeaturePSI: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !dec.Retrain || !slices.Contains(dec.Reasons, ReasonSchedule) {
			t.Errorf("a week-old model is not retrained on schedule: %+v", dec)
		}
	})
}

// checkScored checks scored rows: probabilities, highest first, with k named factors each.
func checkScored(t *testing.T, sc *Scoring, k int) {
	t.Helper()
	names := sc.Version.Schema.Columns()
	for i, r := range sc.Rows {
		if r.Score < 0 || r.Score > 1 || (i > 0 && r.Score > sc.Rows[i-1].Score) {
			t.Fatalf("row %d: score %v after %v", i, r.Score, sc.Rows[max(0, i-1)].Score)
		}
		if len(r.Factors) != k {
			t.Fatalf("row %d: %d factors, want %d", i, len(r.Factors), k)
		}
		for j, f := range r.Factors {
			if !slices.Contains(names, f.Feature) || f.Value == "" || (j > 0 && math.Abs(f.Contribution) > math.Abs(r.Factors[j-1].Contribution)) {
				t.Fatalf("row %d: factors %+v", i, r.Factors)
			}
		}
	}
}
