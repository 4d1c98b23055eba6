package forecast

import (
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// discountRadius is the spectral radius of D = F - g·w' for an additive
// Holt-Winters model (damped when phi < 1), built from the state space form
// x_t = (l_t, b_t, s_t, …, s_{t-m+1}) of Hyndman et al. (2008, ch. 3): the
// definition that admissibleParams's characteristic polynomial shortcut
// must agree with. D always has the eigenvalue 1 with eigenvector
// (-1, 0, 1, …, 1), which moves the level into the seasonal states without
// changing any forecast (Hyndman et al. 2008, sec. 10.2); that one is left
// out.
func discountRadius(p ETSParams, m int) float64 {
	k := m + 2
	F := mat.NewDense(k, k, nil)
	F.Set(0, 0, 1)
	F.Set(0, 1, p.Phi)
	F.Set(1, 1, p.Phi)
	F.Set(2, k-1, 1) // the new seasonal state starts from s_{t-m}
	for i := 3; i < k; i++ {
		F.Set(i, i-1, 1)
	}
	g := mat.NewVecDense(k, nil)
	g.SetVec(0, p.Alpha)
	g.SetVec(1, p.Beta)
	g.SetVec(2, p.Gamma)
	w := mat.NewVecDense(k, nil)
	w.SetVec(0, 1)
	w.SetVec(1, p.Phi)
	w.SetVec(k-1, 1)
	var gw, D mat.Dense
	gw.Outer(1, g, w)
	D.Sub(F, &gw)
	var eig mat.Eigen
	if !eig.Factorize(&D, mat.EigenNone) {
		panic("eigen decomposition failed")
	}
	values := eig.Values(nil)
	unit := 0
	for i, v := range values {
		if cmplx.Abs(v-1) < cmplx.Abs(values[unit]-1) {
			unit = i
		}
	}
	r := 0.0
	for i, v := range values {
		if i != unit {
			r = max(r, cmplx.Abs(v))
		}
	}
	return r
}

func TestAdmissibleMatchesDiscountMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	inside, outside := 0, 0
	for range 2000 {
		m := 2 + rng.IntN(11)
		a := rng.Float64()
		p := ETSParams{
			Alpha: a,
			Beta:  a * rng.Float64() * rng.Float64(),
			Gamma: (1 - a) * rng.Float64(),
			Phi:   0.8 + 0.2*rng.Float64(),
		}
		radius := discountRadius(p, m)
		got := admissibleParams(AAdA, &p, m)
		want := radius < 1+1e-7
		if radius > 1-1e-7 && radius < 1+1e-7 {
			continue // on the boundary within rounding: either answer
		}
		if got != want {
			t.Fatalf("m=%d %+v: admissible %v, spectral radius of D %.9f", m, p, got, radius)
		}
		if got {
			inside++
		} else {
			outside++
		}
	}
	t.Logf("%d admissible, %d not, within the usual bounds", inside, outside)
	if outside == 0 {
		t.Errorf("no inadmissible case drawn: the check is not exercised")
	}
}
