package exporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bdc-analytics/bdc/pkg/ml"
	"github.com/bdc-analytics/bdc/pkg/predict"
)

// DefaultModelSchedule is DESIGN.md §3's interval of the model and forecast metrics. A refresh
// loads the promoted version, measures it on the outcomes of the last 28 days, measures drift
// and scores the upcoming rows: seconds on a large platform.
var DefaultModelSchedule = Schedule{Interval: 15 * time.Minute, Timeout: 5 * time.Minute}

// DefaultRiskThreshold is the probability at or above which an appointment counts as high-risk
// of no-show and a beneficiary as at risk of churn.
const DefaultRiskThreshold = 0.5

// RecentWindow is how far back the "recent" quality figures and the drift of a model look.
const RecentWindow = 28 * 24 * time.Hour

// minRecentRows is the fewest recently labelled rows that give a "recent" quality figure, the
// retraining policy's default: fewer would make the figure noise.
const minRecentRows = 200

// riskBuckets are the upper bounds of the risk histograms.
var riskBuckets = []float64{0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8}

// ModelOptions configure the model and forecast metrics.
type ModelOptions struct {
	// Disabled leaves them out.
	Disabled bool
	// Schedule of their refreshes; zero fields take DefaultModelSchedule's.
	Schedule Schedule
	// NoShowThreshold and ChurnThreshold are the risks at or above which an appointment is
	// high-risk and a beneficiary at risk; 0 means DefaultRiskThreshold.
	NoShowThreshold, ChurnThreshold float64
	// TrainAtStart runs the reporter's train job (its retraining policy: models missing or too
	// old are trained, forecasts refreshed) before the first refresh of the model metrics, so a
	// demo shows them from the first minutes. Serving exporters leave training to the reporter.
	TrainAtStart bool
}

func (o ModelOptions) withDefaults() ModelOptions {
	o.Schedule.Interval = cmp.Or(o.Schedule.Interval, DefaultModelSchedule.Interval)
	o.Schedule.Timeout = cmp.Or(o.Schedule.Timeout, DefaultModelSchedule.Timeout)
	o.NoShowThreshold = cmp.Or(o.NoShowThreshold, DefaultRiskThreshold)
	o.ChurnThreshold = cmp.Or(o.ChurnThreshold, DefaultRiskThreshold)
	return o
}

// Validate reports a threshold outside (0, 1].
func (o ModelOptions) Validate() error {
	for name, v := range map[string]float64{"no-show": o.NoShowThreshold, "churn": o.ChurnThreshold} {
		if v < 0 || v > 1 {
			return fmt.Errorf("the %s risk threshold %g is not a probability (want 0 < threshold <= 1)", name, v)
		}
	}
	return nil
}

