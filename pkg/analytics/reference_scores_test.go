package analytics_test

// The reference for the kinds that score beneficiaries (engagement, RFM and k-means segments):
// the usage figures are recounted from the raw rows, the formulas applied as documented, ntile
// emulated, and k-means re-run with a plain Lloyd loop.

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// refUsage is one scored beneficiary's figures over the calendar days of a range.
type refUsage struct {
	u            *refUser
	days         int
	events       int64
	features     map[string]bool
	last         *time.Time
	appointments int
	cents        int64
	recency      float64 // days from the last activity (or the range's start) to To
}

// usage recounts the figures of every beneficiary of the population created before To.
func (ref *refData) usage(q analytics.Query) (figures []*refUsage, rangeDays int, featuresInUse int) {
	days := newRefDays(q)
	lo := days.start(0)
	all := map[string]bool{}
	for _, u := range ref.users {
		if !u.inPopulation(q.Filters) || !u.created.Before(q.To) {
			continue
		}
		r := &refUsage{u: u, features: map[string]bool{}}
		active := map[time.Time]bool{}
		for _, a := range u.activities {
			if a.at.Before(lo) || !a.at.Before(q.To) {
				continue
			}
			active[localDay(a.at, days.loc)] = true
			r.events++
			if !a.featureIsNull {
				r.features[a.feature] = true
				all[a.feature] = true
			}
			if r.last == nil || a.at.After(*r.last) {
				r.last = &a.at
			}
		}
		r.days = len(active)
		for _, a := range u.appts {
			if a.status == "completed" && !a.scheduled.Before(lo) && a.scheduled.Before(q.To) && anyOf(q.Filters.AppointmentChannel, a.channel) {
				r.appointments++
			}
		}
		for _, p := range u.payments {
			if !p.at.Before(lo) && p.at.Before(q.To) {
				r.cents += p.cents
			}
		}
		since := lo
		if r.last != nil {
			since = *r.last
		}
		r.recency = q.To.Sub(since).Seconds() / 86400
		figures = append(figures, r)
	}
	sort.Slice(figures, func(i, j int) bool { return figures[i].u.id < figures[j].u.id })
	return figures, days.n, len(all)
}

func (ref *refData) engagement(q analytics.EngagementQuery) *analytics.EngagementResult {
	figures, n, nf := ref.usage(q.Query)
	res := &analytics.EngagementResult{FeaturesInUse: nf, RangeDays: n, Top: []analytics.EngagementScore{}, Bottom: []analytics.EngagementScore{}}
	var scores []analytics.EngagementScore
	type hist struct {
		users   int64
		sum     float64
		buckets [analytics.EngagementBuckets]int64
	}
	series := map[string]*hist{}
	for _, r := range figures {
		s := analytics.EngagementScore{UserID: r.u.id, ActiveDays: r.days, Events: r.events, Features: len(r.features), LastActivity: r.last}
		if r.last != nil {
			s.Recency = math.Pow(0.5, r.recency/analytics.EngagementHalfLifeDays)
		}
		s.Frequency = math.Log(1+float64(r.days)) / math.Log(1+float64(n))
		if nf > 0 {
			s.Depth = float64(len(r.features)) / float64(nf)
		}
		s.Score = 100 * (0.35*s.Recency + 0.40*s.Frequency + 0.25*s.Depth)
		scores = append(scores, s)
		bd := r.u.attr(q.Breakdown)
		h := series[bd]
		if h == nil {
			h = &hist{}
			series[bd] = h
		}
		h.users++
		h.sum += s.Score
		h.buckets[min(int(math.Floor(s.Score/10)), 9)]++
	}
	var bds []string
	for bd := range series {
		bds = append(bds, bd)
	}
	if q.Breakdown == analytics.BreakdownNone && len(bds) == 0 {
		bds = []string{""}
		series[""] = &hist{}
	}
	sort.Slice(bds, func(i, j int) bool {
		if series[bds[i]].users != series[bds[j]].users {
			return series[bds[i]].users > series[bds[j]].users
		}
		return bds[i] < bds[j]
	})
	for _, bd := range bds {
		h := series[bd]
		s := analytics.EngagementSeries{Breakdown: bd, Users: h.users}
		if h.users > 0 {
			s.Mean = h.sum / float64(h.users)
		}
		for k, c := range h.buckets {
			s.Buckets = append(s.Buckets, analytics.EngagementBucket{From: float64(10 * k), To: float64(10 * (k + 1)), Users: c})
		}
		res.Series = append(res.Series, s)
	}
	if q.IncludeScores {
		res.Scores = append([]analytics.EngagementScore(nil), scores...) // by user id, as figures are
	}
	sort.Slice(scores, func(i, j int) bool {
		if scores[i].Score != scores[j].Score {
			return scores[i].Score > scores[j].Score
		}
		return scores[i].UserID < scores[j].UserID
	})
	for i := 0; i < q.Limit && i < len(scores); i++ {
		res.Top = append(res.Top, scores[i])
	}
	sort.Slice(scores, func(i, j int) bool {
		if scores[i].Score != scores[j].Score {
			return scores[i].Score < scores[j].Score
		}
		return scores[i].UserID < scores[j].UserID
	})
	for i := 0; i < q.Limit && i < len(scores); i++ {
		res.Bottom = append(res.Bottom, scores[i])
	}
	return res
}

