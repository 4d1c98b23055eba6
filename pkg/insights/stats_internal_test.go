package insights

import (
	"math"
	"testing"
)

// TestProportionZIsPearsonChiSquare checks the pooled two-proportion z statistic against an
// independent computation: its square is Pearson's chi-square statistic of the 2×2 table
// (without continuity correction).
func TestProportionZIsPearsonChiSquare(t *testing.T) {
	for _, c := range [][4]float64{{20, 200, 60, 200}, {200, 1000, 250, 1000}, {3, 31, 9, 40}, {10, 100, 16, 100}} {
		x0, n0, x1, n1 := c[0], c[1], c[2], c[3]
		table := [2][2]float64{{x0, n0 - x0}, {x1, n1 - x1}}
		total := n0 + n1
		var chi2 float64
		for i, row := range table {
			for j, observed := range row {
				rowSum := []float64{n0, n1}[i]
				colSum := table[0][j] + table[1][j]
				expected := rowSum * colSum / total
				chi2 += (observed - expected) * (observed - expected) / expected
			}
		}
		z := proportionZ(sample{N: n0, Sum: x0, SumSq: x0}, sample{N: n1, Sum: x1, SumSq: x1})
		if math.Abs(z*z-chi2) > 1e-9*chi2 || math.Signbit(z) != (x1/n1 < x0/n0) {
			t.Errorf("%v: z = %v, z² = %v, chi-square %v", c, z, z*z, chi2)
		}
	}
	if z := proportionZ(sample{N: 50}, sample{N: 40}); z != 0 {
		t.Errorf("no event in either period: z = %v", z)
	}
}

// TestWelchAndPoisson checks the mean and count statistics on figures worked by hand.
func TestWelchAndPoisson(t *testing.T) {
	// Scores 5,5,4,4 (mean 4.5, variance 1/3) against 4,3,3,2 (mean 3, variance 2/3):
	// z = −1.5 / √(1/12 + 2/12) = −3.
	prev := sample{N: 4, Sum: 18, SumSq: 82}
	cur := sample{N: 4, Sum: 12, SumSq: 38}
	if z := welchZ(prev, cur); math.Abs(z+3) > 1e-12 {
		t.Errorf("Welch z = %v, want −3", z)
	}
	if z := welchZ(sample{N: 3, Sum: 12, SumSq: 48}, sample{N: 3, Sum: 12, SumSq: 48}); z != 0 {
		t.Errorf("equal constant periods: z = %v", z)
	}
	if z := welchZ(sample{N: 3, Sum: 12, SumSq: 48}, sample{N: 3, Sum: 9, SumSq: 27}); !math.IsInf(z, -1) {
		t.Errorf("different constant periods: z = %v, want −Inf", z)
	}
	// 500 then 350: (350 − 500) / √850.
	if z := poissonZ(sample{N: 500}, sample{N: 350}); math.Abs(z+150/math.Sqrt(850)) > 1e-12 {
		t.Errorf("Poisson z = %v", z)
	}
	for z, p := range map[float64]float64{0: 1, 1.959963984540054: 0.05, -2.5758293035489: 0.01} {
		if got := twoSided(z); math.Abs(got-p) > 1e-12 {
			t.Errorf("two-sided p of %v: %v, want %v", z, got, p)
		}
	}
}
