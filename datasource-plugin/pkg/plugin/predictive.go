package plugin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/forecast"
	"github.com/bdc-analytics/bdc/pkg/ml"
	"github.com/bdc-analytics/bdc/pkg/predict"
)

// This file serves the predictive kinds: forecast, predictions and model_performance, and the
// models resource. Models, scores and forecasts come from pkg/predict, which the plugin only
// reads: the reporter's train job writes the registry.

// Bounds of the predictive kinds' parameters (QUERIES.md).
const (
	defaultForecastHorizon = 28
	maxForecastHorizon     = 365
	defaultHistoryDays     = 365
	minHistoryDays         = 28
	maxHistoryDays         = 1096
	maxLevels              = 5

	defaultPredictionHorizon = predict.DefaultHorizonDays
	maxPredictionHorizon     = 90
	defaultThreshold         = 0.5
	defaultPredictionLimit   = 100
	maxPredictionLimit       = 1000

	defaultRecentDays = 28
	maxRecentDays     = 365
)

// trainHint tells the user how models and their registry come to exist.
const trainHint = "run the reporter's train job (bdc-reporter run retrain_models)"

// predictionModels are the models whose scores the predictions kind lists: the classifiers of
// a risk.
var predictionModels = []string{predict.NoShow, predict.Churn}

// errNotReady is a valid query the database cannot answer yet: no model trained, no history to
// forecast. Its source is downstream: what is missing is data, not a fix to the query.
type errNotReady struct{ msg string }

func (e *errNotReady) Error() string { return e.msg }

func notReady(format string, args ...any) error { return &errNotReady{fmt.Sprintf(format, args...)} }

// instant is the "now" of a predictive query: the end of the panel's range, capped at the
// present. A past range shows what the models said then; a range reaching into the future
// forecasts from today.
func instant(env *envelope) time.Time {
	now := time.Now()
	if env.to.IsZero() || env.to.After(now) {
		return now
	}
	return env.to
}

// timeIn formats instants for people in the query's time zone.
func timeIn(loc *time.Location) func(time.Time) string {
	return func(t time.Time) string { return t.In(loc).Format(time.RFC3339) }
}

// predictStore is a read-only view of pkg/predict for one query: the datasource's pool and
// timeout, the query's time zone.
func (ds *Datasource) predictStore(tz string) *predict.Store {
	return &predict.Store{DB: ds.db, Timeout: ds.settings.QueryTimeout, TimeZone: tz}
}

// param checks an optional whole-number parameter: absent takes def, present must be in
// [lo, hi].
func param(name string, v *int, def, lo, hi int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < lo || *v > hi {
		return 0, &analytics.ParamError{Param: name, Reason: fmt.Sprintf("must be from %d to %d, got %d", lo, hi, *v)}
	}
	return *v, nil
}

func oneOf(name, value string, valid []string) error {
	if slices.Contains(valid, value) {
		return nil
	}
	if value == "" {
		return &analytics.ParamError{Param: name, Reason: "is required: one of " + strings.Join(valid, ", ")}
	}
	return &analytics.ParamError{Param: name, Reason: fmt.Sprintf("unknown %s %q: want one of %s", name, value, strings.Join(valid, ", "))}
}

// filtersIgnored warns that a kind covering the whole platform does not apply the filters.
func filtersIgnored(q analytics.Query, what string) []data.Notice {
	if q.Filters.IsZero() {
		return nil
	}
	return []data.Notice{{Severity: data.NoticeSeverityWarning, Text: what + ": the filters do not apply to it"}}
}

// forecastQuery is a daily series forecast from the query's instant.
type forecastQuery struct {
	Series      string    `json:"series"`
	Horizon     *int      `json:"horizon"`
	Levels      []float64 `json:"levels"`
	HistoryDays *int      `json:"historyDays"`
	Method      string    `json:"method"`
	Backtest    bool      `json:"backtest"`
	analytics.Query
}

// forecastMethods are the methods a query may name (ets alone needs a model specification).
var forecastMethods = []string{forecast.MethodAuto.String(), forecast.MethodTheta.String(), forecast.MethodSeasonalNaive.String()}

