package ml

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// bruteForceSplit tries every feature and every threshold between two distinct values, and
// returns the split of least weighted impurity (Gini or variance, computed from scratch on
// each side) that leaves minLeaf rows on each side.
func bruteForceSplit(d *Dataset, task Task, minLeaf int) (feature int, threshold float64) {
	n, p := d.Rows(), d.Cols()
	impurity := func(rows []int) float64 {
		var sw, swy float64
		for _, i := range rows {
			sw += d.Weight(i)
			swy += d.Weight(i) * d.Y[i]
		}
		mean := swy / sw
		if task == Classification {
			return sw * (1 - mean*mean - (1-mean)*(1-mean)) // weight × Gini
		}
		ss := 0.0
		for _, i := range rows {
			ss += d.Weight(i) * (d.Y[i] - mean) * (d.Y[i] - mean)
		}
		return ss // weight × variance
	}
	best := math.Inf(1)
	feature = -1
	for f := range p {
		vals := make([]float64, n)
		for i := range n {
			vals[i] = d.Row(i)[f]
		}
		sort.Float64s(vals)
		for k := 1; k < n; k++ {
			if vals[k] == vals[k-1] {
				continue
			}
			t := (vals[k] + vals[k-1]) / 2
			var left, right []int
			for i := range n {
				if d.Row(i)[f] <= t {
					left = append(left, i)
				} else {
					right = append(right, i)
				}
			}
			if len(left) < minLeaf || len(right) < minLeaf {
				continue
			}
			if imp := impurity(left) + impurity(right); imp < best {
				best, feature, threshold = imp, f, t
			}
		}
	}
	return feature, threshold
}

func TestTreeRootIsExhaustiveBestSplit(t *testing.T) {
	for _, task := range []Task{Classification, Regression} {
		for seed := range uint64(20) {
			d := synth(80, 5, task, seed)
			if seed%2 == 1 {
				// Weighted rows, as a forest's bootstrap makes them.
				rng := rand.New(rand.NewPCG(seed, 7))
				d.W = make([]float64, d.Rows())
				for i := range d.W {
					d.W[i] = float64(rng.IntN(3)) + 0.5
				}
			}
			minLeaf := 1 + int(seed%5)
			m, err := FitTree(context.Background(), d, TreeParams{Task: task, MaxDepth: 1, MinSamplesLeaf: minLeaf})
			if err != nil {
				t.Fatal(err)
			}
			f, thr, ok := m.RootSplit()
			wantF, wantT := bruteForceSplit(d, task, minLeaf)
			if !ok || f != wantF || thr != wantT {
				t.Errorf("%s seed %d: root split x%d <= %v (ok %v), exhaustive search x%d <= %v", task, seed, f, thr, ok, wantF, wantT)
			}
		}
	}
}

func TestTreeFitsXOR(t *testing.T) {
	d := &Dataset{Names: []string{"a", "b"}}
	for range 10 {
		for _, r := range [][3]float64{{0, 0, 0}, {0, 1, 1}, {1, 0, 1}, {1, 1, 0}} {
			d.X = append(d.X, r[0], r[1])
			d.Y = append(d.Y, r[2])
		}
	}
	m, err := FitTree(context.Background(), d, TreeParams{Task: Classification})
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Rows() {
		if got := m.Predict(d.Row(i)); got != d.Y[i] {
			t.Errorf("XOR%v = %v, want %v", d.Row(i), got, d.Y[i])
		}
	}
	if m.Depth() != 2 {
		t.Errorf("XOR tree has depth %d, want 2", m.Depth())
	}
}

func TestTreeHonoursLimits(t *testing.T) {
	d := synth(2000, 6, Regression, 3)
	for _, p := range []TreeParams{
		{Task: Regression, MaxDepth: 5},
		{Task: Regression, MinSamplesLeaf: 37},
		{Task: Regression, MinSamplesSplit: 200},
		{Task: Classification, MaxFeatures: 2, MinSamplesLeaf: 5, Seed: 4},
	} {
		dd := d
		if p.Task == Classification {
			dd = synth(2000, 6, Classification, 3)
		}
		m, err := FitTree(context.Background(), dd, p)
		if err != nil {
			t.Fatal(err)
		}
		if p.MaxDepth > 0 && m.Depth() > p.MaxDepth {
			t.Errorf("%+v: depth %d", p, m.Depth())
		}
		for i, n := range m.nodes {
			if n.Feature < 0 && p.MinSamplesLeaf > 0 && int(n.Samples) < p.MinSamplesLeaf {
				t.Errorf("%+v: leaf %d holds %d rows", p, i, n.Samples)
			}
			if n.Feature >= 0 && p.MinSamplesSplit > 0 && int(n.Samples) < p.MinSamplesSplit {
				t.Errorf("%+v: node %d of %d rows was split", p, i, n.Samples)
			}
			if n.Feature >= 0 && m.nodes[n.Left].Samples+m.nodes[n.Right].Samples != n.Samples {
				t.Errorf("%+v: node %d's children do not partition its rows", p, i)
			}
		}
	}
}

// Unlimited trees fit distinct training rows exactly.
func TestTreeInterpolatesTraining(t *testing.T) {
	d := synth(500, 4, Regression, 8)
	m, err := FitTree(context.Background(), d, TreeParams{Task: Regression})
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Rows() {
		if got := m.Predict(d.Row(i)); got != d.Y[i] {
			t.Fatalf("row %d: %v, want %v", i, got, d.Y[i])
		}
	}
}