// ntile5 scores the figures 1 to 5 as PostgreSQL's ntile(5) over the order less (ties broken by
// user id), then gives every group of equal values the lowest score among them.
func ntile5(figures []*refUsage, less func(a, b *refUsage) bool, equal func(a, b *refUsage) bool) map[int64]int {
	sorted := append([]*refUsage(nil), figures...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if less(a, b) != less(b, a) {
			return less(a, b)
		}
		return a.u.id < b.u.id
	})
	n := len(sorted)
	score := map[int64]int{}
	// ntile(5): the first n%5 buckets hold n/5+1 rows, the others n/5.
	i := 0
	for bucket := 1; bucket <= 5; bucket++ {
		size := n / 5
		if bucket <= n%5 {
			size++
		}
		for range size {
			score[sorted[i].u.id] = bucket
			i++
		}
	}
	for i := 0; i < n; {
		j := i
		lowest := score[sorted[i].u.id]
		for j < n && equal(sorted[i], sorted[j]) {
			lowest = min(lowest, score[sorted[j].u.id])
			j++
		}
		for k := i; k < j; k++ {
			score[sorted[k].u.id] = lowest
		}
		i = j
	}
	return score
}

// segments returns the check of a segments result against the reference: RFM's segments, grid
// and members, or k-means re-run on the reference's own features.
func (ref *refData) segments(q analytics.SegmentsQuery) func(*testing.T, *analytics.SegmentsResult) {
	if q.Method == analytics.SegmentRFM {
		segs, cells, members := ref.rfm(q)
		return func(t *testing.T, got *analytics.SegmentsResult) { compareRFM(t, got, segs, cells, members) }
	}
	d := ref.kmeansData(q)
	return func(t *testing.T, got *analytics.SegmentsResult) { compareKMeans(t, got, d) }
}

// refRFM returns the RFM segments, grid and members (by user id) of the query.
func (ref *refData) rfm(q analytics.SegmentsQuery) ([]analytics.Segment, []analytics.RFMCell, map[int64]analytics.SegmentMember) {
	figures, _, _ := ref.usage(q.Query)
	freq := func(r *refUsage) int { return r.days + r.appointments }
	rs := ntile5(figures, func(a, b *refUsage) bool { return a.recency > b.recency }, func(a, b *refUsage) bool { return a.recency == b.recency })
	fs := ntile5(figures, func(a, b *refUsage) bool { return freq(a) < freq(b) }, func(a, b *refUsage) bool { return freq(a) == freq(b) })
	ms := ntile5(figures, func(a, b *refUsage) bool { return a.cents < b.cents }, func(a, b *refUsage) bool { return a.cents == b.cents })
	members := map[int64]analytics.SegmentMember{}
	type agg struct {
		users int64
		sums  [3]float64
	}
	segs := map[string]*agg{}
	grid := map[[2]int]int64{}
	for _, r := range figures {
		id := r.u.id
		name := refSegmentName(rs[id], fs[id])
		members[id] = analytics.SegmentMember{UserID: id, Segment: name, R: rs[id], F: fs[id], M: ms[id]}
		if segs[name] == nil {
			segs[name] = &agg{}
		}
		segs[name].users++
		segs[name].sums[0] += r.recency
		segs[name].sums[1] += float64(freq(r))
		segs[name].sums[2] += float64(r.cents)
		grid[[2]int{rs[id], fs[id]}]++
	}
	var out []analytics.Segment
	for _, name := range []string{"champions", "loyal", "potential_loyalists", "new", "promising", "need_attention", "about_to_sleep", "at_risk", "cant_lose_them", "hibernating"} {
		s := analytics.Segment{Name: name, Profile: make([]float64, 3)}
		if a := segs[name]; a != nil {
			s.Users = a.users
			s.Share = float64(a.users) / float64(len(figures))
			for i := range a.sums {
				s.Profile[i] = a.sums[i] / float64(a.users)
			}
		}
		out = append(out, s)
	}
	var cells []analytics.RFMCell
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			cells = append(cells, analytics.RFMCell{R: r, F: f, Segment: refSegmentName(r, f), Users: grid[[2]int{r, f}]})
		}
	}
	return out, cells, members
}