// Metric families of the model and forecast sources.
var (
	descModelInfo = prometheus.NewDesc("bdc_model_info",
		"The promoted version of each model (1).", []string{"model", "version", "algorithm"}, nil)
	descModelTrained = prometheus.NewDesc("bdc_model_last_trained_timestamp_seconds",
		"When the promoted version of the model was trained.", []string{"model"}, nil)
	descModelAUC = prometheus.NewDesc("bdc_model_roc_auc",
		"ROC AUC of the promoted classifier: set=test on its test window at training, set=recent on the outcomes known in the last 28 days.", []string{"model", "set"}, nil)
	descModelBrier = prometheus.NewDesc("bdc_model_brier_score",
		"Brier score of the promoted classifier's calibrated probabilities (lower is better), by set as bdc_model_roc_auc.", []string{"model", "set"}, nil)
	descModelECE = prometheus.NewDesc("bdc_model_calibration_error",
		"Expected calibration error (10 equal-width bins) of the promoted classifier, by set as bdc_model_roc_auc.", []string{"model", "set"}, nil)
	descModelR2 = prometheus.NewDesc("bdc_model_r2",
		"R² of the promoted regressor, by set as bdc_model_roc_auc.", []string{"model", "set"}, nil)
	descModelMAE = prometheus.NewDesc("bdc_model_mae",
		"Mean absolute error of the promoted regressor, in the target's unit, by set as bdc_model_roc_auc.", []string{"model", "set"}, nil)
	descModelDrift = prometheus.NewDesc("bdc_model_drift_psi",
		"Population stability index of the promoted model's scores, the last 28 days against its training rows (0.1 moderate, 0.25 shifted).", []string{"model"}, nil)
	descFeatureDrift = prometheus.NewDesc("bdc_model_feature_drift_psi",
		"Population stability index of each feature of the promoted model, the last 28 days against its training rows.", []string{"model", "feature"}, nil)
	descThreshold = prometheus.NewDesc("bdc_model_risk_threshold",
		"Risk at or above which an appointment is counted high-risk (noshow) or a beneficiary at risk (churn).", []string{"model"}, nil)
	descNoShowRisk = prometheus.NewDesc("bdc_appointment_noshow_risk",
		"No-show risk of the appointments scheduled in the next 7 days, scored by the promoted no-show model.", nil, nil)
	descHighRisk = prometheus.NewDesc("bdc_appointments_high_risk",
		"Appointments scheduled in the next 24 hours (horizon=1d) or 7 days (7d) whose no-show risk is at or above the threshold.", []string{"horizon"}, nil)
	descChurnRisk = prometheus.NewDesc("bdc_user_churn_risk",
		"Churn risk (no activity in the next 30 days) of the beneficiaries active in the last 90 days, scored by the promoted churn model.", nil, nil)
	descAtRisk = prometheus.NewDesc("bdc_users_at_risk",
		"Active beneficiaries whose churn risk is at or above the threshold.", nil, nil)
	descForecastGenerated = prometheus.NewDesc("bdc_forecast_generated_timestamp_seconds",
		"When the latest forecast of the series was made.", []string{"series"}, nil)
	descForecastMASE = prometheus.NewDesc("bdc_forecast_backtest_mase",
		"Mean absolute scaled error of the latest forecast's method in its rolling-origin backtest (below 1 beats the seasonal naive method).", []string{"series"}, nil)
	descForecastCoverage = prometheus.NewDesc("bdc_forecast_backtest_coverage",
		"Share of actual values inside the prediction intervals in the latest forecast's backtest, by interval level.", []string{"series", "level"}, nil)
)

// forecastDescs are the per-series forecast families; the series not listed have none.
var forecastDescs = map[string]*prometheus.Desc{
	predict.SeriesAppointments: prometheus.NewDesc("bdc_forecast_appointments",
		"Forecast appointments scheduled per day, horizon_days after today (0 is today); lower and upper bound the widest prediction interval (95 %).", []string{"horizon_days", "bound"}, nil),
	predict.SeriesRegistrations: prometheus.NewDesc("bdc_forecast_registrations",
		"Forecast registrations per day, horizon_days after today (0 is today); lower and upper bound the widest prediction interval (95 %).", []string{"horizon_days", "bound"}, nil),
	predict.SeriesTrainerUtilization: prometheus.NewDesc("bdc_forecast_trainer_utilization_ratio",
		"Forecast trainer utilization (booked over available minutes; above 1, more demand than availability) per day, horizon_days after today (0 is today); lower and upper bound the widest prediction interval (95 %).", []string{"horizon_days", "bound"}, nil),
}

// gatedSource is a Source whose first refresh waits until Gate is closed.
type gatedSource interface {
	Gate() <-chan struct{}
}

// modelSource publishes one model's version, quality, drift and, for the no-show and churn
// models, the risk distribution of the rows it scores now.
type modelSource struct {
	def   *predict.Definition
	store *predict.Store
	opts  ModelOptions
	gate  <-chan struct{}
}

// forecastSource publishes the latest saved forecast of one series.
type forecastSource struct {
	series string
	store  *predict.Store
	opts   ModelOptions
	gate   <-chan struct{}
}

// ModelSources returns a source per model and per forecast series. Their first refresh waits
// for gate to close (nil: no wait).
func ModelSources(store *predict.Store, opts ModelOptions, gate <-chan struct{}) []Source {
	opts = opts.withDefaults()
	var out []Source
	for _, def := range predict.Models() {
		out = append(out, &modelSource{def: def, store: store, opts: opts, gate: gate})
	}
	for _, series := range predict.SeriesNames() {
		if forecastDescs[series] != nil {
			out = append(out, &forecastSource{series: series, store: store, opts: opts, gate: gate})
		}
	}
	return out
}

