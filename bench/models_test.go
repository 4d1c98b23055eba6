package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/forecast"
	"github.com/bdc-analytics/bdc/pkg/ml"
	"github.com/bdc-analytics/bdc/pkg/predict"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// python is Debian's interpreter, which has the peers' modules (scikit-learn, pandas,
// statsmodels, openpyxl, psycopg2) once their python3-* packages are installed; the python3
// first on PATH may be another one without them.
const python = "/usr/bin/python3"

// pythonPackages are the Debian packages the Python peers import, by module: the model and
// forecast peers, and pandas' analytics and export peers (openpyxl writes its XLSX, psycopg2
// reads the database).
var pythonPackages = map[string]string{"sklearn": "python3-sklearn", "pandas": "python3-pandas", "statsmodels": "python3-statsmodels",
	"openpyxl": "python3-openpyxl", "psycopg2": "python3-psycopg2"}

var pythonOnce sync.Once
var pythonErr error

// needPython makes sure /usr/bin/python3 imports every module of pythonPackages: it
// installs the missing Debian packages when running as root with apt-get, as scripts/tools.sh
// does for the other peers, and fails the benchmark with what to install otherwise.
func needPython(b *testing.B) {
	b.Helper()
	pythonOnce.Do(func() {
		var missing []string
		for module, pkg := range pythonPackages {
			if exec.Command(python, "-c", "import "+module).Run() != nil {
				missing = append(missing, pkg)
			}
		}
		if len(missing) == 0 {
			return
		}
		if _, err := exec.LookPath("apt-get"); err != nil || os.Getuid() != 0 {
			pythonErr = fmt.Errorf("the Python peers need %s for %s: apt-get install -y %s",
				strings.Join(missing, ", "), python, strings.Join(missing, " "))
			return
		}
		_ = exec.Command("apt-get", "update", "-qq").Run() // stale lists still serve
		cmd := exec.Command("apt-get", append([]string{"install", "-y", "-qq"}, missing...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			pythonErr = fmt.Errorf("apt-get install %s: %w\n%s", strings.Join(missing, " "), err, out)
		}
	})
	if pythonErr != nil {
		b.Fatal(pythonErr)
	}
}

// peer runs a script of bench/peers with Debian's python and returns its JSON lines.
func peer(b *testing.B, script string, args ...string) []map[string]any {
	b.Helper()
	needPython(b)
	cmd := exec.Command(python, append([]string{filepath.Join("peers", script)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	var results []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			b.Fatalf("%s printed %q: %v", script, sc.Text(), err)
		}
		results = append(results, r)
	}
	return results
}

// benchAppointments is the number of labelled appointments of the model benchmarks:
// BDC_BENCH_APPOINTMENTS, 100,000 by default.
func benchAppointments(b *testing.B) int {
	if v := os.Getenv("BDC_BENCH_APPOINTMENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("BDC_BENCH_APPOINTMENTS=%q: want a number of appointments, at least 1000", v)
		}
		return n
	}
	return 100_000
}

// appointmentsPerUser is how many held (completed or no-show) appointments the generator gives
// per user over two years: about 4.1 (33,000 for 8,000 users).
const appointmentsPerUser = 4.1

// modelPlatform seeds (once per run) a platform with about n held appointments over two years.
func modelPlatform(b *testing.B, n int) *testdb.Database {
	b.Helper()
	users := min(demo.MaxUsers, max(demo.MinUsers, int(math.Ceil(float64(n)/appointmentsPerUser))))
	return testdb.GetScale(b, demo.Config{Users: users, Days: 730, Seed: 1, End: time.Date(2026, 6, 1, 0, 0, 0, 0, demo.Location)})
}

// noShowSplit is the no-show feature matrix of the benchmark platform, split by time as
// pkg/predict trains on it, encoded, and written to CSV for the peers.
type noShowSplit struct {
	train, valid, test *ml.Dataset
	dir                string
}

var (
	splitOnce sync.Once
	split     *noShowSplit
)

func noShowData(b *testing.B) *noShowSplit {
	b.Helper()
	splitOnce.Do(func() {
		n := benchAppointments(b)
		d := modelPlatform(b, n)
		s := predict.NewStore(d.DB)
		begin := time.Now()
		f, err := s.Labelled(context.Background(), predict.NoShow, time.Time{}, d.Seed.End)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("extracted %d appointments' features from PostgreSQL in %s", f.Len(), time.Since(begin).Round(time.Millisecond))
		sp, err := predict.SplitByTime(f, predict.TrainOptions{})
		if err != nil {
			b.Fatal(err)
		}
		def, err := predict.Lookup(predict.NoShow)
		if err != nil {
			b.Fatal(err)
		}
		schema := def.NewSchema(sp.Train, 0)
		out := &noShowSplit{dir: b.TempDir()}
		for _, part := range []struct {
			name  string
			frame *predict.Frame
			dst   **ml.Dataset
		}{{"train", sp.Train, &out.train}, {"valid", sp.Valid, &out.valid}, {"test", sp.Test, &out.test}} {
			ds, err := schema.Encode(part.frame)
			if err != nil {
				b.Fatal(err)
			}
			*part.dst = ds
			if err := writeDataset(filepath.Join(out.dir, part.name+".csv"), ds); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("split %d / %d / %d rows at %s and %s", out.train.Rows(), out.valid.Rows(), out.test.Rows(),
			sp.Window.TrainEnd.Format(time.DateOnly), sp.Window.ValidEnd.Format(time.DateOnly))
		split = out
	})
	if split == nil {
		b.Fatal("no-show data could not be prepared")
	}
	return split
}

// writeDataset writes a dataset as CSV: the feature columns, then the label "y".
func writeDataset(path string, d *ml.Dataset) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(bufio.NewWriter(f))
	row := make([]string, d.Cols()+1)
	_ = w.Write(append(append(row[:0], d.Names...), "y"))
	for i := range d.Rows() {
		for j, v := range d.Row(i) {
			row[j] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		row[d.Cols()] = strconv.FormatFloat(d.Y[i], 'g', -1, 64)
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// forestTrees and forestMinLeaf are the forests' parameters on both sides.
const forestTrees, forestMinLeaf = 100, 20

// BenchmarkNoShowModels trains the no-show classifier on the generated platform's appointments
// (BDC_BENCH_APPOINTMENTS held appointments, 100,000 by default), with features extracted by
// pkg/predict from PostgreSQL and the time-based split it trains on (60/20/20% by the instant
// the outcome became known): pkg/ml's histogram boosting (pkg/predict's no-show parameters)
// and random forest against scikit-learn's HistGradientBoostingClassifier and
// RandomForestClassifier on the same rows. Each reports the test ROC AUC ("auc") and the
// fitting time ("fit-s"); the calibration pkg/predict adds after fitting is left out, as it is
// on the scikit-learn side.
//
// Both boosters follow one early-stopping protocol: fitted on the training and validation rows
// together, they hold out the validation rows' share of them at random (per class) and stop on
// it. scikit-learn 1.2 (Debian's) cannot be given a validation set; pkg/predict stops on the
// later, time-based validation rows instead, which takes more rounds on these data (about 220
// against 130), so that fit is timed too, as "pkg-ml-gbm-timesplit", outside the table.
func BenchmarkNoShowModels(b *testing.B) {
	data := noShowData(b)
	def, err := predict.Lookup(predict.NoShow)
	if err != nil {
		b.Fatal(err)
	}
	gbm := def.GBM
	n := data.train.Rows() + data.valid.Rows() + data.test.Rows()
	rows, scale := fmt.Sprintf("rows=%d", n), fmt.Sprintf("appointments=%d", n)
	var gbmOurs, gbmPeer, forestOurs, forestPeer fitted
	report := func(b *testing.B, m ml.Model, seconds float64, size int) fitted {
		p, err := ml.PredictProba(m, data.test)
		if err != nil {
			b.Fatal(err)
		}
		auc, err := ml.ROCAUC(data.test.Y, p)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(auc, "auc")
		b.ReportMetric(seconds, "fit-s")
		b.ReportMetric(float64(size), "trees")
		return fitted{auc: auc, seconds: seconds}
	}
	b.Run("pkg-ml-gbm/"+rows, func(b *testing.B) {
		trainValid := concatRows(data.train, data.valid)
		gp := gbm
		gp.EarlyStopping = true
		gp.ValidationFraction = float64(data.valid.Rows()) / float64(trainValid.Rows())
		for range b.N {
			begin := time.Now()
			m, err := ml.FitGBM(context.Background(), trainValid, gp)
			if err != nil {
				b.Fatal(err)
			}
			gbmOurs = report(b, m, time.Since(begin).Seconds(), m.NumTrees())
		}
	})
	b.Run("pkg-ml-gbm-timesplit/"+rows, func(b *testing.B) {
		for range b.N {
			begin := time.Now()
			m, err := ml.FitGBMWithValidation(context.Background(), data.train, data.valid, gbm)
			if err != nil {
				b.Fatal(err)
			}
			report(b, m, time.Since(begin).Seconds(), m.NumTrees())
		}
	})
	b.Run("sklearn-hgb/"+rows, func(b *testing.B) {
		params, _ := json.Marshal(map[string]any{
			"learning_rate": gbm.LearningRate, "max_leaf_nodes": gbm.MaxLeafNodes, "min_samples_leaf": gbm.MinSamplesLeaf,
			"l2": gbm.L2, "max_iter": gbm.MaxIter, "patience": gbm.Patience, "tol": 1e-7,
		})
		for range b.N {
			gbmPeer = reportPeer(b, peer(b, "sklearn_noshow.py", "--dir", data.dir, "--model", "hgb", "--params", string(params))[0])
		}
	})
	b.Run("pkg-ml-forest/"+rows, func(b *testing.B) {
		for range b.N {
			begin := time.Now()
			m, err := ml.FitForest(context.Background(), data.train, ml.ForestParams{
				Task: ml.Classification, Trees: forestTrees, MinSamplesLeaf: forestMinLeaf, Seed: 1,
			})
			if err != nil {
				b.Fatal(err)
			}
			forestOurs = report(b, m, time.Since(begin).Seconds(), m.NumTrees())
		}
	})
	b.Run("sklearn-rf/"+rows, func(b *testing.B) {
		params, _ := json.Marshal(map[string]any{"trees": forestTrees, "min_samples_leaf": forestMinLeaf})
		for range b.N {
			forestPeer = reportPeer(b, peer(b, "sklearn_noshow.py", "--dir", data.dir, "--model", "rf", "--params", string(params))[0])
		}
	})
	for _, c := range []struct {
		name, ours, peer string
		o, p             fitted
	}{
		{"no-show gradient boosting", "pkg/ml GBM", "scikit-learn HistGradientBoosting", gbmOurs, gbmPeer},
		{"no-show random forest", "pkg/ml forest", "scikit-learn RandomForest", forestOurs, forestPeer},
	} {
		record(b, Result{Area: "Models", Case: c.name, Scale: scale, Metric: "test ROC AUC", Ours: c.o.auc, OursName: c.ours, Peer: c.p.auc, PeerName: c.peer})
		record(b, Result{Area: "Models", Case: c.name, Scale: scale, Metric: "fit time", Unit: "s", Ours: c.o.seconds, OursName: c.ours,
			Peer: c.p.seconds, PeerName: c.peer, LowerIsBetter: true})
	}
}

// concatRows returns the rows of a followed by those of b.
func concatRows(a, b *ml.Dataset) *ml.Dataset {
	return &ml.Dataset{
		Names: a.Names,
		X:     append(slices.Clone(a.X), b.X...),
		Y:     append(slices.Clone(a.Y), b.Y...),
		W:     append(slices.Clone(a.W), b.W...),
	}
}

// fitted is a model's test AUC and fitting time.
type fitted struct{ auc, seconds float64 }

// reportPeer reports a peer's test AUC, fitting time and size, and returns the first two.
func reportPeer(b *testing.B, r map[string]any) fitted {
	b.Helper()
	b.ReportMetric(r["auc"].(float64), "auc")
	b.ReportMetric(r["fit_seconds"].(float64), "fit-s")
	b.ReportMetric(r["size"].(float64), "trees")
	return fitted{auc: r["auc"].(float64), seconds: r["fit_seconds"].(float64)}
}

// BenchmarkForecasts backtests pkg/forecast (ETS chosen by AICc) and statsmodels'
// ExponentialSmoothing (Holt-Winters with additive, and additive damped, trend; intervals
// simulated) on the same rolling origins of two series: the generated platform's daily
// appointments read from PostgreSQL by pkg/predict (weekly season, 28 days ahead from 23 weekly
// origins over its last six months), and statsmodels' monthly Mauna Loa CO2 means from 1965
// (yearly season, 12 months ahead from 10 yearly origins over its last ten years). Ours runs
// as its users get it: on the daily series with pkg/predict's options (empirical intervals),
// on CO2 with pkg/forecast's defaults (the model's Gaussian intervals). Each reports MASE,
// sMAPE, the coverage of the 80% and 95% intervals, and the fitting time of all origins.
func BenchmarkForecasts(b *testing.B) {
	needPython(b)
	dir := b.TempDir()

	d := modelPlatform(b, benchAppointments(b))
	s := predict.NewStore(d.DB)
	daily, err := s.Series(context.Background(), predict.SeriesAppointments, d.Seed.End.AddDate(0, 0, -730), d.Seed.End)
	if err != nil {
		b.Fatal(err)
	}
	co2Path := filepath.Join(dir, "co2.csv")
	peer(b, "statsmodels_forecast.py", "co2", co2Path)
	co2, err := readSeries(co2Path)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name                  string
		values                []float64
		period, horizon, step int
		origins               int
		options               forecast.Options
	}{
		{name: "daily-appointments", values: daily.Values, period: 7, horizon: 28, step: 7, origins: 23,
			options: predict.SeriesForecastOptions(forecast.MethodAuto)},
		{name: "co2-monthly", values: co2, period: 12, horizon: 12, step: 12, origins: 10,
			options: forecast.Options{Period: 12}},
	} {
		first := len(c.values) - c.horizon - c.step*(c.origins-1)
		origins := forecast.RollingOrigins(len(c.values), first, c.horizon, c.step)
		path := filepath.Join(dir, c.name+".csv")
		if err := writeSeries(path, c.values); err != nil {
			b.Fatal(err)
		}
		label := fmt.Sprintf("%s/n=%d", c.name, len(c.values))
		var ours backtested
		theirs := map[string]backtested{}
		b.Run("pkg-forecast/"+label, func(b *testing.B) {
			for range b.N {
				begin := time.Now()
				res, err := forecast.Backtest(c.values, c.options, origins, c.horizon, 0.8, 0.95)
				if err != nil {
					b.Fatal(err)
				}
				ours = reportForecast(b, res.Overall.MASE, res.Overall.SMAPE, res.Overall.Coverage[0], res.Overall.Coverage[1], time.Since(begin).Seconds())
				b.Logf("models chosen: %s", strings.Join(uniq(res.Models), ", "))
			}
		})
		var strs []string
		for _, o := range origins {
			strs = append(strs, strconv.Itoa(o))
		}
		for _, cfg := range []string{"holt_winters_additive", "holt_winters_damped"} {
			b.Run("statsmodels-"+cfg+"/"+label, func(b *testing.B) {
				for range b.N {
					results := peer(b, "statsmodels_forecast.py", "backtest", "--series", path, "--period", strconv.Itoa(c.period),
						"--horizon", strconv.Itoa(c.horizon), "--origins", strings.Join(strs, ","), "--config", cfg)
					r, err := pick(results, cfg)
					if err != nil {
						b.Fatal(err)
					}
					theirs[cfg] = reportForecast(b, r["mase"].(float64), r["smape"].(float64), r["coverage80"].(float64), r["coverage95"].(float64), r["fit_seconds"].(float64))
				}
			})
		}
		for _, cfg := range slices.Sorted(maps.Keys(theirs)) {
			recordForecast(b, fmt.Sprintf("%s, %d origins x %d steps", c.name, c.origins, c.horizon), fmt.Sprintf("n=%d", len(c.values)),
				ours, theirs[cfg], "statsmodels "+strings.ReplaceAll(cfg, "_", " "))
		}
	}
}

// backtested is a backtest's figures: errors, interval coverage (fractions) and fitting time.
type backtested struct{ mase, smape, cov80, cov95, seconds float64 }

func reportForecast(b *testing.B, mase, smape, cov80, cov95, seconds float64) backtested {
	b.ReportMetric(mase, "MASE")
	b.ReportMetric(smape, "sMAPE-%")
	b.ReportMetric(100*cov80, "cover80-%")
	b.ReportMetric(100*cov95, "cover95-%")
	b.ReportMetric(seconds, "fit-s")
	return backtested{mase: mase, smape: smape, cov80: cov80, cov95: cov95, seconds: seconds}
}

// recordForecast records a backtest of ours beside a peer's: errors and time lower is better,
// coverage best at its nominal level.
func recordForecast(b *testing.B, name, scale string, ours, peer backtested, peerName string) {
	for _, r := range []Result{
		{Metric: "MASE", Ours: ours.mase, Peer: peer.mase, LowerIsBetter: true},
		{Metric: "sMAPE", Unit: "%", Ours: ours.smape, Peer: peer.smape, LowerIsBetter: true},
		{Metric: "80% interval coverage", Unit: "%", Ours: 100 * ours.cov80, Peer: 100 * peer.cov80, Nominal: 80},
		{Metric: "95% interval coverage", Unit: "%", Ours: 100 * ours.cov95, Peer: 100 * peer.cov95, Nominal: 95},
		{Metric: "fit time, all origins", Unit: "s", Ours: ours.seconds, Peer: peer.seconds, LowerIsBetter: true},
	} {
		r.Area, r.Case, r.Scale, r.OursName, r.PeerName = "Forecasts", name, scale, "pkg/forecast ETS", peerName
		record(b, r)
	}
}

func pick(results []map[string]any, model string) (map[string]any, error) {
	for _, r := range results {
		if r["model"] == model {
			return r, nil
		}
	}
	return nil, errors.New("statsmodels peer printed no result for " + model)
}

func writeSeries(path string, values []float64) error {
	var buf bytes.Buffer
	buf.WriteString("value\n")
	for _, v := range values {
		buf.WriteString(strconv.FormatFloat(v, 'g', -1, 64) + "\n")
	}
	return os.WriteFile(path, buf.Bytes(), 0o600)
}

func readSeries(path string) ([]float64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	out := make([]float64, 0, len(lines))
	for _, l := range lines[1:] {
		v, err := strconv.ParseFloat(strings.TrimSpace(l), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