// refSegmentName re-reads the documented RFM map, cell by cell.
func refSegmentName(r, f int) string {
	table := map[string][][2]int{
		"champions":           {{5, 4}, {5, 5}},
		"loyal":               {{3, 4}, {3, 5}, {4, 4}, {4, 5}},
		"potential_loyalists": {{4, 2}, {4, 3}, {5, 2}, {5, 3}},
		"new":                 {{5, 1}},
		"promising":           {{4, 1}},
		"need_attention":      {{3, 3}},
		"about_to_sleep":      {{3, 1}, {3, 2}},
		"at_risk":             {{1, 3}, {1, 4}, {2, 3}, {2, 4}},
		"cant_lose_them":      {{1, 5}, {2, 5}},
		"hibernating":         {{1, 1}, {1, 2}, {2, 1}, {2, 2}},
	}
	for name, cells := range table {
		for _, c := range cells {
			if c == [2]int{r, f} {
				return name
			}
		}
	}
	panic("no segment for the cell")
}

// refKMeansData is the reference's own feature matrix of a k-means query.
type refKMeansData struct {
	ids        []int64
	plain, z   [][]float64
	means, sds []float64
}

func (ref *refData) kmeansData(q analytics.SegmentsQuery) refKMeansData {
	figures, _, _ := ref.usage(q.Query)
	var d refKMeansData
	var x [][]float64
	for _, r := range figures {
		perDay := 0.0
		if r.days > 0 {
			perDay = float64(r.events) / float64(r.days)
		}
		d.ids = append(d.ids, r.u.id)
		d.plain = append(d.plain, []float64{float64(r.days), perDay, float64(len(r.features)), float64(r.appointments), r.recency})
		x = append(x, []float64{math.Log1p(float64(r.days)), math.Log1p(perDay), float64(len(r.features)), math.Log1p(float64(r.appointments)), r.recency})
	}
	if len(x) == 0 {
		return d
	}
	dims := len(x[0])
	d.means, d.sds = make([]float64, dims), make([]float64, dims)
	for j := range dims {
		for _, row := range x {
			d.means[j] += row[j]
		}
		d.means[j] /= float64(len(x))
		for _, row := range x {
			d.sds[j] += (row[j] - d.means[j]) * (row[j] - d.means[j])
		}
		d.sds[j] = math.Sqrt(d.sds[j] / float64(len(x)))
		if d.sds[j] <= 1e-12*math.Max(1, math.Abs(d.means[j])) {
			d.sds[j] = 0
		}
	}
	for _, row := range x {
		z := make([]float64, dims)
		for j := range dims {
			if d.sds[j] > 0 {
				z[j] = (row[j] - d.means[j]) / d.sds[j]
			}
		}
		d.z = append(d.z, z)
	}
	return d
}

// refLloyd runs Lloyd's algorithm as documented: nearest centroid (lowest index on a tie), means,
// an empty cluster keeps its centroid, until nothing changes (at most 300 iterations).
func refLloyd(points, initial [][]float64) (labels []int, centroids [][]float64, inertia float64) {
	dist := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += (a[i] - b[i]) * (a[i] - b[i])
		}
		return s
	}
	centroids = make([][]float64, len(initial))
	for c := range initial {
		centroids[c] = append([]float64(nil), initial[c]...)
	}
	labels = make([]int, len(points))
	for i := range labels {
		labels[i] = -1
	}
	for iter := 0; iter < 300; iter++ {
		changed := false
		for i, p := range points {
			best := 0
			for c := range centroids {
				if dist(p, centroids[c]) < dist(p, centroids[best]) {
					best = c
				}
			}
			if labels[i] != best {
				labels[i] = best
				changed = true
			}
		}
		if !changed {
			break
		}
		for c := range centroids {
			sum := make([]float64, len(points[0]))
			n := 0
			for i, p := range points {
				if labels[i] == c {
					for j := range p {
						sum[j] += p[j]
					}
					n++
				}
			}
			if n > 0 {
				for j := range sum {
					centroids[c][j] = sum[j] / float64(n)
				}
			}
		}
	}
	for i, p := range points {
		inertia += dist(p, centroids[labels[i]])
	}
	return labels, centroids, inertia
}

