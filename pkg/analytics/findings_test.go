package analytics_test

import (
	"math"
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

// truth reads the generator's ground truth per beneficiary, by user id.
func truth(t *testing.T, d *testdb.Database) (engagement, churn map[int64]float64) {
	t.Helper()
	rows, err := d.DB.Pool.Query(t.Context(), `select b.user_id, t.engagement, t.churn_probability
		from bdc_demo.beneficiary_truth t join bdc.beneficiaries b on b.id = t.beneficiary_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	engagement, churn = map[int64]float64{}, map[int64]float64{}
	for rows.Next() {
		var id int64
		var e, c float64
		if err := rows.Scan(&id, &e, &c); err != nil {
			t.Fatal(err)
		}
		engagement[id], churn[id] = e, c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return engagement, churn
}

// spearman is the rank correlation of x and y (average ranks on ties).
func spearman(x, y []float64) float64 {
	rank := func(v []float64) []float64 {
		idx := make([]int, len(v))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
		r := make([]float64, len(v))
		for i := 0; i < len(idx); {
			j := i
			for j < len(idx) && v[idx[j]] == v[idx[i]] {
				j++
			}
			for k := i; k < j; k++ {
				r[idx[k]] = float64(i+j-1)/2 + 1
			}
			i = j
		}
		return r
	}
	rx, ry := rank(x), rank(y)
	mean := func(v []float64) float64 {
		s := 0.0
		for _, a := range v {
			s += a
		}
		return s / float64(len(v))
	}
	mx, my := mean(rx), mean(ry)
	var sxy, sxx, syy float64
	for i := range rx {
		sxy += (rx[i] - mx) * (ry[i] - my)
		sxx += (rx[i] - mx) * (rx[i] - mx)
		syy += (ry[i] - my) * (ry[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

// TestEngagementFindsLatentEngagement: the generator draws each beneficiary's latent engagement
// and scales their activity and their use of documents and messaging by it; over the whole
// history the engagement score must rank beneficiaries in the same order, clearly (Spearman).
// The life cycle (time since registration, conversion, the programme's end) drives activity too,
// so the correlation is far from 1; it is 0.57 on this seed.
func TestEngagementFindsLatentEngagement(t *testing.T) {
	d := testdb.Get(t)
	res, err := analytics.NewEngine(d.DB).Engagement(t.Context(), analytics.EngagementQuery{
		Query: analytics.Query{From: histFrom, To: histTo}, IncludeScores: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	latent, _ := truth(t, d)
	var scores, truths []float64
	for _, s := range res.Scores {
		scores = append(scores, s.Score)
		truths = append(truths, latent[s.UserID])
	}
	rho := spearman(scores, truths)
	t.Logf("engagement score vs latent engagement over %d beneficiaries: Spearman %.3f", len(scores), rho)
	if len(scores) < 500 || rho < 0.45 {
		t.Error("the engagement score does not follow the latent engagement")
	}
}

// TestRFMSegmentsOrderChurn: the generator knows each beneficiary's probability of no activity
// in the 30 days after the history ends; beneficiaries that RFM calls at_risk or hibernating
// must be likelier to churn than its champions and loyal ones.
func TestRFMSegmentsOrderChurn(t *testing.T) {
	d := testdb.Get(t)
	res, err := analytics.NewEngine(d.DB).Segments(t.Context(), analytics.SegmentsQuery{
		Query: analytics.Query{From: day(2026, 3, 1), To: histTo}, IncludeMembers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, churn := truth(t, d)
	sum, n := map[string]float64{}, map[string]int{}
	for _, m := range res.Members {
		group := ""
		switch m.Segment {
		case "at_risk", "hibernating":
			group = "lapsing"
		case "champions", "loyal":
			group = "best"
		}
		sum[group] += churn[m.UserID]
		n[group]++
	}
	lapsing, best := sum["lapsing"]/float64(n["lapsing"]), sum["best"]/float64(n["best"])
	t.Logf("mean true churn probability: at_risk+hibernating %.3f (%d), champions+loyal %.3f (%d)", lapsing, n["lapsing"], best, n["best"])
	if n["lapsing"] < 30 || n["best"] < 30 || !(lapsing > best+0.2) {
		t.Errorf("mean true churn probability: at_risk+hibernating %.3f (%d), champions+loyal %.3f (%d)", lapsing, n["lapsing"], best, n["best"])
	}
}

// TestKMeansSeparatesChurners: the k-means cluster of the least active beneficiaries must churn
// more, by the generator's truth, than the cluster of the most active.
func TestKMeansSeparatesChurners(t *testing.T) {
	d := testdb.Get(t)
	res, err := analytics.NewEngine(d.DB).Segments(t.Context(), analytics.SegmentsQuery{
		Query: analytics.Query{From: day(2026, 3, 1), To: histTo}, Method: "kmeans", IncludeMembers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, churn := truth(t, d)
	least, most := 0, 0
	for c, s := range res.Segments {
		if s.Profile[0] < res.Segments[least].Profile[0] {
			least = c
		}
		if s.Profile[0] > res.Segments[most].Profile[0] {
			most = c
		}
	}
	sum, n := make([]float64, len(res.Segments)), make([]int, len(res.Segments))
	for _, m := range res.Members {
		sum[m.Cluster-1] += churn[m.UserID]
		n[m.Cluster-1]++
	}
	lo, hi := sum[least]/float64(n[least]), sum[most]/float64(n[most])
	t.Logf("k=%d: true churn of the least active cluster %.3f, of the most active %.3f", res.KMeans.K, lo, hi)
	if res.KMeans.K < 2 || !(lo > hi+0.2) {
		t.Errorf("k=%d: true churn of the least active cluster %.3f, of the most active %.3f", res.KMeans.K, lo, hi)
	}
}

// TestHeatmapShowsDesignedRhythms: appointments are placed on weekdays by designed weights, and
// sessions by an hour profile that peaks in the evening; both must show in the heatmaps.
func TestHeatmapShowsDesignedRhythms(t *testing.T) {
	d := testdb.Get(t)
	e := analytics.NewEngine(d.DB)
	sched, err := e.Heatmap(t.Context(), analytics.HeatmapQuery{Query: analytics.Query{From: histFrom, To: histTo}, Event: ev("appointment_completed")})
	if err != nil {
		t.Fatal(err)
	}
	var perDay [8]float64
	for _, c := range sched.Series[0].Cells {
		perDay[c.Weekday] += float64(c.Events)
	}
	weekday := (perDay[1] + perDay[2] + perDay[3] + perDay[4] + perDay[5]) / 5
	weekend := (perDay[6] + perDay[7]) / 2
	ratio, want := weekday/weekend, demo.WeekdayWeekendRatio()
	t.Logf("completed appointments: weekday/weekend ratio %.2f, designed %.2f", ratio, want)
	if ratio < want/2 || ratio > want*2 {
		t.Errorf("completed appointments: weekday/weekend ratio %.2f, designed %.2f", ratio, want)
	}
	// Appointments start between 08:00 and 19:30 local time, whatever the DST offset.
	for _, c := range sched.Series[0].Cells {
		if c.Events > 0 && (c.Hour < 8 || c.Hour > 19) {
			t.Errorf("%d completed appointments at %02d:00 on %s", c.Events, c.Hour, analytics.Weekdays[c.Weekday-1])
		}
	}
	// Page views come only from the sessions drawn by the hour profile (bookings and attended
	// appointments keep their own hours).
	act, err := e.Heatmap(t.Context(), analytics.HeatmapQuery{Query: analytics.Query{From: histFrom, To: histTo}, Event: ev("activity:page_view")})
	if err != nil {
		t.Fatal(err)
	}
	var perHour [24]float64
	for _, c := range act.Series[0].Cells {
		perHour[c.Hour] += float64(c.Events)
	}
	peak := 0
	for h := range perHour {
		if perHour[h] > perHour[peak] {
			peak = h
		}
	}
	evening, night := perHour[18]+perHour[19]+perHour[20]+perHour[21], perHour[1]+perHour[2]+perHour[3]+perHour[4]
	if peak < 18 || peak > 21 || evening < 10*night {
		t.Errorf("activity by hour %v peaks at %d:00", perHour, peak)
	}
}

// TestFeatureAdoptersRetainBetter: the generator makes engaged beneficiaries use documents and
// messaging more (adoption scales with engagement squared), and engaged ones come back more; so
// their adopters must return more often than the non-adopters.
func TestFeatureAdoptersRetainBetter(t *testing.T) {
	d := testdb.Get(t)
	res, err := analytics.NewEngine(d.DB).FeatureUsage(t.Context(), analytics.FeatureUsageQuery{
		Query: analytics.Query{From: day(2026, 1, 1), To: histTo}, Features: []string{"documents", "messaging"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Features {
		if f.Adopters < 30 || !(f.AdopterRetention.Ratio > f.NonAdopterRetention.Ratio+0.1) {
			t.Errorf("%s: %d adopters, adopters return %.3f, non-adopters %.3f", f.Feature, f.Adopters, f.AdopterRetention.Ratio, f.NonAdopterRetention.Ratio)
		}
	}
}
