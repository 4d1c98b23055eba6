package forecast

import (
	"math"
	"testing"
)

func TestSeasonalNaiveRepeatsLastSeason(t *testing.T) {
	g := loadGolden(t)
	for _, d := range g.Datasets {
		model, err := Fit(d.series, Options{Method: MethodSeasonalNaive, Period: d.Period})
		if err != nil {
			t.Fatal(err)
		}
		const h = 40
		f := model.Forecast(h, []float64{0.8})
		n := len(d.series)
		for i := range h {
			// Brute force: the value of the same position in the last
			// season seen.
			want := math.NaN()
			for t := n - 1; t >= 0; t-- {
				if (t-(n+i))%d.Period == 0 {
					want = d.series[t]
					break
				}
			}
			if f.Mean[i] != want {
				t.Fatalf("%s h=%d: forecast %v, want %v", d.Name, i+1, f.Mean[i], want)
			}
		}
	}
}

func TestSeasonalNaiveIntervals(t *testing.T) {
	series := []float64{1, 5, 2, 6, 3, 8, 2, 7}
	model, err := FitSeasonalNaive(series, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Seasonal differences: 1, 1, 1, 2, -1, -1 → mean square 9/6.
	if want := 9.0 / 6; math.Abs(model.Sigma2-want) > 1e-15 {
		t.Fatalf("Sigma2 = %v, want %v", model.Sigma2, want)
	}
	f := model.Forecast(5, []float64{0.95})
	z := 1.959963984540054
	for h := range 5 {
		k := float64(h / 2)
		want := z * math.Sqrt(9.0/6*(k+1))
		if got := f.Intervals[0].Upper[h] - f.Mean[h]; math.Abs(got-want) > 1e-9 {
			t.Errorf("h=%d: half-width %v, want %v", h+1, got, want)
		}
	}
	naive, err := FitSeasonalNaive(series, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f := naive.Forecast(3, nil); f.Mean[0] != 7 || f.Mean[2] != 7 || naive.Name() != "Naive" {
		t.Errorf("naive forecast %v (%s), want the last value 7", f.Mean, naive.Name())
	}
}
