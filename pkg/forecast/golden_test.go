package forecast

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The golden files under testdata/ are written by
// testdata/statsmodels_golden.py from statsmodels' ETSModel and ThetaModel;
// the tests only read them.

type goldenFile struct {
	StatsmodelsVersion string          `json:"statsmodels_version"`
	Levels             []float64       `json:"levels"`
	Datasets           []goldenDataset `json:"datasets"`
}

type goldenDataset struct {
	Name     string      `json:"name"`
	CSV      string      `json:"csv"`
	Period   int         `json:"period"`
	Horizon  int         `json:"horizon"`
	ETS      []goldenETS `json:"ets"`
	Theta    goldenTheta `json:"theta"`
	AICcBest string      `json:"aicc_best"`
	series   []float64
	dates    []time.Time
}

type goldenETS struct {
	Model          string               `json:"model"`
	LLF            float64              `json:"llf"`
	AICc           float64              `json:"aicc"`
	DFModel        int                  `json:"df_model"`
	MSE            float64              `json:"mse"`
	Params         map[string]float64   `json:"params"`
	IntervalMethod string               `json:"interval_method"`
	Mean           []float64            `json:"mean"`
	Lower          map[string][]float64 `json:"lower"`
	Upper          map[string][]float64 `json:"upper"`
	SeasonTimeOrd  []float64            `json:"initial_seasonal_time_order"`
}

type goldenTheta struct {
	B0             float64              `json:"b0"`
	Alpha          float64              `json:"alpha"`
	Deseasonalized bool                 `json:"deseasonalized"`
	Method         string               `json:"method"`
	Mean           []float64            `json:"mean"`
	Lower          map[string][]float64 `json:"lower"`
	Upper          map[string][]float64 `json:"upper"`
}

func loadGolden(t testing.TB) *goldenFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "statsmodels.json"))
	if err != nil {
		t.Fatalf("reading golden file: %v", err)
	}
	var g goldenFile
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("decoding golden file: %v", err)
	}
	for i := range g.Datasets {
		d := &g.Datasets[i]
		d.dates, d.series = readSeriesCSV(t, filepath.Join("testdata", d.CSV))
	}
	return &g
}

func (g *goldenFile) dataset(t testing.TB, name string) *goldenDataset {
	t.Helper()
	for i := range g.Datasets {
		if g.Datasets[i].Name == name {
			return &g.Datasets[i]
		}
	}
	t.Fatalf("golden dataset %q missing", name)
	return nil
}

// readSeriesCSV reads a date,value CSV written by the golden script.
func readSeriesCSV(t testing.TB, path string) ([]time.Time, []float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var dates []time.Time
	var values []float64
	for i, row := range rows[1:] {
		d, err := time.Parse(time.DateOnly, row[0])
		if err != nil {
			t.Fatalf("%s row %d: %v", path, i+2, err)
		}
		v, err := strconv.ParseFloat(row[1], 64)
		if err != nil {
			t.Fatalf("%s row %d: %v", path, i+2, err)
		}
		dates = append(dates, d)
		values = append(values, v)
	}
	return dates, values
}

// statsmodelsParams maps statsmodels' ETSModel parameters to ETSParams in
// the time order used here. statsmodels fixes the oldest initial seasonal
// state at 0 (or 1) where this package normalises their sum; both describe
// the same model, and filter does not depend on the normalisation.
func statsmodelsParams(spec ETSSpec, g goldenETS) ETSParams {
	p := ETSParams{
		Alpha: g.Params["smoothing_level"],
		Beta:  g.Params["smoothing_trend"],
		Gamma: g.Params["smoothing_seasonal"],
		Phi:   1,
		Level: g.Params["initial_level"],
		Slope: g.Params["initial_trend"],
	}
	if spec.Trend == TrendDamped {
		p.Phi = g.Params["damping_trend"]
	}
	if spec.Seasonal() {
		p.Season = append([]float64(nil), g.SeasonTimeOrd...)
	}
	return p
}