func (ds *Datasource) queryForecast(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q forecastQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if err := oneOf("series", q.Series, predict.SeriesNames()); err != nil {
		return nil, err
	}
	horizon, err := param("horizon", q.Horizon, defaultForecastHorizon, 1, maxForecastHorizon)
	if err != nil {
		return nil, err
	}
	historyDays, err := param("historyDays", q.HistoryDays, defaultHistoryDays, minHistoryDays, maxHistoryDays)
	if err != nil {
		return nil, err
	}
	levels, err := forecastLevels(q.Levels)
	if err != nil {
		return nil, err
	}
	method := forecast.MethodAuto
	if q.Method != "" {
		if err := oneOf("method", q.Method, forecastMethods); err != nil {
			return nil, err
		}
		method, _ = forecast.ParseMethod(q.Method)
	}
	opts := predict.ForecastOptions{Now: instant(env), HistoryDays: historyDays, Horizon: horizon, Method: method, BacktestOrigins: -1}
	for _, l := range levels {
		opts.Levels = append(opts.Levels, l/100)
	}
	if q.Backtest {
		opts.BacktestOrigins = 0 // pkg/predict's default: 8 weekly origins
	}
	s := ds.predictStore(q.TimeZone)
	run, err := s.Forecast(ctx, q.Series, opts)
	if errors.Is(err, predict.ErrNoRows) || errors.Is(err, forecast.ErrTooShort) {
		return nil, notReady("cannot forecast %s from %s yet: %v", q.Series, timeIn(q.Location())(opts.Now), err)
	}
	if err != nil {
		return nil, err
	}
	// The actual values: the panel's days up to the day before the instant, the history the
	// forecast continues.
	var actual forecast.DailySeries
	if env.from.Before(opts.Now) {
		actual, err = s.Series(ctx, q.Series, env.from, opts.Now)
		if err != nil && !errors.Is(err, predict.ErrNoRows) {
			return nil, err
		}
	}
	frame := forecastFrame(run, actual, levels)
	frame.Meta = &data.FrameMeta{
		Type: data.FrameTypeTimeSeriesWide, PreferredVisualization: data.VisTypeGraph,
		ExecutedQueryString: forecastMethod(run, actual, q.Location(), historyDays),
		Notices:             filtersIgnored(q.Query, "a forecast covers the whole platform"),
		Custom:              forecastMeta{Model: run.Model, GeneratedAt: run.GeneratedAt, HistoryFrom: run.HistoryFrom, HistoryTo: run.HistoryTo, Backtest: run.Backtest},
	}
	return data.Frames{frame}, nil
}

// forecastMeta is the frame's custom metadata: what was fitted on what.
type forecastMeta struct {
	Model       string                   `json:"model"`
	GeneratedAt time.Time                `json:"generatedAt"`
	HistoryFrom time.Time                `json:"historyFrom"`
	HistoryTo   time.Time                `json:"historyTo"`
	Backtest    *predict.BacktestSummary `json:"backtest,omitempty"`
}

