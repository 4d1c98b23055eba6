package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// thetaMeanRelTol bounds the relative difference of Theta point forecasts
// from statsmodels' ThetaModel. The methods agree except for the SES
// initial level, estimated here (as R's thetaf) and fixed to the first
// value in statsmodels, which moves α in the third decimal.
const thetaMeanRelTol = 1e-3

func TestThetaAgainstStatsmodels(t *testing.T) {
	g := loadGolden(t)
	for _, d := range g.Datasets {
		th, err := FitTheta(d.series, d.Period)
		if err != nil {
			t.Fatal(err)
		}
		gt := d.Theta
		t.Logf("%s: %s α %.5f (statsmodels %.5f), b0 %.5f (statsmodels %.5f)",
			d.Name, th.Name(), th.Alpha, gt.Alpha, th.Slope, gt.B0)
		if th.Seasonal != gt.Deseasonalized || (th.Seasonal && th.Multiplicative != (gt.Method == "mul")) {
			t.Errorf("%s: seasonal %v multiplicative %v, statsmodels deseasonalized %v method %s",
				d.Name, th.Seasonal, th.Multiplicative, gt.Deseasonalized, gt.Method)
		}
		if math.Abs(th.Slope-gt.B0) > 1e-9*math.Abs(gt.B0) {
			t.Errorf("%s: slope b0 %.12f, statsmodels %.12f", d.Name, th.Slope, gt.B0)
		}
		f := th.Forecast(d.Horizon, g.Levels)
		checkClose(t, d.Name+" theta mean", f.Mean, gt.Mean, thetaMeanRelTol)
		for _, iv := range f.Intervals {
			for h := range f.Mean {
				if !(iv.Lower[h] < f.Mean[h] && f.Mean[h] < iv.Upper[h]) {
					t.Fatalf("%s: %v interval at h=%d does not contain the mean", d.Name, iv.Level, h+1)
				}
			}
		}
	}
}

func TestThetaSeasonalityTest(t *testing.T) {
	// White noise has no weekly pattern: no adjustment. A weekly pattern
	// with empty days gets an additive adjustment, since division by a
	// zero index is undefined.
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]float64, 70)
	weekly := make([]float64, 70)
	for i := range noise {
		noise[i] = 50 + rng.NormFloat64()
		if i%7 != 6 {
			weekly[i] = 10 + 5*float64(i%7)
		}
	}
	th, err := FitTheta(noise, 7)
	if err != nil {
		t.Fatal(err)
	}
	if th.Seasonal {
		t.Errorf("white noise judged seasonal at lag 7")
	}
	th, err = FitTheta(weekly, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !th.Seasonal || th.Multiplicative {
		t.Errorf("weekly counts with zeros: seasonal %v multiplicative %v, want additive adjustment", th.Seasonal, th.Multiplicative)
	}
	// 70 values: step i+1 falls on t = 70+i ≡ i (mod 7), so step 7 is an
	// empty day.
	f := th.Forecast(7, nil)
	if math.Abs(f.Mean[6]) > 1 {
		t.Errorf("the empty weekday is forecast at %.2f, want near 0: %v", f.Mean[6], f.Mean)
	}
}
