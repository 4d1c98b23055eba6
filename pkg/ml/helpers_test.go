package ml

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// synth draws n rows of p standard normal features and a label from a known function of the
// first five: log-odds for classification, mean plus unit noise for regression. Features past
// the fifth are noise.
func synth(n, p int, task Task, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 99))
	d := &Dataset{Names: make([]string, p), X: make([]float64, n*p), Y: make([]float64, n)}
	for j := range p {
		d.Names[j] = fmt.Sprintf("f%d", j)
	}
	at := func(row []float64, j int) float64 {
		if j < len(row) {
			return row[j]
		}
		return 0
	}
	for i := range n {
		row := d.X[i*p : (i+1)*p]
		for j := range row {
			row[j] = rng.NormFloat64()
		}
		f := 1.2*at(row, 0) - 0.8*at(row, 1) + 0.9*at(row, 2)*at(row, 3) + math.Sin(2*at(row, 4))
		if task == Classification {
			if rng.Float64() < sigmoid(f) {
				d.Y[i] = 1
			}
		} else {
			d.Y[i] = 3*f + rng.NormFloat64()
		}
	}
	return d
}
