package ml

import (
	"context"
	"testing"
)

// Benchmarks at 50,000 rows × 20 features. Run with
//
//	go test ./pkg/ml/ -run '^$' -bench . -benchtime 3x
//
// make bench compares them with scikit-learn on the same data.
const benchRows, benchFeatures = 50_000, 20

func BenchmarkForestFit(b *testing.B) {
	d := synth(benchRows, benchFeatures, Classification, 1)
	for b.Loop() {
		if _, err := FitForest(context.Background(), d, ForestParams{Task: Classification, Trees: 100, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGBMFit(b *testing.B) {
	d := synth(benchRows, benchFeatures, Classification, 1)
	for b.Loop() {
		if _, err := FitGBM(context.Background(), d, GBMParams{Task: Classification, MaxIter: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTreeFit(b *testing.B) {
	d := synth(benchRows, benchFeatures, Regression, 1)
	for b.Loop() {
		if _, err := FitTree(context.Background(), d, TreeParams{Task: Regression, MinSamplesLeaf: 5}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogisticFit(b *testing.B) {
	d := synth(benchRows, benchFeatures, Classification, 1)
	for b.Loop() {
		if _, err := FitLogistic(context.Background(), d, LogisticParams{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkForestPredict(b *testing.B) {
	d := synth(benchRows, benchFeatures, Classification, 1)
	m, err := FitForest(context.Background(), d, ForestParams{Task: Classification, Trees: 100, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := PredictProba(m, d); err != nil {
			b.Fatal(err)
		}
	}
}
