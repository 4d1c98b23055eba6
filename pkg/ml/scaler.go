package ml

import "math"

// scaler standardizes features: z = (x − mean) / scale, with the weighted mean and the
// weighted population standard deviation of the training rows. A constant feature keeps scale
// 1 (its z is then always 0), as scikit-learn's StandardScaler does.
type scaler struct {
	Mean  []float64 `json:"mean"`
	Scale []float64 `json:"scale"`
}

// fitScaler fits a scaler to d and reports which features are constant.
func fitScaler(d *Dataset) (scaler, []bool) {
	n, p := d.Rows(), d.Cols()
	s := scaler{Mean: make([]float64, p), Scale: make([]float64, p)}
	sw := 0.0
	for i := range n {
		w := d.Weight(i)
		sw += w
		for j, v := range d.Row(i) {
			s.Mean[j] += w * v
		}
	}
	for j := range s.Mean {
		s.Mean[j] /= sw
	}
	for i := range n {
		w := d.Weight(i)
		for j, v := range d.Row(i) {
			e := v - s.Mean[j]
			s.Scale[j] += w * e * e
		}
	}
	constant := make([]bool, p)
	for j := range s.Scale {
		sd := math.Sqrt(s.Scale[j] / sw)
		if sd <= 1e-12*math.Max(1, math.Abs(s.Mean[j])) {
			sd, constant[j] = 1, true
		}
		s.Scale[j] = sd
	}
	return s, constant
}

// z returns the standardized value of feature j.
func (s scaler) z(j int, v float64) float64 { return (v - s.Mean[j]) / s.Scale[j] }

// valid checks a decoded scaler against p features.
func (s scaler) valid(p int) bool {
	if len(s.Mean) != p || len(s.Scale) != p {
		return false
	}
	for j := range p {
		if !(s.Scale[j] > 0) || math.IsInf(s.Scale[j], 0) || math.IsNaN(s.Mean[j]) {
			return false
		}
	}
	return true
}
