package ml

import (
	"context"
	"errors"
	"math"
	"testing"
)

func TestLinearRecoversCoefficients(t *testing.T) {
	d := synth(200, 4, Regression, 2)
	want := []float64{2, -3, 0.5, 0}
	for i := range d.Rows() {
		r := d.Row(i)
		d.Y[i] = 1.5 + want[0]*r[0] + want[1]*r[1] + want[2]*r[2]
	}
	m, err := FitLinear(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range m.Coefficients() {
		if math.Abs(c-want[j]) > 1e-10 {
			t.Errorf("coefficient %d = %v, want %v", j, c, want[j])
		}
	}
	if math.Abs(m.Intercept()-1.5) > 1e-10 {
		t.Errorf("intercept = %v, want 1.5", m.Intercept())
	}
}

func TestLinearConstantAndCollinearFeatures(t *testing.T) {
	d := synth(100, 3, Regression, 4)
	for i := range d.Rows() {
		d.X[i*3+2] = 7 // constant
	}
	m, err := FitLinear(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Coefficients()[2]; c != 0 {
		t.Errorf("constant feature has coefficient %v", c)
	}
	for i := range d.Rows() {
		d.X[i*3+2] = 2*d.X[i*3] - d.X[i*3+1] // a combination of the others
	}
	if _, err := FitLinear(context.Background(), d); !errors.Is(err, ErrCollinear) {
		t.Errorf("collinear features: error %v, want ErrCollinear", err)
	}
}

func TestLogisticSeparableStaysFinite(t *testing.T) {
	d := &Dataset{Names: []string{"x"}, X: []float64{-2, -1, 1, 2}, Y: []float64{0, 0, 1, 1}}
	m, err := FitLogistic(context.Background(), d, LogisticParams{})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Coefficients()[0]
	if !(c > 0) || math.IsInf(c, 0) {
		t.Errorf("coefficient %v on separable data", c)
	}
}