func (s *modelSource) Name() string          { return "model_" + s.def.Name }
func (s *modelSource) Key() string           { return s.Name() }
func (s *modelSource) Schedule() Schedule    { return s.opts.Schedule }
func (s *modelSource) Gate() <-chan struct{} { return s.gate }

// Refresh reads the promoted version. A model without one publishes nothing: that is not a
// failure of the query (the reporter has not trained it yet), and the model-stale alert says so.
func (s *modelSource) Refresh(ctx context.Context, tx pgx.Tx, at time.Time) ([]prometheus.Metric, int, error) {
	st := s.store.InTx(tx)
	v, err := st.LatestPromoted(ctx, s.def.Name)
	if errors.Is(err, predict.ErrNoModel) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	name := v.Model
	out := []prometheus.Metric{
		prometheus.MustNewConstMetric(descModelInfo, prometheus.GaugeValue, 1, name, strconv.Itoa(v.Version), v.Algorithm),
		prometheus.MustNewConstMetric(descModelTrained, prometheus.GaugeValue, float64(v.TrainedAt.UnixNano())/1e9, name),
	}
	out = append(out, qualityMetrics(name, "test", v.Task, v.Metrics)...)
	recent, err := st.RecentMetrics(ctx, v, at, RecentWindow)
	if err != nil {
		return nil, 0, err
	}
	if recent[predict.MetricRows] >= minRecentRows {
		out = append(out, qualityMetrics(name, "recent", v.Task, recent)...)
	}
	drift, err := st.MeasureDrift(ctx, v, at, RecentWindow)
	if err != nil {
		return nil, 0, err
	}
	if drift.Rows > 0 {
		out = append(out, prometheus.MustNewConstMetric(descModelDrift, prometheus.GaugeValue, drift.Score, name))
		for _, f := range drift.Features {
			out = append(out, prometheus.MustNewConstMetric(descFeatureDrift, prometheus.GaugeValue, f.PSI, name, f.Feature))
		}
	}
	risk, err := s.risk(ctx, st, tx, at)
	if err != nil {
		return nil, 0, err
	}
	return append(out, risk...), 0, nil
}

// qualityMetrics are the figures of a version on one set of rows.
func qualityMetrics(model, set string, task ml.Task, m predict.Metrics) []prometheus.Metric {
	pick := map[*prometheus.Desc]string{descModelAUC: predict.MetricROCAUC, descModelBrier: predict.MetricBrier, descModelECE: predict.MetricECE}
	if task == ml.Regression {
		pick = map[*prometheus.Desc]string{descModelR2: predict.MetricR2, descModelMAE: predict.MetricMAE}
	}
	var out []prometheus.Metric
	for desc, key := range pick {
		if v, ok := m[key]; ok {
			out = append(out, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, model, set))
		}
	}
	return out
}

