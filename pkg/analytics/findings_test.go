package analytics_test

import (
	"sort"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// TestFunnelRanksChannelsByConversion: the generator converts acquisition channels to a first
// booking at known, different rates; a signup → booking funnel by channel must rank them so.
func TestFunnelRanksChannelsByConversion(t *testing.T) {
	d := testdb.Get(t)
	res, err := analytics.NewEngine(d.DB).Funnel(t.Context(), analytics.FunnelQuery{
		Query:  analytics.Query{From: histFrom, To: histTo},
		Series: evs("signup", "appointment_booked"), FunnelWindowInterval: 60, Breakdown: "acquisition_channel",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range res.Series {
		got[s.Breakdown] = s.Steps[1].ConversionFromFirst
	}
	if len(got) != len(demo.Channels) {
		t.Fatalf("channels %v, want %v", got, demo.Channels)
	}
	rank := func(v map[string]float64) map[string]int {
		names := append([]string(nil), demo.Channels...)
		sort.Slice(names, func(i, j int) bool { return v[names[i]] > v[names[j]] })
		r := map[string]int{}
		for i, n := range names {
			r[n] = i
		}
		return r
	}
	gr, tr := rank(got), rank(demo.ChannelConversion)
	// Spearman's rank correlation between measured and designed conversion.
	n := float64(len(demo.Channels))
	sum := 0.0
	for _, c := range demo.Channels {
		diff := float64(gr[c] - tr[c])
		sum += diff * diff
	}
	rho := 1 - 6*sum/(n*(n*n-1))
	if rho < 0.8 || gr["employer"] != 0 || gr["social"] != len(demo.Channels)-1 {
		t.Errorf("conversion by channel %v ranks with rho %.2f against the design %v", got, rho, demo.ChannelConversion)
	}
}

// TestRetentionDecays: engagement decays in the generator, so the share of a signup cohort still
// active falls with the weeks since signup.
func TestRetentionDecays(t *testing.T) {
	d := testdb.Get(t)
	res, err := analytics.NewEngine(d.DB).Retention(t.Context(), analytics.RetentionQuery{
		Query: analytics.Query{From: histFrom, To: histTo}, TotalIntervals: 13,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Pool the cohorts that reach interval 12, so every interval averages the same users.
	var size int64
	counts := make([]int64, 13)
	for _, c := range res.Cohorts {
		if len(c.Intervals) < 13 {
			continue
		}
		size += c.Size
		for k, iv := range c.Intervals {
			counts[k] += iv.Count
		}
	}
	ratio := func(k int) float64 { return float64(counts[k]) / float64(size) }
	if size < 100 || !(ratio(1) > ratio(4) && ratio(4) > ratio(8) && ratio(8) > ratio(12)) {
		t.Errorf("pooled retention over %d users does not decay: weeks 1, 4, 8, 12 = %.3f %.3f %.3f %.3f",
			size, ratio(1), ratio(4), ratio(8), ratio(12))
	}
}