// forecastLevels checks the interval levels, in percent: absent means 80 and 95; at most
// maxLevels distinct levels in (0, 100), returned in ascending order.
func forecastLevels(levels []float64) ([]float64, error) {
	if len(levels) == 0 {
		return []float64{80, 95}, nil
	}
	if len(levels) > maxLevels {
		return nil, &analytics.ParamError{Param: "levels", Reason: fmt.Sprintf("has %d levels, at most %d", len(levels), maxLevels)}
	}
	for i, l := range levels {
		if !(l > 0 && l < 100) {
			return nil, &analytics.ParamError{Param: fmt.Sprintf("levels[%d]", i), Reason: fmt.Sprintf("must be a percentage between 0 and 100 (exclusive), got %v", l)}
		}
	}
	out := slices.Clone(levels)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// forecastFrame is the wide frame of a forecast: a row per day, the actual values of the panel's
// days before the instant, then the forecast days with the mean and each level's bounds.
func forecastFrame(run *predict.ForecastRun, actual forecast.DailySeries, levels []float64) *data.Frame {
	days := len(actual.Values) + len(run.Points)
	times := make([]time.Time, 0, days)
	actualF := make([]*float64, 0, days)
	mean := make([]*float64, 0, days)
	lower := make([][]*float64, len(levels))
	upper := make([][]*float64, len(levels))
	for i, v := range actual.Values {
		times = append(times, actual.Day(i))
		actualF = append(actualF, ptr(v))
		mean = append(mean, nil)
		for k := range levels {
			lower[k], upper[k] = append(lower[k], nil), append(upper[k], nil)
		}
	}
	for _, p := range run.Points {
		times = append(times, p.Day)
		actualF = append(actualF, nil)
		mean = append(mean, ptr(p.Mean))
		for k := range levels {
			lower[k], upper[k] = append(lower[k], ptr(p.Lower[k])), append(upper[k], ptr(p.Upper[k]))
		}
	}
	unit := "short"
	if run.Series == predict.SeriesTrainerUtilization {
		unit = "percentunit"
	}
	frame := data.NewFrame("forecast", data.NewField("time", nil, times))
	add := func(name, display string, values []*float64) {
		f := data.NewField(name, nil, values)
		f.Config = &data.FieldConfig{Unit: unit, DisplayNameFromDS: display}
		frame.Fields = append(frame.Fields, f)
	}
	add("actual", run.Series, actualF)
	add("mean", run.Series+" forecast", mean)
	for k, l := range levels {
		pct := strconv.FormatFloat(l, 'f', -1, 64)
		add("lower_"+pct, fmt.Sprintf("%s lower %s%%", run.Series, pct), lower[k])
		add("upper_"+pct, fmt.Sprintf("%s upper %s%%", run.Series, pct), upper[k])
	}
	return frame
}

// forecastMethod says, for the query inspector, what was read and fitted.
func forecastMethod(run *predict.ForecastRun, actual forecast.DailySeries, loc *time.Location, historyDays int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- forecast of %s (daily, local days in %s) at %s\n", run.Series, loc, timeIn(loc)(run.GeneratedAt))
	fmt.Fprintf(&b, "-- method: %s fitted on %s .. %s (up to %d days), %d days ahead, intervals %s%%\n",
		run.Model, run.HistoryFrom.Format(time.DateOnly), run.HistoryTo.Format(time.DateOnly), historyDays, len(run.Points), levelList(run.Levels))
	if bt := run.Backtest; bt != nil {
		fmt.Fprintf(&b, "-- backtest on %d weekly origins, %d days ahead: MASE %.3f (seasonal naive %.3f), sMAPE %.1f, coverage %s\n",
			bt.Origins, bt.Horizon, bt.MASE, bt.NaiveMASE, bt.SMAPE, percentList(bt.Coverage))
	}
	if n := len(actual.Values); n > 0 {
		fmt.Fprintf(&b, "-- actual: %s .. %s (%d days)\n", actual.Start.Format(time.DateOnly), actual.Day(n-1).Format(time.DateOnly), n)
	}
	return b.String()
}

func levelList(levels []float64) string {
	parts := make([]string, len(levels))
	for i, l := range levels {
		parts[i] = strconv.FormatFloat(l*100, 'f', -1, 64)
	}
	return strings.Join(parts, ", ")
}

func percentList(shares []float64) string {
	parts := make([]string, len(shares))
	for i, s := range shares {
		parts[i] = fmt.Sprintf("%.1f%%", s*100)
	}
	return strings.Join(parts, ", ")
}

// predictionsQuery lists the scored individuals at or above a risk threshold.
type predictionsQuery struct {
	Model     string   `json:"model"`
	Horizon   *int     `json:"horizon"`
	Threshold *float64 `json:"threshold"`
	Limit     *int     `json:"limit"`
	analytics.Query
}

func (ds *Datasource) queryPredictions(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q predictionsQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if err := oneOf("model", q.Model, predictionModels); err != nil {
		return nil, err
	}
	horizon, err := param("horizon", q.Horizon, defaultPredictionHorizon, 1, maxPredictionHorizon)
	if err != nil {
		return nil, err
	}
	limit, err := param("limit", q.Limit, defaultPredictionLimit, 1, maxPredictionLimit)
	if err != nil {
		return nil, err
	}
	threshold := defaultThreshold
	if q.Threshold != nil {
		if t := *q.Threshold; !(t >= 0 && t <= 1) {
			return nil, &analytics.ParamError{Param: "threshold", Reason: fmt.Sprintf("must be a probability from 0 to 1, got %v", t)}
		}
		threshold = *q.Threshold
	}
	now := instant(env)
	s := ds.predictStore(q.TimeZone)
	var sc *predict.Scoring
	if q.Model == predict.NoShow {
		sc, err = s.ScoreUpcomingAppointments(ctx, now, horizon, predict.DefaultFactors)
	} else {
		sc, err = s.ScoreActiveBeneficiaries(ctx, q.Model, now, predict.DefaultFactors)
	}
	if errors.Is(err, predict.ErrNoModel) {
		return nil, notReady("model %s has no promoted version yet: %s", q.Model, trainHint)
	}
	if err != nil {
		return nil, err
	}
	subjects, ex, err := ds.lookupSubjects(ctx, q, sc.Rows)
	if err != nil {
		return nil, err
	}
	var kept []predict.Scored
	matching := 0
	for _, r := range sc.Rows {
		if _, ok := subjects[r.ID]; !ok {
			continue
		}
		matching++
		if r.Score >= threshold && len(kept) < limit {
			kept = append(kept, r)
		}
	}
	frame := predictionsFrame(q.Model, kept, subjects)
	at := timeIn(q.Location())
	what := fmt.Sprintf("upcoming appointments in the %d days from %s", horizon, at(now))
	if q.Model != predict.NoShow {
		what = fmt.Sprintf("beneficiaries active in the %d days before %s", int(predict.ActiveWindow.Hours()/24), at(now))
	}
	v := sc.Version
	frame.Meta = &data.FrameMeta{
		PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString: fmt.Sprintf("-- scored with %s version %d (%s, trained %s): %d %s\n%s",
			q.Model, v.Version, v.Algorithm, at(v.TrainedAt), len(sc.Rows), what, ex.String()),
		Notices: []data.Notice{{Severity: data.NoticeSeverityInfo, Text: fmt.Sprintf("%s version %d: %d of %d %s at a risk of %.2f or more; %d listed",
			q.Model, v.Version, countAtLeast(sc.Rows, subjects, threshold), matching, what, threshold, len(kept))}},
		Custom: predictionsMeta{Model: q.Model, Version: v.Version, ScoredAt: now, Scored: len(sc.Rows), Matching: matching, Listed: len(kept)},
	}
	return data.Frames{frame}, nil
}

// predictionsMeta is the predictions frame's custom metadata.
type predictionsMeta struct {
	Model    string    `json:"model"`
	Version  int       `json:"version"`
	ScoredAt time.Time `json:"scoredAt"`
	// Scored counts the rows the model scored, Matching those the filters keep, Listed those
	// in the frame (at or above the threshold, at most the limit).
	Scored   int `json:"scored"`
	Matching int `json:"matching"`
	Listed   int `json:"listed"`
}

func countAtLeast(rows []predict.Scored, subjects map[int64]subject, threshold float64) int {
	n := 0
	for _, r := range rows {
		if _, ok := subjects[r.ID]; ok && r.Score >= threshold {
			n++
		}
	}
	return n
}

// subject is what the table shows of a scored appointment or beneficiary besides its score:
// ids and times only, never names or emails.
type subject struct {
	beneficiary int64
	trainer     *int64
	scheduled   time.Time
}

// Lookups of the scored subjects that match the filters (as bound parameters: $2 region,
// $3 acquisition channel, $4 gender, $5 trainer, $6 appointment channel, $7 and $8 the age bands'
// bounds, $9 the time zone of the registration year). The trainer of an appointment is its own;
// the appointment channel of a beneficiary is any of its appointments'.
const (
	subjectFilters = `($2::text[] is null or b.region = any($2::text[]))
		and ($3::text[] is null or b.acquisition_channel = any($3::text[]))
		and ($4::text[] is null or b.gender = any($4::text[]))
		and ($7::int[] is null or exists (select 1 from unnest($7::int[], $8::int[]) as band(lo, hi)
			where extract(year from b.created_at at time zone $9::text) - b.birth_year between band.lo and band.hi))`
	appointmentSubjects = `select a.id, a.beneficiary_id, a.trainer_id, a.scheduled_at
	from bdc.appointments a join bdc.beneficiaries b on b.id = a.beneficiary_id
	where a.id = any($1::bigint[]) and ` + subjectFilters + `
		and ($5::bigint[] is null or a.trainer_id = any($5::bigint[]))
		and ($6::text[] is null or a.channel = any($6::text[]))`
	beneficiarySubjects = `select b.id, b.id, b.trainer_id, $10::timestamptz
	from bdc.beneficiaries b
	where b.id = any($1::bigint[]) and ` + subjectFilters + `
		and ($5::bigint[] is null or b.trainer_id = any($5::bigint[]))
		and ($6::text[] is null or exists (select 1 from bdc.appointments fa
			where fa.beneficiary_id = b.id and fa.channel = any($6::text[])))`
)

// lookupSubjects reads the scored rows' subjects that match the query's filters, by id.
func (ds *Datasource) lookupSubjects(ctx context.Context, q predictionsQuery, rows []predict.Scored) (map[int64]subject, analytics.Executed, error) {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var los, his []int32
	for _, band := range q.Filters.AgeBand {
		b, _ := analytics.ParseAgeBand(band) // validated with the query
		los, his = append(los, int32(b.Min)), append(his, int32(b.Max))
	}
	f := q.Filters
	args := []any{ids, nilIfEmpty(f.Region), nilIfEmpty(f.AcquisitionChannel), nilIfEmpty(f.Gender),
		nilIfEmpty(f.TrainerID), nilIfEmpty(f.AppointmentChannel), nilIfEmpty(los), nilIfEmpty(his), q.TimeZone}
	sql := appointmentSubjects
	if q.Model != predict.NoShow {
		sql = beneficiarySubjects
		args = append(args, instantOf(rows))
	}
	// The inspector shows the arguments; the ids are many and say nothing.
	shown := append([]any{fmt.Sprintf("<%d scored ids>", len(ids))}, args[1:]...)
	ex := analytics.Executed{SQL: sql, Args: shown}
	out := make(map[int64]subject, len(ids))
	if len(ids) == 0 {
		return out, ex, nil
	}
	err := ds.db.ReadOnly(ctx, ds.settings.QueryTimeout, func(ctx context.Context, tx pgx.Tx) error {
		rs, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var id int64
		var s subject
		var trainer *int64
		_, err = pgx.ForEachRow(rs, []any{&id, &s.beneficiary, &trainer, &s.scheduled}, func() error {
			s.trainer = nil
			if trainer != nil {
				s.trainer = ptr(*trainer)
			}
			out[id] = s
			return nil
		})
		return err
	})
	if err != nil {
		return nil, ex, fmt.Errorf("couldn't read the scored rows: %w", err)
	}
	return out, ex, nil
}

// instantOf is the as-of instant of beneficiary scores (all the same: the scoring instant).
func instantOf(rows []predict.Scored) time.Time {
	if len(rows) == 0 {
		return time.Time{}
	}
	return rows[0].AsOf
}

func nilIfEmpty[T any](v []T) any {
	if len(v) == 0 {
		return nil
	}
	return v
}

// predictionsFrame is the table of predictions, highest risk first: the id, when, the risk, the
// main factors in words and the largest one's name.
func predictionsFrame(model string, rows []predict.Scored, subjects map[int64]subject) *data.Frame {
	id := data.NewField("id", nil, []int64{})
	when := data.NewField("when", nil, []time.Time{})
	beneficiary := data.NewField("beneficiary", nil, []int64{})
	trainer := data.NewField("trainer", nil, []*int64{})
	risk := data.NewField("risk", nil, []float64{})
	factors := data.NewField("main factors", nil, []string{})
	top := data.NewField("top factor", nil, []string{})
	for _, r := range rows {
		s := subjects[r.ID]
		id.Append(r.ID)
		when.Append(s.scheduled)
		beneficiary.Append(s.beneficiary)
		trainer.Append(s.trainer)
		risk.Append(r.Score)
		factors.Append(factorText(r.Factors))
		name := ""
		if len(r.Factors) > 0 {
			name = r.Factors[0].Feature
		}
		top.Append(name)
	}
	risk.Config = &data.FieldConfig{Unit: "percentunit", Min: ptr(data.ConfFloat64(0)), Max: ptr(data.ConfFloat64(1)),
		Description: "calibrated probability"}
	factors.Config = &data.FieldConfig{Description: "feature = value (contribution to the log-odds: positive raises the risk)"}
	frame := data.NewFrame("predictions")
	if model == predict.NoShow {
		id.Config = &data.FieldConfig{DisplayNameFromDS: "appointment"}
		when.Config = &data.FieldConfig{DisplayNameFromDS: "scheduled"}
		risk.Config.DisplayNameFromDS = "no-show risk"
		frame.Fields = append(frame.Fields, id, when, beneficiary, trainer, risk, factors, top)
	} else {
		id.Config = &data.FieldConfig{DisplayNameFromDS: "beneficiary"}
		when.Config = &data.FieldConfig{DisplayNameFromDS: "as of"}
		risk.Config.DisplayNameFromDS = model + " risk"
		frame.Fields = append(frame.Fields, id, when, trainer, risk, factors, top)
	}
	return frame
}

// factorText renders main factors for people: "earlier_no_shows = 2 (+0.84); lead_days = 21 (+0.31)".
func factorText(fs []predict.Factor) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s = %s (%+.2f)", f.Feature, f.Value, f.Contribution)
	}
	return strings.Join(parts, "; ")
}