// refSilhouette is the mean silhouette over all points, brute force.
func refSilhouette(points [][]float64, labels []int) float64 {
	dist := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += (a[i] - b[i]) * (a[i] - b[i])
		}
		return math.Sqrt(s)
	}
	total := 0.0
	for i := range points {
		sums, counts := map[int]float64{}, map[int]int{}
		for j := range points {
			if i != j {
				sums[labels[j]] += dist(points[i], points[j])
				counts[labels[j]]++
			}
		}
		if counts[labels[i]] == 0 {
			continue // alone in its cluster
		}
		a := sums[labels[i]] / float64(counts[labels[i]])
		b := math.Inf(1)
		for c, s := range sums {
			if c != labels[i] {
				b = math.Min(b, s/float64(counts[c]))
			}
		}
		if math.IsInf(b, 1) || math.Max(a, b) == 0 {
			continue
		}
		total += (b - a) / math.Max(a, b)
	}
	return total / float64(len(points))
}

func compareEngagement(t *testing.T, got, want *analytics.EngagementResult) {
	t.Helper()
	if got.FeaturesInUse != want.FeaturesInUse || got.RangeDays != want.RangeDays || len(got.Series) != len(want.Series) {
		t.Fatalf("%d features, %d days, %d series; want %d, %d, %d", got.FeaturesInUse, got.RangeDays, len(got.Series),
			want.FeaturesInUse, want.RangeDays, len(want.Series))
	}
	for i, w := range want.Series {
		g := got.Series[i]
		if g.Breakdown != w.Breakdown || g.Users != w.Users || !closeEnough(g.Mean, w.Mean) || !slices.Equal(g.Buckets, w.Buckets) {
			t.Fatalf("series %d = %+v, want %+v", i, g, w)
		}
	}
	for _, list := range []struct {
		name      string
		got, want []analytics.EngagementScore
	}{{"top", got.Top, want.Top}, {"bottom", got.Bottom, want.Bottom}, {"scores", got.Scores, want.Scores}} {
		if len(list.got) != len(list.want) {
			t.Fatalf("%s has %d beneficiaries, want %d", list.name, len(list.got), len(list.want))
		}
		for i, w := range list.want {
			g := list.got[i]
			// Scores a rounding apart may swap places: the ranking is by the score.
			if g.UserID != w.UserID && closeEnough(g.Score, w.Score) {
				continue
			}
			if g.UserID != w.UserID || !closeEnough(g.Score, w.Score) || !closeEnough(g.Recency, w.Recency) ||
				!closeEnough(g.Frequency, w.Frequency) || !closeEnough(g.Depth, w.Depth) || g.ActiveDays != w.ActiveDays ||
				g.Events != w.Events || g.Features != w.Features || (g.LastActivity == nil) != (w.LastActivity == nil) ||
				(g.LastActivity != nil && !g.LastActivity.Equal(*w.LastActivity)) {
				t.Fatalf("%s[%d] = %+v, want %+v", list.name, i, g, w)
			}
		}
	}
}

func compareRFM(t *testing.T, got *analytics.SegmentsResult, segs []analytics.Segment, cells []analytics.RFMCell, members map[int64]analytics.SegmentMember) {
	t.Helper()
	if got.RFM == nil || got.KMeans != nil || !slices.Equal(got.Features, analytics.RFMFeatures) {
		t.Fatalf("RFM result shaped %+v", got)
	}
	if got.Users != int64(len(members)) || len(got.Segments) != len(segs) || !slices.Equal(got.RFM.Cells, cells) {
		t.Fatalf("%d users, %d segments, cells %v; want %d, %d, %v", got.Users, len(got.Segments), got.RFM.Cells, len(members), len(segs), cells)
	}
	for i, w := range segs {
		g := got.Segments[i]
		if g.Name != w.Name || g.Users != w.Users || !closeEnough(g.Share, w.Share) || len(g.Profile) != len(w.Profile) {
			t.Fatalf("segment %d = %+v, want %+v", i, g, w)
		}
		for j := range w.Profile {
			if !closeEnough(g.Profile[j], w.Profile[j]) {
				t.Fatalf("segment %s profile = %v, want %v", w.Name, g.Profile, w.Profile)
			}
		}
	}
	if !got.Query.IncludeMembers {
		if len(got.Members) != 0 {
			t.Fatalf("%d members listed unasked", len(got.Members))
		}
		return
	}
	if len(got.Members) != len(members) {
		t.Fatalf("%d members, want %d", len(got.Members), len(members))
	}
	for _, g := range got.Members {
		if w := members[g.UserID]; g != w {
			t.Fatalf("member %+v, want %+v", g, w)
		}
	}
}