// risk scores the model's current rows: the appointments scheduled in the next 7 days for the
// no-show model, the active beneficiaries for the churn model; the other models publish none.
func (s *modelSource) risk(ctx context.Context, st *predict.Store, tx pgx.Tx, at time.Time) ([]prometheus.Metric, error) {
	switch s.def.Name {
	case predict.NoShow:
		sc, err := st.Score(ctx, predict.NoShow, predict.ScoreOptions{Now: at, HorizonDays: 7, Factors: -1})
		if err != nil {
			return nil, err
		}
		var high []int64
		for _, r := range sc.Rows {
			if r.Score >= s.opts.NoShowThreshold {
				high = append(high, r.ID)
			}
		}
		// The next 24 hours among them: the scores say when the appointment was booked, not
		// when it is.
		var tomorrow int64
		if len(high) > 0 {
			if err := tx.QueryRow(ctx, `select count(*) from bdc.appointments where id = any($1) and scheduled_at < $2`,
				high, at.Add(24*time.Hour)).Scan(&tomorrow); err != nil {
				return nil, fmt.Errorf("couldn't count tomorrow's high-risk appointments: %w", err)
			}
		}
		return []prometheus.Metric{
			riskHistogram(descNoShowRisk, sc.Rows),
			prometheus.MustNewConstMetric(descHighRisk, prometheus.GaugeValue, float64(tomorrow), "1d"),
			prometheus.MustNewConstMetric(descHighRisk, prometheus.GaugeValue, float64(len(high)), "7d"),
			prometheus.MustNewConstMetric(descThreshold, prometheus.GaugeValue, s.opts.NoShowThreshold, predict.NoShow),
		}, nil
	case predict.Churn:
		sc, err := st.ScoreActiveBeneficiaries(ctx, predict.Churn, at, -1)
		if err != nil {
			return nil, err
		}
		atRisk := 0
		for _, r := range sc.Rows {
			if r.Score >= s.opts.ChurnThreshold {
				atRisk++
			}
		}
		return []prometheus.Metric{
			riskHistogram(descChurnRisk, sc.Rows),
			prometheus.MustNewConstMetric(descAtRisk, prometheus.GaugeValue, float64(atRisk)),
			prometheus.MustNewConstMetric(descThreshold, prometheus.GaugeValue, s.opts.ChurnThreshold, predict.Churn),
		}, nil
	}
	return nil, nil
}

// riskHistogram is the const histogram of the scores of rows over riskBuckets.
func riskHistogram(desc *prometheus.Desc, rows []predict.Scored) prometheus.Metric {
	buckets := make(map[float64]uint64, len(riskBuckets))
	sum := 0.0
	for _, r := range rows {
		sum += r.Score
		for _, b := range riskBuckets {
			if r.Score <= b {
				buckets[b]++
			}
		}
	}
	return prometheus.MustNewConstHistogram(desc, uint64(len(rows)), sum, buckets)
}

func (s *forecastSource) Name() string          { return "forecast_" + s.series }
func (s *forecastSource) Key() string           { return s.Name() }
func (s *forecastSource) Schedule() Schedule    { return s.opts.Schedule }
func (s *forecastSource) Gate() <-chan struct{} { return s.gate }

// Refresh publishes the latest forecast's days from today on, today being at's calendar day in
// the platform time zone. A series never forecast publishes nothing (the reporter's train job
// forecasts), like a model never trained.
func (s *forecastSource) Refresh(ctx context.Context, tx pgx.Tx, at time.Time) ([]prometheus.Metric, int, error) {
	run, err := s.store.InTx(tx).LatestForecast(ctx, s.series)
	if errors.Is(err, predict.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	out := []prometheus.Metric{prometheus.MustNewConstMetric(descForecastGenerated, prometheus.GaugeValue,
		float64(run.GeneratedAt.UnixNano())/1e9, s.series)}
	if b := run.Backtest; b != nil {
		out = append(out, prometheus.MustNewConstMetric(descForecastMASE, prometheus.GaugeValue, b.MASE, s.series))
		for i, level := range run.Levels {
			if i < len(b.Coverage) {
				out = append(out, prometheus.MustNewConstMetric(descForecastCoverage, prometheus.GaugeValue, b.Coverage[i],
					s.series, strconv.FormatFloat(level, 'g', -1, 64)))
			}
		}
	}
	widest := 0
	for i, level := range run.Levels {
		if level > run.Levels[widest] {
			widest = i
		}
	}
	desc := forecastDescs[s.series]
	y, m, d := at.In(run.HistoryTo.Location()).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, run.HistoryTo.Location())
	for _, p := range run.Points {
		ahead := daysBetween(today, p.Day)
		if ahead < 0 {
			continue
		}
		h := strconv.Itoa(ahead)
		out = append(out, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, p.Mean, h, "mean"))
		if widest < len(p.Lower) {
			out = append(out,
				prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, p.Lower[widest], h, "lower"),
				prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, p.Upper[widest], h, "upper"))
		}
	}
	return out, 0, nil
}

// daysBetween counts calendar days from a to b, both local midnights (DST days are 23 or 25
// hours long, hence the rounding).
func daysBetween(a, b time.Time) int {
	return int(math.Floor((b.Sub(a) + 12*time.Hour).Hours() / 24))
}
