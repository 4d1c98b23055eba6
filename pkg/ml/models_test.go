package ml

import (
	"context"
	"math"
	"testing"
)

// Quality against scikit-learn on the same data, fitted with matching hyperparameters
// (testdata/sklearn_reference.py). Ours must come within these distances of scikit-learn's
// test-set figures: the algorithms are the same, but random draws (bootstrap, feature
// candidates) and boosting details (bin edges, tie-breaking) differ.
const (
	aucTolerance = 0.02 // ROC AUC, classifiers
	r2Tolerance  = 0.02 // R², regressors
)

// Hyperparameters matching the golden file's.
func referenceParams(t *testing.T) (tree, exact TreeParams, forest ForestParams, gbm GBMParams, c float64) {
	g := loadGolden(t)
	pr := g.Models.Params
	tree = TreeParams{MaxDepth: pr.Tree.MaxDepth, MinSamplesLeaf: pr.Tree.MinSamplesLeaf}
	exact = TreeParams{MaxDepth: pr.ExactTree.MaxDepth, MinSamplesLeaf: pr.ExactTree.MinSamplesLeaf}
	forest = ForestParams{Trees: pr.Forest.NEstimators, MinSamplesLeaf: pr.Forest.MinSamplesLeaf, Seed: 1}
	gbm = GBMParams{
		MaxIter: pr.GBM.MaxIter, LearningRate: pr.GBM.LearningRate,
		MaxLeafNodes: pr.GBM.MaxLeafNodes, MinSamplesLeaf: pr.GBM.MinSamplesLeaf,
	}
	return tree, exact, forest, gbm, pr.LogisticC
}

func TestClassifiersMatchSklearn(t *testing.T) {
	g := loadGolden(t)
	ref := g.Models.Classification
	s := loadSplit(t, "classification")
	ctx := context.Background()
	tree, _, forest, gbm, c := referenceParams(t)
	tree.Task, forest.Task, gbm.Task = Classification, Classification, Classification

	fitTree := func() (Model, error) { return FitTree(ctx, s.train, tree) }
	fitForest := func() (Model, error) { return FitForest(ctx, s.train, forest) }
	fitGBM := func() (Model, error) { return FitGBM(ctx, s.train, gbm) }
	fitLogistic := func() (Model, error) { return FitLogistic(ctx, s.train, LogisticParams{C: c}) }
	for _, tc := range []struct {
		name string
		fit  func() (Model, error)
		ref  sklearnClassifier
	}{
		{"tree", fitTree, ref.Tree},
		{"forest", fitForest, ref.Forest},
		{"gbm", fitGBM, ref.GBM},
		{"logistic", fitLogistic, ref.Logistic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.fit()
			if err != nil {
				t.Fatal(err)
			}
			p, err := PredictProba(m, s.test)
			if err != nil {
				t.Fatal(err)
			}
			auc := must(ROCAUC(s.test.Y, p))
			ll := must(LogLoss(s.test.Y, p))
			brier := must(Brier(s.test.Y, p))
			t.Logf("test ROC AUC %.4f (scikit-learn %.4f, ground truth %.4f), log loss %.4f (%.4f), Brier %.4f (%.4f)",
				auc, tc.ref.ROCAUC, ref.TruthROCAUC, ll, tc.ref.LogLoss, brier, tc.ref.Brier)
			if auc < tc.ref.ROCAUC-aucTolerance {
				t.Errorf("test ROC AUC %.4f is more than %v below scikit-learn's %.4f", auc, aucTolerance, tc.ref.ROCAUC)
			}
			if f, ok := m.(*Forest); ok {
				oob, ok := f.OOBScore()
				t.Logf("out-of-bag ROC AUC %.4f (scikit-learn %.4f)", oob, tc.ref.OOBROCAUC)
				if !ok || math.Abs(oob-tc.ref.OOBROCAUC) > aucTolerance {
					t.Errorf("out-of-bag ROC AUC %.4f (ok %v), scikit-learn %.4f", oob, ok, tc.ref.OOBROCAUC)
				}
			}
		})
	}
}

