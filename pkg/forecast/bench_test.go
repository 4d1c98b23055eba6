package forecast

import "testing"

// BenchmarkSelectETS730 fits every candidate (9 on this positive weekly
// series) to two years of daily data and picks one by AICc.
func BenchmarkSelectETS730(b *testing.B) {
	d := loadGolden(b).dataset(b, "synthetic_daily")
	for b.Loop() {
		if _, err := SelectETS(d.series, Options{Period: 7}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitETS730 fits single models to the same series.
func BenchmarkFitETS730(b *testing.B) {
	d := loadGolden(b).dataset(b, "synthetic_daily")
	for _, spec := range []ETSSpec{ANN, AAA, AAdA, AAM} {
		b.Run(spec.ShortName(), func(b *testing.B) {
			for b.Loop() {
				if _, err := FitETS(d.series, Options{Method: MethodETS, Period: 7, Spec: spec}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTheta730 fits the Theta method to the same series.
func BenchmarkTheta730(b *testing.B) {
	d := loadGolden(b).dataset(b, "synthetic_daily")
	for b.Loop() {
		if _, err := FitTheta(d.series, 7); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForecastSimulated times 90-day intervals of a multiplicative
// model from DefaultSimulations sample paths.
func BenchmarkForecastSimulated(b *testing.B) {
	d := loadGolden(b).dataset(b, "synthetic_daily")
	model, err := FitETS(d.series, Options{Method: MethodETS, Period: 7, Spec: AAM})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		model.Forecast(90, []float64{0.8, 0.95})
	}
}