// compareKMeans checks a k-means result against the reference's own features: the same
// standardization, Lloyd's algorithm from the result's initial centroids giving the members'
// clusters and centroids, a brute-force silhouette, and the profiles.
func compareKMeans(t *testing.T, got *analytics.SegmentsResult, d refKMeansData) {
	t.Helper()
	km := got.KMeans
	if km == nil || got.RFM != nil || !slices.Equal(got.Features, analytics.KMeansFeatures) {
		t.Fatalf("k-means result shaped %+v", got)
	}
	if got.Users != int64(len(d.ids)) {
		t.Fatalf("%d users, want %d", got.Users, len(d.ids))
	}
	if len(d.ids) == 0 {
		if len(got.Segments) != 0 || len(got.Members) != 0 {
			t.Fatalf("segments %v for nobody", got.Segments)
		}
		return
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for j := range d.means {
		if !near(km.Means[j], d.means[j]) || !near(km.StdDevs[j], d.sds[j]) {
			t.Fatalf("standardization %v / %v, want %v / %v", km.Means, km.StdDevs, d.means, d.sds)
		}
	}
	if len(km.InitialCentroids) != km.K || len(got.Segments) != km.K {
		t.Fatalf("k %d with %d initial centroids and %d segments", km.K, len(km.InitialCentroids), len(got.Segments))
	}
	// k-means++ seeds are data points.
	for c, ic := range km.InitialCentroids {
		if !slices.ContainsFunc(d.z, func(p []float64) bool { return slices.EqualFunc(p, ic, near) }) {
			t.Fatalf("initial centroid %d %v is not a data point", c, ic)
		}
	}
	if len(km.Candidates) > 0 {
		best := km.Candidates[0]
		for _, c := range km.Candidates {
			if c.Silhouette > best.Silhouette {
				best = c
			}
		}
		if best.K != km.K || !near(best.Silhouette, km.Silhouette) {
			t.Fatalf("k %d (silhouette %.6f) chosen from %+v", km.K, km.Silhouette, km.Candidates)
		}
	}
	labels, centroids, inertia := refLloyd(d.z, km.InitialCentroids)
	if !near(inertia, km.Inertia) {
		t.Fatalf("inertia %.9f, want %.9f", km.Inertia, inertia)
	}
	for c := range centroids {
		if !slices.EqualFunc(centroids[c], km.Centroids[c], near) {
			t.Fatalf("centroid %d = %v, want %v", c, km.Centroids[c], centroids[c])
		}
	}
	if km.K > 1 {
		if s := refSilhouette(d.z, labels); !near(km.Silhouette, s) || km.SilhouettePoints != len(d.ids) {
			t.Fatalf("silhouette %.9f over %d points, want %.9f over %d", km.Silhouette, km.SilhouettePoints, s, len(d.ids))
		}
	}
	sizes := make([]int64, km.K)
	sums := make([][]float64, km.K)
	for c := range sums {
		sums[c] = make([]float64, len(d.plain[0]))
	}
	for i, c := range labels {
		sizes[c]++
		for j, v := range d.plain[i] {
			sums[c][j] += v
		}
	}
	for c, seg := range got.Segments {
		if seg.Name != fmt.Sprintf("cluster_%d", c+1) || seg.Users != sizes[c] || (c > 0 && sizes[c] > sizes[c-1]) {
			t.Fatalf("segment %d = %+v, want %d users (sizes %v)", c, seg, sizes[c], sizes)
		}
		for j := range sums[c] {
			if !near(seg.Profile[j], sums[c][j]/float64(sizes[c])) {
				t.Fatalf("segment %d profile %v", c, seg.Profile)
			}
		}
	}
	if got.Query.IncludeMembers {
		if len(got.Members) != len(d.ids) {
			t.Fatalf("%d members, want %d", len(got.Members), len(d.ids))
		}
		for i, m := range got.Members {
			if m.UserID != d.ids[i] || m.Cluster != labels[i]+1 || m.Segment != fmt.Sprintf("cluster_%d", labels[i]+1) {
				t.Fatalf("member %d = %+v, want user %d in cluster %d", i, m, d.ids[i], labels[i]+1)
			}
		}
	}
}
