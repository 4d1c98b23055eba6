package ml

import (
	"context"
	"math"
	"slices"
	"testing"
)

func TestBoostingLowersTrainingLossEachRound(t *testing.T) {
	for _, task := range []Task{Classification, Regression} {
		d := synth(3000, 6, task, 11)
		m, err := FitGBM(context.Background(), d, GBMParams{Task: task, MaxIter: 60})
		if err != nil {
			t.Fatal(err)
		}
		loss := m.TrainLoss()
		if len(loss) != 61 || m.NumTrees() != 60 {
			t.Fatalf("%s: %d losses for %d trees, want 61 for 60", task, len(loss), m.NumTrees())
		}
		for k := 1; k < len(loss); k++ {
			if loss[k] >= loss[k-1] {
				t.Errorf("%s: round %d loss %v did not drop from %v", task, k, loss[k], loss[k-1])
			}
		}
		// The recorded loss is the loss of the model's own predictions.
		scores := must(Scores(m, d))
		var got float64
		if task == Classification {
			got = must(LogLoss(d.Y, scores))
		} else {
			r := must(RMSE(d.Y, scores))
			got = r * r
		}
		if !near(got, loss[len(loss)-1], 1e-9) {
			t.Errorf("%s: final training loss %v, recomputed %v", task, loss[len(loss)-1], got)
		}
	}
}

// The training and validation losses are summed without a logarithm per row (logSum); with
// weights other than 1 among the rows, they must still equal the mean weighted log-loss of the
// model's predictions computed the plain way, round by round.
func TestBoostingLossesWithWeights(t *testing.T) {
	train := synth(9000, 5, Classification, 12)
	valid := synth(5000, 5, Classification, 13)
	for _, d := range []*Dataset{train, valid} {
		d.W = make([]float64, d.Rows())
		for i := range d.W {
			d.W[i] = 1
			if i%3 == 0 {
				d.W[i] = 0.5 + float64(i%7)
			}
		}
	}
	m, err := FitGBMWithValidation(context.Background(), train, valid, GBMParams{Task: Classification, MaxIter: 25, Patience: 25})
	if err != nil {
		t.Fatal(err)
	}
	plain := func(d *Dataset, trees int) float64 {
		var sum, sw float64
		for i := range d.Rows() {
			raw := m.baseline
			for _, tr := range m.trees[:trees] {
				raw += tr.RawPredict(d.Row(i))
			}
			sum += d.W[i] * (math.Log1p(math.Exp(-math.Abs(raw))) + max(raw, 0) - d.Y[i]*raw)
			sw += d.W[i]
		}
		return sum / sw
	}
	if m.NumTrees() != 25 {
		t.Fatalf("%d trees, want 25", m.NumTrees())
	}
	for k := 0; k <= 25; k += 5 {
		if got, want := m.TrainLoss()[k], plain(train, k); !near(got, want, 1e-12) {
			t.Errorf("training loss after %d rounds %v, plain %v", k, got, want)
		}
		if got, want := m.ValidationLoss()[k], plain(valid, k); !near(got, want, 1e-12) {
			t.Errorf("validation loss after %d rounds %v, plain %v", k, got, want)
		}
	}
}

func TestBoostingStopsEarlyAtBestValidationRound(t *testing.T) {
	train := synth(1500, 6, Classification, 21)
	valid := synth(1500, 6, Classification, 22)
	// A high learning rate and small leaves overfit quickly, so validation loss turns up.
	p := GBMParams{Task: Classification, MaxIter: 500, LearningRate: 0.5, MinSamplesLeaf: 2, Patience: 5}
	m, err := FitGBMWithValidation(context.Background(), train, valid, p)
	if err != nil {
		t.Fatal(err)
	}
	vl := m.ValidationLoss()
	best := slices.Index(vl, slices.Min(vl))
	if len(vl) >= 501 {
		t.Fatalf("did not stop early: %d rounds", len(vl)-1)
	}
	if len(vl)-1 != best+p.Patience {
		t.Errorf("stopped after round %d, want %d rounds after the best (%d)", len(vl)-1, p.Patience, best)
	}
	if m.NumTrees() != best {
		t.Errorf("kept %d trees, want the best round %d", m.NumTrees(), best)
	}
	probs := must(PredictProba(m, valid))
	if got := must(LogLoss(valid.Y, probs)); !near(got, vl[best], 1e-9) {
		t.Errorf("validation log loss of the kept model %v, recorded best %v", got, vl[best])
	}

	// FitGBM holds out its own validation rows when asked.
	m2, err := FitGBM(context.Background(), train, GBMParams{Task: Classification, MaxIter: 500, LearningRate: 0.5, MinSamplesLeaf: 2, EarlyStopping: true})
	if err != nil {
		t.Fatal(err)
	}
	if m2.NumTrees() >= 500 || len(m2.ValidationLoss()) == 0 {
		t.Errorf("FitGBM with EarlyStopping kept %d trees, %d validation losses", m2.NumTrees(), len(m2.ValidationLoss()))
	}
}

func TestBinEdges(t *testing.T) {
	// Few distinct values: an edge between each pair.
	e := featureEdges([]float64{3, 1, 2, 2, 1, 3}, 255)
	if !slices.Equal(e, []float64{1.5, 2.5}) {
		t.Errorf("edges %v, want [1.5 2.5]", e)
	}
	// Many values: at most maxBins bins, strictly increasing edges, and a value is in bin b
	// exactly when it is ≤ edge b and above edge b−1.
	d := synth(5000, 1, Regression, 1)
	rows := make([]int, d.Rows())
	for i := range rows {
		rows[i] = i
	}
	edges := fitBinEdges(d, rows, 16, 0)
	if len(edges[0]) != 15 {
		t.Fatalf("%d edges for 16 bins", len(edges[0]))
	}
	counts := make([]int, 16)
	for i := range d.Rows() {
		v := d.X[i]
		b := int(edges.bin(0, v))
		counts[b]++
		if (b < 15 && v > edges[0][b]) || (b > 0 && v <= edges[0][b-1]) {
			t.Fatalf("value %v in bin %d with edges %v", v, b, edges[0])
		}
	}
	for b, c := range counts {
		// Quantile bins hold about 5000/16 ≈ 312 rows each.
		if math.Abs(float64(c)-312.5) > 5 {
			t.Errorf("bin %d holds %d rows", b, c)
		}
	}
}

func TestBoostingRespectsLeafLimits(t *testing.T) {
	d := synth(3000, 6, Regression, 5)
	m, err := FitGBM(context.Background(), d, GBMParams{Task: Regression, MaxIter: 10, MaxLeafNodes: 7, MaxDepth: 3, MinSamplesLeaf: 50})
	if err != nil {
		t.Fatal(err)
	}
	for k, tr := range m.trees {
		leaves := 0
		for _, n := range tr.nodes {
			if n.Feature < 0 {
				leaves++
				if n.Samples < 50 {
					t.Errorf("tree %d: leaf of %d rows", k, n.Samples)
				}
			}
		}
		if leaves > 7 || tr.Depth() > 3 {
			t.Errorf("tree %d: %d leaves, depth %d", k, leaves, tr.Depth())
		}
	}
}