// modelPerformanceQuery is a model's versions and the reliability of one of them.
type modelPerformanceQuery struct {
	Model      string `json:"model"`
	Version    *int   `json:"version"`
	RecentDays *int   `json:"recentDays"`
	analytics.Query
}

func modelNames() []string {
	var out []string
	for _, d := range predict.Models() {
		out = append(out, d.Name)
	}
	return out
}

func (ds *Datasource) queryModelPerformance(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q modelPerformanceQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if err := oneOf("model", q.Model, modelNames()); err != nil {
		return nil, err
	}
	def, _ := predict.Lookup(q.Model)
	version, err := param("version", q.Version, 0, 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	days, err := param("recentDays", q.RecentDays, defaultRecentDays, 1, maxRecentDays)
	if err != nil {
		return nil, err
	}
	s := ds.predictStore(q.TimeZone)
	versions, err := s.Versions(ctx, q.Model, 0)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, notReady("model %s has no version in the registry yet: %s", q.Model, trainHint)
	}
	drift, err := s.LatestDrift(ctx, q.Model)
	if err != nil && !errors.Is(err, predict.ErrNoRows) {
		return nil, err
	}
	v, err := s.LoadVersion(ctx, q.Model, version)
	switch {
	case errors.Is(err, predict.ErrNoModel) && version > 0:
		return nil, &analytics.ParamError{Param: "version", Reason: fmt.Sprintf("model %s has no version %d (the latest is %d)", q.Model, version, versions[0].Version)}
	case errors.Is(err, predict.ErrNoModel):
		return nil, notReady("model %s has no promoted version: %s", q.Model, trainHint)
	case err != nil:
		return nil, err
	}
	now := instant(env)
	from := now.AddDate(0, 0, -days)
	labelled, err := s.Labelled(ctx, q.Model, from, now)
	if err != nil {
		return nil, err
	}
	labelled = labelled.Subset(labelled.Labeled())
	curve, summary, err := reliability(def, v, labelled)
	if err != nil {
		return nil, err
	}
	table := versionsFrame(def, versions, drift)
	table.Meta = &data.FrameMeta{
		PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString: fmt.Sprintf("-- the registry: every version of %s in bdc_analytics.model_versions, newest first; metrics on each version's test window\n"+
			"-- score PSI: the latest drift report of bdc_analytics.model_drift", q.Model),
		Notices: filtersIgnored(q.Query, "model performance covers the whole platform"),
	}
	at := timeIn(q.Location())
	what := fmt.Sprintf("%s version %d on the %d rows labelled from %s to %s", q.Model, v.Version, labelled.Len(), at(from), at(now))
	curve.Meta = &data.FrameMeta{
		PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString:    "-- reliability of " + what + " (features as of each row's prediction time, scored now)",
		Notices:                []data.Notice{{Severity: data.NoticeSeverityInfo, Text: "Reliability of " + what + ": " + summary}},
	}
	return data.Frames{table, curve}, nil
}

