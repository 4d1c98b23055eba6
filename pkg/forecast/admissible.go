package forecast

import (
	"math/cmplx"

	"gonum.org/v1/gonum/mat"
)

// admissibleParams reports whether a linear model's parameters lie in the
// admissible (forecastable) region of Hyndman et al. (2008, ch. 10): the
// discount matrix D = F - g·w' has no eigenvalue outside the unit circle,
// so old observations lose weight. Inside the usual bounds this always
// holds for the non-seasonal models. With additive seasonality D also has
// the eigenvalue 1 of the level/seasonal redundancy, which affects no
// forecast; the others are the roots of
//
//	P(z) = z^{m+1} + (α+φβ-φ)·z^m + (α+φβ-αφ)·(z^{m-1}+…+z²)
//	       + (α+φβ-αφ+γ-1)·z + φ(1-α-γ)
//
// which must lie in the unit disc. This is the polynomial of R's
// forecast:::admissible with β there replaced by φβ: the slope update here
// (and in statsmodels) is b_t = φ·b_{t-1} + β·e_t, and the test in
// admissible_test.go checks P against the eigenvalues of D itself.
// Models with multiplicative seasonality have no such region and are
// accepted.
func admissibleParams(spec ETSSpec, p *ETSParams, m int) bool {
	if spec.Season != SeasonAdditive {
		return true
	}
	a, b, g, phi := p.Alpha, p.Phi*p.Beta, p.Gamma, p.Phi
	// coef[i] multiplies z^i; the polynomial is monic of degree m+1.
	coef := make([]float64, m+2)
	coef[0] = phi * (1 - a - g)
	coef[1] = a + b - a*phi + g - 1
	for i := 2; i < m; i++ {
		coef[i] = a + b - a*phi
	}
	coef[m] = a + b - phi
	coef[m+1] = 1
	for _, r := range polyRoots(coef) {
		if cmplx.Abs(r) > 1+1e-10 {
			return false
		}
	}
	return true
}

// polyRoots gives the roots of the monic polynomial Σ coef[i]·z^i as the
// eigenvalues of its companion matrix.
func polyRoots(coef []float64) []complex128 {
	d := len(coef) - 1
	c := mat.NewDense(d, d, nil)
	for i := 1; i < d; i++ {
		c.Set(i, i-1, 1)
	}
	for i := range d {
		c.Set(i, d-1, -coef[i])
	}
	var eig mat.Eigen
	if !eig.Factorize(c, mat.EigenNone) {
		return []complex128{complex(2, 0)} // treat a failed factorisation as not admissible
	}
	return eig.Values(nil)
}
