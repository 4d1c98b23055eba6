package ml

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// The reference figures come from scikit-learn through testdata/sklearn_reference.py and are
// committed, so tests never need Python. -update runs the script first to regenerate them:
//
//	go test ./pkg/ml/ -run TestGolden -update
var update = flag.Bool("update", false, "regenerate testdata/ with scikit-learn (runs /usr/bin/python3 testdata/sklearn_reference.py)")

// referencePython is Debian's interpreter, where python3-sklearn installs; the python3 first
// on PATH may be another one without scikit-learn.
const referencePython = "/usr/bin/python3"

func TestMain(m *testing.M) {
	flag.Parse()
	if *update {
		cmd := exec.Command(referencePython, filepath.Join("testdata", "sklearn_reference.py"))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "regenerating testdata with scikit-learn: %v\n", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// golden is testdata/sklearn_golden.json.
type golden struct {
	SklearnVersion        string `json:"sklearn_version"`
	ClassificationMetrics []struct {
		Name             string    `json:"name"`
		Y                []float64 `json:"y"`
		P                []float64 `json:"p"`
		ROCAUC           float64   `json:"roc_auc"`
		AveragePrecision float64   `json:"average_precision"`
		LogLoss          float64   `json:"log_loss"`
		Brier            float64   `json:"brier"`
		ReliabilityTrue  []float64 `json:"reliability_true"`
		ReliabilityPred  []float64 `json:"reliability_pred"`
		ReliabilityCount []int     `json:"reliability_count"`
		ECE              float64   `json:"ece"`
	} `json:"classification_metrics"`
	RegressionMetrics []struct {
		Name string    `json:"name"`
		Y    []float64 `json:"y"`
		P    []float64 `json:"p"`
		MAE  float64   `json:"mae"`
		RMSE float64   `json:"rmse"`
		R2   float64   `json:"r2"`
	} `json:"regression_metrics"`
	Isotonic []struct {
		X, Y, W, Query, Predict []float64
		XThresholds             []float64 `json:"x_thresholds"`
		YThresholds             []float64 `json:"y_thresholds"`
	} `json:"isotonic"`
	Platt []struct {
		Score []float64 `json:"score"`
		Y     []float64 `json:"y"`
		A     float64   `json:"a"`
		B     float64   `json:"b"`
	} `json:"platt"`
	Models struct {
		Params struct {
			Tree      sklearnTree `json:"tree"`
			ExactTree sklearnTree `json:"exact_tree"`
			Forest    struct {
				NEstimators    int `json:"n_estimators"`
				MinSamplesLeaf int `json:"min_samples_leaf"`
			} `json:"forest"`
			GBM struct {
				MaxIter        int     `json:"max_iter"`
				LearningRate   float64 `json:"learning_rate"`
				MaxLeafNodes   int     `json:"max_leaf_nodes"`
				MinSamplesLeaf int     `json:"min_samples_leaf"`
			} `json:"gbm"`
			LogisticC float64 `json:"logistic_c"`
		} `json:"params"`
		Classification struct {
			TruthROCAUC    float64           `json:"truth_roc_auc"`
			Tree           sklearnClassifier `json:"tree"`
			Forest         sklearnClassifier `json:"forest"`
			GBM            sklearnClassifier `json:"gbm"`
			Logistic       sklearnClassifier `json:"logistic"`
			ExactTreeProba []float64         `json:"exact_tree_proba"`
		} `json:"classification"`
		Regression struct {
			TruthR2       float64          `json:"truth_r2"`
			Tree          sklearnRegressor `json:"tree"`
			Forest        sklearnRegressor `json:"forest"`
			GBM           sklearnRegressor `json:"gbm"`
			Linear        sklearnRegressor `json:"linear"`
			ExactTreePred []float64        `json:"exact_tree_pred"`
		} `json:"regression"`
	} `json:"models"`
}

type sklearnTree struct {
	MaxDepth       int `json:"max_depth"`
	MinSamplesLeaf int `json:"min_samples_leaf"`
}

type sklearnClassifier struct {
	ROCAUC                float64   `json:"roc_auc"`
	LogLoss               float64   `json:"log_loss"`
	Brier                 float64   `json:"brier"`
	OOBROCAUC             float64   `json:"oob_roc_auc"`
	StandardizedCoef      []float64 `json:"standardized_coef"`
	StandardizedIntercept float64   `json:"standardized_intercept"`
}

type sklearnRegressor struct {
	R2        float64   `json:"r2"`
	RMSE      float64   `json:"rmse"`
	OOBR2     float64   `json:"oob_r2"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
}

var (
	goldenOnce sync.Once
	goldenData golden
	goldenErr  error
)

// loadGolden reads testdata/sklearn_golden.json once.
func loadGolden(t testing.TB) *golden {
	t.Helper()
	goldenOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join("testdata", "sklearn_golden.json"))
		if err != nil {
			goldenErr = err
			return
		}
		goldenErr = json.Unmarshal(b, &goldenData)
	})
	if goldenErr != nil {
		t.Fatalf("reading golden file (regenerate with go test ./pkg/ml/ -run TestGolden -update): %v", goldenErr)
	}
	return &goldenData
}

// splitData is a reference dataset split as the script split it, with its ground truth.
type splitData struct {
	train, test           *Dataset
	trainTruth, testTruth []float64
}

// loadSplit reads testdata/<name>.csv: features, y, the true probability or mean, and the
// train/test split.
func loadSplit(t testing.TB, name string) splitData {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	p := len(header) - 3
	names := header[:p]
	s := splitData{train: &Dataset{Names: names}, test: &Dataset{Names: names}}
	for _, r := range recs[1:] {
		vals := make([]float64, p+2)
		for j := range vals {
			if vals[j], err = strconv.ParseFloat(r[j], 64); err != nil {
				t.Fatal(err)
			}
		}
		d, truth := s.train, &s.trainTruth
		if r[p+2] == "test" {
			d, truth = s.test, &s.testTruth
		}
		d.X = append(d.X, vals[:p]...)
		d.Y = append(d.Y, vals[p])
		*truth = append(*truth, vals[p+1])
	}
	return s
}

// near reports whether got is within tol of want, relative to want's size when it is above 1.
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestGoldenClassificationMetrics(t *testing.T) {
	g := loadGolden(t)
	const tol = 1e-12
	for _, c := range g.ClassificationMetrics {
		t.Run(c.Name, func(t *testing.T) {
			check := func(what string, f func(y, p []float64) (float64, error), want float64) {
				t.Helper()
				got, err := f(c.Y, c.P)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if !near(got, want, tol) {
					t.Errorf("%s = %.17g, scikit-learn %.17g", what, got, want)
				}
			}
			check("roc auc", ROCAUC, c.ROCAUC)
			check("average precision", AveragePrecision, c.AveragePrecision)
			check("log loss", LogLoss, c.LogLoss)
			check("brier", Brier, c.Brier)
			check("ece", func(y, p []float64) (float64, error) { return ExpectedCalibrationError(y, p, 10) }, c.ECE)
			curve, err := ReliabilityCurve(c.Y, c.P, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(curve) != len(c.ReliabilityTrue) {
				t.Fatalf("reliability curve has %d bins, scikit-learn's calibration_curve %d", len(curve), len(c.ReliabilityTrue))
			}
			for k, b := range curve {
				if !near(b.ObservedRate, c.ReliabilityTrue[k], tol) || !near(b.MeanPredicted, c.ReliabilityPred[k], tol) || b.Count != c.ReliabilityCount[k] {
					t.Errorf("bin %d = %+v, scikit-learn observed %v predicted %v count %d",
						k, b, c.ReliabilityTrue[k], c.ReliabilityPred[k], c.ReliabilityCount[k])
				}
			}
		})
	}
}

func TestGoldenRegressionMetrics(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.RegressionMetrics {
		for _, m := range []struct {
			name string
			f    func(y, p []float64) (float64, error)
			want float64
		}{{"mae", MAE, c.MAE}, {"rmse", RMSE, c.RMSE}, {"r2", R2, c.R2}} {
			got, err := m.f(c.Y, c.P)
			if err != nil {
				t.Fatalf("%s %s: %v", c.Name, m.name, err)
			}
			if !near(got, m.want, 1e-12) {
				t.Errorf("%s %s = %.17g, scikit-learn %.17g", c.Name, m.name, got, m.want)
			}
		}
	}
}

func TestGoldenIsotonic(t *testing.T) {
	g := loadGolden(t)
	for k, c := range g.Isotonic {
		iso, err := FitIsotonic(c.X, c.Y, c.W)
		if err != nil {
			t.Fatalf("case %d: %v", k, err)
		}
		xs, ys := iso.Points()
		if len(xs) != len(c.XThresholds) {
			t.Fatalf("case %d: %d fitted points, scikit-learn %d", k, len(xs), len(c.XThresholds))
		}
		for i := range xs {
			if xs[i] != c.XThresholds[i] || !near(ys[i], c.YThresholds[i], 1e-12) {
				t.Errorf("case %d point %d = (%v, %v), scikit-learn (%v, %v)", k, i, xs[i], ys[i], c.XThresholds[i], c.YThresholds[i])
			}
			if i > 0 && ys[i] < ys[i-1] {
				t.Errorf("case %d: fit decreases at point %d", k, i)
			}
		}
		for i, q := range c.Query {
			if got := iso.Calibrate(q); !near(got, c.Predict[i], 1e-12) {
				t.Errorf("case %d: Calibrate(%v) = %.17g, scikit-learn %.17g", k, q, got, c.Predict[i])
			}
		}
	}
}

func TestGoldenPlatt(t *testing.T) {
	g := loadGolden(t)
	for k, c := range g.Platt {
		pl, err := FitPlatt(c.Score, c.Y, nil)
		if err != nil {
			t.Fatalf("case %d: %v", k, err)
		}
		// scikit-learn stops BFGS at a gradient norm of 1e-5 on the summed loss; ours
		// converges further, so the parameters agree to about 1e-6.
		t.Logf("case %d: A %.10f (scikit-learn %.10f), B %.10f (%.10f)", k, pl.A, c.A, pl.B, c.B)
		if !near(pl.A, c.A, 1e-5) || !near(pl.B, c.B, 1e-5) {
			t.Errorf("case %d: A, B = %v, %v; scikit-learn %v, %v", k, pl.A, pl.B, c.A, c.B)
		}
	}
}