// Metric columns of the versions table, by task, in the order shown.
var (
	classifierMetrics = []string{predict.MetricROCAUC, predict.MetricPRAUC, predict.MetricBrier, predict.MetricECE, predict.MetricLogLoss, predict.MetricPositiveRate}
	regressorMetrics  = []string{predict.MetricMAE, predict.MetricRMSE, predict.MetricR2}
)

// versionsFrame is a row per version, newest first: its training, its test figures, how it
// compared with the version promoted when it was registered, and its latest score drift.
func versionsFrame(def *predict.Definition, versions []predict.Version, drift *predict.DriftReport) *data.Frame {
	known := regressorMetrics
	if def.Task == ml.Classification {
		known = classifierMetrics
	}
	var extra []string // metrics a later pkg/predict adds show too, after the known ones
	for _, v := range versions {
		for name := range v.Metrics {
			if name != predict.MetricRows && !slices.Contains(known, name) && !slices.Contains(extra, name) {
				extra = append(extra, name)
			}
		}
	}
	slices.Sort(extra)
	metrics := slices.Concat(known, extra)

	version := data.NewField("version", nil, []int64{})
	promoted := data.NewField("promoted", nil, []bool{})
	algorithm := data.NewField("algorithm", nil, []string{})
	trained := data.NewField("trained", nil, []time.Time{})
	promotedAt := data.NewField("promoted at", nil, []*time.Time{})
	testFrom := data.NewField("test from", nil, []time.Time{})
	testTo := data.NewField("test to", nil, []time.Time{})
	trainRows := data.NewField("training rows", nil, []int64{})
	validRows := data.NewField("validation rows", nil, []int64{})
	testRows := data.NewField("test rows", nil, []int64{})
	metricFields := make([]*data.Field, len(metrics))
	for i, m := range metrics {
		metricFields[i] = data.NewField(m, nil, []*float64{})
	}
	validPrimary := data.NewField("validation "+def.Primary, nil, []*float64{})
	compared := data.NewField("compared with version", nil, []*int64{})
	comparedPrimary := data.NewField("that version's "+def.Primary, nil, []*float64{})
	psi := data.NewField("score PSI", nil, []*float64{})
	for _, v := range versions {
		version.Append(int64(v.Version))
		promoted.Append(v.Promoted)
		algorithm.Append(v.Algorithm)
		trained.Append(v.TrainedAt)
		var pa *time.Time
		if v.Promoted || !v.PromotedAt.IsZero() {
			pa = ptr(v.PromotedAt)
		}
		promotedAt.Append(pa)
		testFrom.Append(v.Window.ValidEnd)
		testTo.Append(v.Window.To)
		trainRows.Append(int64(v.Rows.Train))
		validRows.Append(int64(v.Rows.Valid))
		testRows.Append(int64(v.Rows.Test))
		for i, m := range metrics {
			metricFields[i].Append(metricOf(v.Metrics, m))
		}
		validPrimary.Append(metricOf(v.Validation, def.Primary))
		if c := v.Comparison; c != nil {
			compared.Append(ptr(int64(c.CurrentVersion)))
			comparedPrimary.Append(ptr(c.Current))
		} else {
			compared.Append((*int64)(nil))
			comparedPrimary.Append((*float64)(nil))
		}
		if drift != nil && drift.Version == v.Version {
			psi.Append(ptr(drift.Score))
		} else {
			psi.Append((*float64)(nil))
		}
	}
	for _, f := range append(slices.Clone(metricFields), validPrimary, comparedPrimary, psi) {
		f.Config = &data.FieldConfig{Decimals: ptr(uint16(4))}
	}
	frame := data.NewFrame("versions", version, promoted, algorithm, trained, promotedAt, testFrom, testTo, trainRows, validRows, testRows)
	frame.Fields = append(frame.Fields, metricFields...)
	frame.Fields = append(frame.Fields, validPrimary, compared, comparedPrimary, psi)
	return frame
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func metricOf(m predict.Metrics, name string) *float64 {
	if v, ok := m[name]; ok && !math.IsNaN(v) {
		return ptr(v)
	}
	return nil
}

// reliabilityBins is the number of equal-width bins of a reliability curve: those of the
// registry's expected calibration error.
const reliabilityBins = predict.CalibrationBins

// reliability scores the labelled rows with version v and bins them: for a classifier, the
// reliability curve (mean predicted probability against the observed rate, equal-width bins of
// the probability); for a regressor, the mean prediction against the mean actual value in
// equal-width bins of the prediction. It returns the frame and a summary in words.
func reliability(def *predict.Definition, v *predict.Version, f *predict.Frame) (*data.Frame, string, error) {
	bin := data.NewField("bin", nil, []string{})
	lower := data.NewField("lower", nil, []float64{})
	upper := data.NewField("upper", nil, []float64{})
	predicted := data.NewField("mean predicted", nil, []float64{})
	observed := data.NewField("observed", nil, []float64{})
	rows := data.NewField("rows", nil, []int64{})
	frame := data.NewFrame("reliability", bin, lower, upper, predicted, observed, rows)
	if f.Len() == 0 {
		return frame, "no rows", nil
	}
	d, err := v.Schema.Encode(f)
	if err != nil {
		return nil, "", fmt.Errorf("couldn't encode the recent %s rows for version %d: %w", v.Model, v.Version, err)
	}
	scores, err := ml.Scores(v.Fitted, d)
	if err != nil {
		return nil, "", fmt.Errorf("couldn't score the recent %s rows: %w", v.Model, err)
	}
	var bins []ml.ReliabilityBin
	var summary string
	if def.Task == ml.Classification {
		if bins, err = ml.ReliabilityCurve(f.Y, scores, reliabilityBins); err != nil {
			return nil, "", fmt.Errorf("couldn't compute the reliability curve of %s: %w", v.Model, err)
		}
		ece := 0.0
		for _, b := range bins {
			ece += float64(b.Count) * math.Abs(b.MeanPredicted-b.ObservedRate)
		}
		summary = fmt.Sprintf("expected calibration error %.4f", ece/float64(f.Len()))
		observed.Config = &data.FieldConfig{Description: "share of the bin's rows whose outcome happened"}
	} else {
		bins = regressionBins(f.Y, scores, reliabilityBins)
		mae := 0.0
		for i, y := range f.Y {
			mae += math.Abs(scores[i] - y)
		}
		summary = fmt.Sprintf("mean absolute error %.4f", mae/float64(f.Len()))
		observed.Config = &data.FieldConfig{Description: "mean actual value of the bin's rows"}
	}
	for _, b := range bins {
		bin.Append(fmt.Sprintf("%s–%s", strconv.FormatFloat(b.Lower, 'g', 4, 64), strconv.FormatFloat(b.Upper, 'g', 4, 64)))
		lower.Append(b.Lower)
		upper.Append(b.Upper)
		predicted.Append(b.MeanPredicted)
		observed.Append(b.ObservedRate)
		rows.Append(int64(b.Count))
	}
	return frame, summary, nil
}

// regressionBins cuts the predictions' range into n equal-width bins, (lower, upper] but the
// first also holding the minimum, and returns each non-empty bin's mean prediction and mean
// actual value (in ObservedRate).
func regressionBins(y, p []float64, n int) []ml.ReliabilityBin {
	lo, hi := slices.Min(p), slices.Max(p)
	width := (hi - lo) / float64(n)
	bins := make([]ml.ReliabilityBin, n)
	for b := range bins {
		bins[b].Lower, bins[b].Upper = lo+float64(b)*width, lo+float64(b+1)*width
	}
	bins[n-1].Upper = hi
	for i, v := range p {
		b := 0
		if width > 0 {
			b = min(n-1, max(0, int(math.Ceil((v-lo)/width))-1))
		}
		bins[b].Count++
		bins[b].MeanPredicted += v
		bins[b].ObservedRate += y[i]
	}
	out := bins[:0]
	for _, b := range bins {
		if b.Count > 0 {
			b.MeanPredicted /= float64(b.Count)
			b.ObservedRate /= float64(b.Count)
			out = append(out, b)
		}
	}
	return out
}

// modelInfo is an entry of resources/models: a model of pkg/predict and its promoted version.
type modelInfo struct {
	option
	Task     string     `json:"task"`
	Version  int        `json:"version,omitempty"`
	Trained  *time.Time `json:"trained,omitempty"`
	Scorable bool       `json:"scorable"`
}

// serveModels lists every model with its promoted version ("noshow (version 3, trained
// 2026-06-01)"), those not trained yet included, so editors can offer them before the first
// train job.
func (ds *Datasource) serveModels(w http.ResponseWriter, r *http.Request) {
	promoted, err := ds.predictStore("").PromotedVersions(r.Context())
	if err != nil {
		http.Error(w, "couldn't read the model registry: "+err.Error(), http.StatusBadGateway)
		return
	}
	out := make([]modelInfo, 0, len(predict.Models()))
	for _, def := range predict.Models() {
		m := modelInfo{option: option{Text: def.Name + " (not trained yet)", Value: def.Name}, Task: def.Task.String(),
			Scorable: slices.Contains(predictionModels, def.Name)}
		i := slices.IndexFunc(promoted, func(v predict.Version) bool { return v.Model == def.Name })
		if i >= 0 {
			v := promoted[i]
			m.Text = fmt.Sprintf("%s (version %d, trained %s)", def.Name, v.Version, v.TrainedAt.Format(time.DateOnly))
			m.Version, m.Trained = v.Version, ptr(v.TrainedAt)
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b modelInfo) int { return cmp.Compare(boolInt(!a.Scorable), boolInt(!b.Scorable)) })
	writeJSON(w, out)
}