func TestRegressorsMatchSklearn(t *testing.T) {
	g := loadGolden(t)
	ref := g.Models.Regression
	s := loadSplit(t, "regression")
	ctx := context.Background()
	tree, _, forest, gbm, _ := referenceParams(t)
	tree.Task, forest.Task, gbm.Task = Regression, Regression, Regression

	for _, tc := range []struct {
		name string
		fit  func() (Model, error)
		ref  sklearnRegressor
	}{
		{"tree", func() (Model, error) { return FitTree(ctx, s.train, tree) }, ref.Tree},
		{"forest", func() (Model, error) { return FitForest(ctx, s.train, forest) }, ref.Forest},
		{"gbm", func() (Model, error) { return FitGBM(ctx, s.train, gbm) }, ref.GBM},
		{"linear", func() (Model, error) { return FitLinear(ctx, s.train) }, ref.Linear},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.fit()
			if err != nil {
				t.Fatal(err)
			}
			p := must(Predict(m, s.test))
			r2 := must(R2(s.test.Y, p))
			rmse := must(RMSE(s.test.Y, p))
			t.Logf("test R² %.4f (scikit-learn %.4f, ground truth %.4f), RMSE %.4f (%.4f)", r2, tc.ref.R2, ref.TruthR2, rmse, tc.ref.RMSE)
			if r2 < tc.ref.R2-r2Tolerance {
				t.Errorf("test R² %.4f is more than %v below scikit-learn's %.4f", r2, r2Tolerance, tc.ref.R2)
			}
			if f, ok := m.(*Forest); ok {
				oob, ok := f.OOBScore()
				t.Logf("out-of-bag R² %.4f (scikit-learn %.4f)", oob, tc.ref.OOBR2)
				if !ok || math.Abs(oob-tc.ref.OOBR2) > r2Tolerance {
					t.Errorf("out-of-bag R² %.4f (ok %v), scikit-learn %.4f", oob, ok, tc.ref.OOBR2)
				}
			}
		})
	}
}

// A CART tree has no randomness when every feature is a candidate, so on the same float32
// values ours must grow scikit-learn's tree: the same predictions on every test row.
func TestTreeEqualsSklearnTree(t *testing.T) {
	g := loadGolden(t)
	_, exact, _, _, _ := referenceParams(t)
	for _, tc := range []struct {
		data string
		task Task
		want []float64
	}{
		{"classification", Classification, g.Models.Classification.ExactTreeProba},
		{"regression", Regression, g.Models.Regression.ExactTreePred},
	} {
		s := loadSplit(t, tc.data)
		params := exact
		params.Task = tc.task
		m, err := FitTree(context.Background(), s.train, params)
		if err != nil {
			t.Fatal(err)
		}
		p := must(Scores(m, s.test))
		bad := 0
		for i := range p {
			if !near(p[i], tc.want[i], 1e-12) {
				if bad++; bad <= 5 {
					t.Errorf("%s row %d: %.17g, scikit-learn %.17g", tc.data, i, p[i], tc.want[i])
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d test predictions differ from scikit-learn's", tc.data, bad, len(p))
		}
	}
}

func TestLinearCoefficientsMatchSklearn(t *testing.T) {
	ref := loadGolden(t).Models.Regression.Linear
	s := loadSplit(t, "regression")
	m, err := FitLinear(context.Background(), s.train)
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range m.Coefficients() {
		if math.Abs(c-ref.Coef[j]) > 1e-6 {
			t.Errorf("coefficient %d = %.12g, scikit-learn %.12g", j, c, ref.Coef[j])
		}
	}
	if math.Abs(m.Intercept()-ref.Intercept) > 1e-6 {
		t.Errorf("intercept = %.12g, scikit-learn %.12g", m.Intercept(), ref.Intercept)
	}
}

func TestLogisticCoefficientsMatchSklearn(t *testing.T) {
	ref := loadGolden(t).Models.Classification.Logistic
	s := loadSplit(t, "classification")
	m, err := FitLogistic(context.Background(), s.train, LogisticParams{C: loadGolden(t).Models.Params.LogisticC})
	if err != nil {
		t.Fatal(err)
	}
	// Both minimize the same strictly convex objective (scikit-learn on StandardScaler
	// output, tol 1e-12), so the optimum agrees to the solvers' precision.
	for j, c := range m.StandardizedCoefficients() {
		if math.Abs(c-ref.StandardizedCoef[j]) > 1e-5 {
			t.Errorf("standardized coefficient %d = %.10g, scikit-learn %.10g", j, c, ref.StandardizedCoef[j])
		}
	}
	if math.Abs(m.bias-ref.StandardizedIntercept) > 1e-5 {
		t.Errorf("standardized intercept = %.10g, scikit-learn %.10g", m.bias, ref.StandardizedIntercept)
	}
}

// must returns v, panicking on err: for metrics on inputs that are valid by construction.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
