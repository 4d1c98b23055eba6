package analytics

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gonum.org/v1/gonum/mat"
)

// SegmentMethod says how beneficiaries are segmented.
type SegmentMethod string

// Segmentation methods.
const (
	// SegmentRFM scores recency, frequency and monetary value in quintiles and names segments
	// from the recency and frequency scores (RFMSegment).
	SegmentRFM SegmentMethod = "rfm"
	// SegmentKMeans clusters standardized behaviour features (KMeansFeatures) with k-means.
	SegmentKMeans SegmentMethod = "kmeans"
)

// Segments limits and defaults.
const (
	DefaultKMin  = 2
	DefaultKMax  = 8
	MaxK         = 20
	DefaultNInit = 4
	MaxNInit     = 20
)

// RFMSegments are the named RFM segments, in the order results list them.
//
// The RFM values of a beneficiary, over the calendar days of the range (from the day that holds
// From, before To), for the beneficiaries of the population whose account exists before To:
//
//   - recency: days (fractional) from the last activity to To; the whole range, from its first
//     day's start to To, without activity in the range;
//   - frequency: visits, that is days with activity plus appointments completed (scheduled in
//     the range; the appointment channel filter applies), so that a beneficiary who only meets
//     their trainer still counts;
//   - monetary: payments in the range, in cents (amounts are summed whatever their currency: the
//     platform bills in euros).
//
// Each value is scored 1 to 5 by quintile with SQL's ntile(5), ordered so that 5 is best (most
// recent, most frequent, highest paying) and ties broken by user id; beneficiaries with the same
// value then all take the lowest score any of them got, so equal behaviour always scores the
// same (all who paid nothing score M = 1, rather than 1, 2 or 3 by user id).
//
// The named segments come from the recency (R) and frequency (F) scores, with the usual RFM map:
//
//	champions            R 5,   F 4–5     loyal           R 3–4, F 4–5
//	potential_loyalists  R 4–5, F 2–3     new             R 5,   F 1
//	promising            R 4,   F 1       need_attention  R 3,   F 3
//	about_to_sleep       R 3,   F 1–2     at_risk         R 1–2, F 3–4
//	cant_lose_them       R 1–2, F 5       hibernating     R 1–2, F 1–2
//
// The monetary score is reported with each member and as the segments' mean payments.
var RFMSegments = []string{
	"champions", "loyal", "potential_loyalists", "new", "promising",
	"need_attention", "about_to_sleep", "at_risk", "cant_lose_them", "hibernating",
}

// RFMSegment names the segment of recency and frequency scores (1 to 5).
func RFMSegment(r, f int) string {
	switch {
	case r <= 2 && f <= 2:
		return "hibernating"
	case r <= 2 && f <= 4:
		return "at_risk"
	case r <= 2:
		return "cant_lose_them"
	case r == 3 && f <= 2:
		return "about_to_sleep"
	case r == 3 && f == 3:
		return "need_attention"
	case f >= 4 && r <= 4:
		return "loyal"
	case f >= 4:
		return "champions"
	case f >= 2:
		return "potential_loyalists"
	case r == 4:
		return "promising"
	}
	return "new"
}

// RFMFeatures name the RFM values in segment profiles.
var RFMFeatures = []string{"recency_days", "frequency", "monetary_cents"}

// KMeansFeatures name the behaviour features of k-means, over the same beneficiaries and days
// as RFM: days with activity, activity rows per day with activity (0 without any), distinct
// features used, appointments completed, and recency in days (as for RFM). Clustering uses
// ln(1 + x) of the first, second and fourth (counts with long tails), then standardizes every
// feature to mean 0 and standard deviation 1 (population), so each weighs the same; profiles
// report the plain values.
var KMeansFeatures = []string{"active_days", "events_per_active_day", "features_used", "appointments_completed", "recency_days"}

// SegmentsQuery segments the beneficiaries by RFM or k-means.
type SegmentsQuery struct {
	Query
	// Method is rfm (default) or kmeans.
	Method SegmentMethod `json:"method,omitempty"`
	// K is the number of k-means clusters, 2 to 20; 0 (default) chooses it by the best mean
	// silhouette from KMin to KMax (the smaller k on a tie).
	K int `json:"k,omitempty"`
	// KMin and KMax bound the k tried when K is 0; default 2 and 8.
	KMin int `json:"kMin,omitempty"`
	KMax int `json:"kMax,omitempty"`
	// Seed makes k-means deterministic: the k-means++ seeds and the silhouette sample are drawn
	// from it.
	Seed uint64 `json:"seed,omitempty"`
	// NInit is the number of k-means++ runs per k, the one of least inertia kept; default 4.
	NInit int `json:"nInit,omitempty"`
	// IncludeMembers lists every segmented beneficiary (user id and segment) in the result, by
	// user id.
	IncludeMembers bool `json:"includeMembers,omitempty"`
}

// Validate checks the query and fills its defaults; errors are *ParamError.
func (q *SegmentsQuery) Validate() error {
	if err := q.Query.Validate(); err != nil {
		return err
	}
	q.Method = SegmentMethod(strings.ToLower(string(q.Method)))
	switch q.Method {
	case "":
		q.Method = SegmentRFM
	case SegmentRFM, SegmentKMeans:
	default:
		return paramErr("method", "unknown method %q; one of %q, %q", string(q.Method), SegmentRFM, SegmentKMeans)
	}
	if q.Method == SegmentRFM {
		for _, p := range []struct {
			name string
			set  bool
		}{{"k", q.K != 0}, {"kMin", q.KMin != 0}, {"kMax", q.KMax != 0}, {"nInit", q.NInit != 0}, {"seed", q.Seed != 0}} {
			if p.set {
				return paramErr(p.name, "only method %q takes it", SegmentKMeans)
			}
		}
		return newCalendar(&q.Query, PeriodDay).checkCount()
	}
	if q.K != 0 {
		if q.K < 2 || q.K > MaxK {
			return paramErr("k", "must be between 2 and %d (or 0 to choose by silhouette), got %d", MaxK, q.K)
		}
		if q.KMin != 0 || q.KMax != 0 {
			return paramErr("kMin", "only applies when k is 0 (chosen by silhouette)")
		}
	} else {
		if q.KMin == 0 {
			q.KMin = DefaultKMin
		}
		if q.KMax == 0 {
			q.KMax = max(DefaultKMax, q.KMin)
		}
		if q.KMin < 2 || q.KMin > MaxK {
			return paramErr("kMin", "must be between 2 and %d, got %d", MaxK, q.KMin)
		}
		if q.KMax < q.KMin || q.KMax > MaxK {
			return paramErr("kMax", "must be between kMin (%d) and %d, got %d", q.KMin, MaxK, q.KMax)
		}
	}
	if q.NInit == 0 {
		q.NInit = DefaultNInit
	}
	if q.NInit < 1 || q.NInit > MaxNInit {
		return paramErr("nInit", "must be between 1 and %d, got %d", MaxNInit, q.NInit)
	}
	return newCalendar(&q.Query, PeriodDay).checkCount()
}

// UnmarshalJSON reads the query; it exists so that "seed" may be given as a JSON number or a
// string (Grafana's template variables are strings).
func (q *SegmentsQuery) UnmarshalJSON(data []byte) error {
	type plain SegmentsQuery // without this method
	var p struct {
		plain
		Seed json.RawMessage `json:"seed,omitempty"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*q = SegmentsQuery(p.plain)
	q.Seed = 0
	if s := strings.Trim(string(p.Seed), `"`); s != "" && s != "null" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("seed %s is not an unsigned integer", p.Seed)
		}
		q.Seed = v
	}
	return nil
}

// SegmentsResult is the segmentation.
type SegmentsResult struct {
	// Query after defaults.
	Query SegmentsQuery `json:"query"`
	// Users is the number of beneficiaries segmented.
	Users int64 `json:"users"`
	// Features name the values of the segments' profiles: RFMFeatures or KMeansFeatures.
	Features []string `json:"features"`
	// Segments: RFM's named segments in the order of RFMSegments, every one present; k-means'
	// clusters "cluster_1" to "cluster_k", largest first.
	Segments []Segment `json:"segments"`
	// RFM holds the score grid; nil for k-means.
	RFM *RFMDetails `json:"rfm,omitempty"`
	// KMeans holds the clustering's figures; nil for RFM.
	KMeans *KMeansDetails `json:"kmeans,omitempty"`
	// Members lists the segmented beneficiaries by user id, when asked for.
	Members []SegmentMember `json:"members,omitempty"`
	// Executed is the statement that computed the values (and, for RFM, the scores).
	Executed Executed `json:"executed"`
}

// Segment is one segment's size and profile.
type Segment struct {
	Name  string  `json:"name"`
	Users int64   `json:"users"`
	Share float64 `json:"share"`
	// Profile is the mean of each of the result's Features over the segment's members (0 for an
	// empty segment).
	Profile []float64 `json:"profile"`
}

// RFMDetails is the grid of recency and frequency scores.
type RFMDetails struct {
	// Cells are the 25 (R, F) pairs, R major, each with its segment.
	Cells []RFMCell `json:"cells"`
}

// RFMCell is one cell of the RFM grid.
type RFMCell struct {
	R       int    `json:"r"`
	F       int    `json:"f"`
	Segment string `json:"segment"`
	Users   int64  `json:"users"`
}

// KMeansDetails describes the clustering.
type KMeansDetails struct {
	// K is the number of clusters: the one asked for, the one chosen by silhouette, or fewer
	// when the beneficiaries have fewer distinct feature vectors.
	K int `json:"k"`
	// Means and StdDevs standardized the (transformed) features.
	Means   []float64 `json:"means"`
	StdDevs []float64 `json:"stdDevs"`
	// Silhouette is the mean silhouette of the clustering (0 for a single cluster) over
	// SilhouettePoints points; Inertia the sum of squared standardized distances to centroids.
	Silhouette       float64 `json:"silhouette"`
	SilhouettePoints int     `json:"silhouettePoints"`
	Inertia          float64 `json:"inertia"`
	// Iterations of Lloyd's algorithm in the run kept.
	Iterations int `json:"iterations"`
	// Candidates are the k tried, with their silhouette and inertia, when K was chosen.
	Candidates []KMeansCandidate `json:"candidates,omitempty"`
	// InitialCentroids are the k-means++ seeds of the run kept and Centroids where it ended, in
	// standardized units, in cluster order: Lloyd's algorithm from InitialCentroids gives the
	// members' clusters again.
	InitialCentroids [][]float64 `json:"initialCentroids"`
	Centroids        [][]float64 `json:"centroids"`
}

// KMeansCandidate is one k tried.
type KMeansCandidate struct {
	K          int     `json:"k"`
	Silhouette float64 `json:"silhouette"`
	Inertia    float64 `json:"inertia"`
}

// SegmentMember is one beneficiary's segment; ids only, no personal data.
type SegmentMember struct {
	UserID  int64  `json:"userId"`
	Segment string `json:"segment"`
	// R, F and M are the RFM scores (RFM only).
	R int `json:"r,omitempty"`
	F int `json:"f,omitempty"`
	M int `json:"m,omitempty"`
	// Cluster is the k-means cluster, from 1 (k-means only).
	Cluster int `json:"cluster,omitempty"`
}

// Segments segments the beneficiaries.
//
// The statement computes every beneficiary's values in one pass over the activity (the daily
// rollup where it covers), appointments and payments. For RFM it also scores them (a rank
// window per score) and aggregates by score; for k-means it returns the values, one row per
// beneficiary, and the clustering runs here on them.
func (e *Engine) Segments(ctx context.Context, q SegmentsQuery) (*SegmentsResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Method == SegmentRFM {
		return e.segmentRFM(ctx, q)
	}
	return e.segmentKMeans(ctx, q)
}

func (e *Engine) segmentRFM(ctx context.Context, q SegmentsQuery) (*SegmentsResult, error) {
	res := &SegmentsResult{Query: q, Features: RFMFeatures, RFM: &RFMDetails{}}
	type agg struct {
		users int64
		sums  [3]float64
	}
	segs := map[string]*agg{}
	grid := map[[2]int]int64{}
	ex, err := e.query(ctx, e.useRollup(q.Location()), q.build, func(rows pgx.Rows) error {
		var (
			kind    string
			r, f, m int
			n       int64
			sums    [3]float64
			user    int64
		)
		if err := rows.Scan(&kind, &r, &f, &m, &n, &sums[0], &sums[1], &sums[2], &user); err != nil {
			return err
		}
		if r < 1 || r > 5 || f < 1 || f > 5 || m < 1 || m > 5 {
			return fmt.Errorf("RFM scores %d %d %d out of range", r, f, m)
		}
		name := RFMSegment(r, f)
		switch kind {
		case "c":
			s := segs[name]
			if s == nil {
				s = &agg{}
				segs[name] = s
			}
			s.users += n
			for i := range sums {
				s.sums[i] += sums[i]
			}
			grid[[2]int{r, f}] += n
			res.Users += n
		case "u":
			res.Members = append(res.Members, SegmentMember{UserID: user, Segment: name, R: r, F: f, M: m})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't compute RFM segments: %w", err)
	}
	res.Executed = ex
	slices.SortFunc(res.Members, func(a, b SegmentMember) int { return cmp.Compare(a.UserID, b.UserID) })
	for _, name := range RFMSegments {
		s := segs[name]
		if s == nil {
			s = &agg{}
		}
		seg := Segment{Name: name, Users: s.users, Share: ratio(s.users, res.Users), Profile: make([]float64, len(s.sums))}
		if s.users > 0 {
			for i, v := range s.sums {
				seg.Profile[i] = v / float64(s.users)
			}
		}
		res.Segments = append(res.Segments, seg)
	}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			res.RFM.Cells = append(res.RFM.Cells, RFMCell{R: r, F: f, Segment: RFMSegment(r, f), Users: grid[[2]int{r, f}]})
		}
	}
	return res, nil
}

// beneficiaryValues are one beneficiary's values as the statement returns them for k-means.
type beneficiaryValues struct {
	user                         int64
	days, features, appointments int
	events                       int64
	recency                      float64
}

func (e *Engine) segmentKMeans(ctx context.Context, q SegmentsQuery) (*SegmentsResult, error) {
	var vals []beneficiaryValues
	ex, err := e.query(ctx, e.useRollup(q.Location()), q.build, func(rows pgx.Rows) error {
		var v beneficiaryValues
		if err := rows.Scan(&v.user, &v.days, &v.events, &v.features, &v.appointments, &v.recency); err != nil {
			return err
		}
		vals = append(vals, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read the behaviour features: %w", err)
	}
	res := &SegmentsResult{Query: q, Features: KMeansFeatures, Users: int64(len(vals)), Executed: ex, Segments: []Segment{}}
	det := &KMeansDetails{}
	res.KMeans = det
	if len(vals) == 0 {
		return res, nil
	}
	d := len(KMeansFeatures)
	plain := mat.NewDense(len(vals), d, nil)
	x := mat.NewDense(len(vals), d, nil)
	for i, v := range vals {
		perDay := 0.0
		if v.days > 0 {
			perDay = float64(v.events) / float64(v.days)
		}
		plain.SetRow(i, []float64{float64(v.days), perDay, float64(v.features), float64(v.appointments), v.recency})
		x.SetRow(i, []float64{math.Log1p(float64(v.days)), math.Log1p(perDay), float64(v.features), math.Log1p(float64(v.appointments)), v.recency})
	}
	z, means, sds := standardize(x)
	det.Means, det.StdDevs = means, sds
	points := rows(z)

	set := newPointSet(points)
	// Fewer distinct points than clusters would leave clusters empty from the start.
	distinct := set.values
	// Seeded generators: the same query must give the same clustering, and nothing here is a
	// secret. Each k has its own stream, so a k's clustering does not depend on the range tried.
	sample := silhouetteSample(len(points), rand.New(rand.NewPCG(q.Seed, 0))) //nolint:gosec // seeded for reproducibility, not security
	det.SilhouettePoints = len(sample)
	dists := newSampleDistances(points, sample)
	rng := func(k int) *rand.Rand {
		return rand.New(rand.NewPCG(q.Seed, uint64(k))) //nolint:gosec // seeded for reproducibility, not security
	}
	run := func(k int) kmeansFit { return set.kmeans(k, q.NInit, rng(k)) }
	var fit kmeansFit
	switch {
	case distinct < 2:
		det.K = 1
		fit = set.lloyd([][]float64{append([]float64(nil), points[0]...)})
	case q.K != 0:
		det.K = min(q.K, distinct)
		fit = run(det.K)
		det.Silhouette = dists.silhouette(fit.labels, det.K)
	default:
		// Each k has its own random stream, so the runs of every k share the cores and each k
		// still gets the same.
		var ks []int
		for k := q.KMin; k <= min(q.KMax, distinct); k++ {
			ks = append(ks, k)
		}
		fits := set.kmeansEach(ks, q.NInit, rng, runtime.GOMAXPROCS(0))
		sils := make([]float64, len(ks))
		var wg sync.WaitGroup
		for i, k := range ks {
			wg.Go(func() { sils[i] = dists.silhouette(fits[i].labels, k) })
		}
		wg.Wait()
		for i, k := range ks {
			det.Candidates = append(det.Candidates, KMeansCandidate{K: k, Silhouette: sils[i], Inertia: fits[i].inertia})
			if det.K == 0 || sils[i] > det.Silhouette {
				det.K, det.Silhouette, fit = k, sils[i], fits[i]
			}
		}
		if det.K == 0 { // fewer distinct points than KMin
			det.K = distinct
			fit = run(det.K)
			det.Silhouette = dists.silhouette(fit.labels, det.K)
		}
	}
	det.Inertia, det.Iterations = fit.inertia, fit.iterations
	det.InitialCentroids, det.Centroids = fit.initial, fit.centroids

	sums := make([][]float64, det.K)
	sizes := make([]int64, det.K)
	for c := range sums {
		sums[c] = make([]float64, d)
	}
	for i, c := range fit.labels {
		sizes[c]++
		for j := range d {
			sums[c][j] += plain.At(i, j)
		}
		if q.IncludeMembers {
			res.Members = append(res.Members, SegmentMember{UserID: vals[i].user, Segment: clusterName(c), Cluster: c + 1})
		}
	}
	for c := range det.K {
		seg := Segment{Name: clusterName(c), Users: sizes[c], Share: ratio(sizes[c], res.Users), Profile: make([]float64, d)}
		for j := range d {
			if sizes[c] > 0 {
				seg.Profile[j] = sums[c][j] / float64(sizes[c])
			}
		}
		res.Segments = append(res.Segments, seg)
	}
	return res, nil
}

func clusterName(c int) string { return "cluster_" + strconv.Itoa(c+1) }

// build writes the statement, reading the rollup up to covered (nil: raw rows only). For RFM it
// returns rows ('c', R, F, M, users, sum of recency, of frequency, of monetary, 0) per score
// triple and, with members, ('u', R, F, M, 1, recency, frequency, monetary, user id) per
// beneficiary; for k-means, rows (user id, days, events, features, appointments, recency) by
// user id.
func (q *SegmentsQuery) build(covered *time.Time) Executed {
	a := &sqlArgs{}
	ctes := []string{populationCTE(a, q.Filters, BreakdownNone)}
	b := newBehaviour(a, &q.Query, covered)
	ctes = append(ctes, b.ctes()...)
	lo := a.addTyped(b.lo, "timestamptz")
	appt := sourceOf(a, EventAppointmentCompleted, q.Filters)
	// Appointments and payments are counted per beneficiary, and joined to beh by its
	// beneficiary id: no join with bdc.beneficiaries per row. The range's appointments are read
	// by a bitmap or sequential scan (NoIndexScan): on the benchmark platform a year of them
	// takes 65 ms that way against 140 ms by the plain scan of the scheduled_at index the planner
	// picks, whose high correlation hides a heap visit per row.
	ctes = append(ctes,
		"apc as (\n  select x.beneficiary_id, count(*)::int as n from "+appt.own+"\n  where "+
			and(appt.ts+" >= "+lo, appt.ts+" < "+b.to.String(), appt.cond)+"\n  group by 1\n)",
		`pay as (
  select x.beneficiary_id, sum(x.amount_cents)::float8 as cents
  from bdc.payments x
  where x.paid_at >= `+lo+` and x.paid_at < `+b.to.String()+`
  group by 1
)`,
		`ft as (
  select h.user_id, h.days, h.events, h.features, coalesce(c.n, 0) as appointments, coalesce(m.cents, 0) as monetary,
    coalesce(`+b.recency("h.last_at")+`, `+b.recency(lo)+`) as recency
  from beh h
  left join apc c on c.beneficiary_id = h.beneficiary_id
  left join pay m on m.beneficiary_id = h.beneficiary_id
)`)
	if q.Method == SegmentKMeans {
		sql := "with " + strings.Join(ctes, ",\n") + "\nselect user_id, days, events, features, appointments, recency from ft order by user_id"
		return Executed{SQL: sql, Args: a.vals, Rollup: b.reader.used, NoIndexScan: true}
	}
	// The lowest ntile(5) among equal values is that of the first of them in the ordering, whose
	// position is their rank. Frequency and monetary take few values (days and appointments
	// counted; sums of a few prices), so their ranks come from a count per value and a running
	// sum over the values: one sort, of recency, instead of three. The beneficiaries are
	// grouped by recency score, frequency and monetary value before those ranks are joined, so
	// the joins see a few thousand groups rather than every beneficiary.
	valueRank := func(name, col string) string {
		return name + ` as (
  select v, c, (sum(c) over (order by v) - c + 1)::bigint as rk
  from (select ` + col + ` as v, count(*) as c from q5 group by 1) h
)`
	}
	// (Frequency and monetary values are whole numbers: their sums over a group are exact.)
	ctes = append(ctes, `q5 as (
  select user_id, recency, days + appointments as frequency, monetary,
    rank() over (order by recency desc) as r0
  from ft
)`, valueRank("fr", "frequency"), valueRank("mr", "monetary"), `nn as (
  select sum(c)::bigint as n from fr
)`, `g as (
  select `+ntileAt("q.r0")+` as r, q.frequency, q.monetary, count(*) as users, sum(q.recency) as recency
  from q5 q cross join nn
  group by 1, 2, 3
)`)
	sql := "with " + strings.Join(ctes, ",\n") + `
select 'c', r, f, m, sum(users)::bigint, sum(recency), sum(frequency * users)::float8, sum(monetary * users), 0::bigint
from (
  select g.r, ` + ntileAt("fr.rk") + ` as f, ` + ntileAt("mr.rk") + ` as m, g.users, g.recency, g.frequency, g.monetary
  from g join fr on fr.v = g.frequency join mr on mr.v = g.monetary cross join nn
) c
group by r, f, m`
	if q.IncludeMembers {
		sql += "\nunion all\nselect 'u', " + ntileAt("q.r0") + ", " + ntileAt("fr.rk") + ", " + ntileAt("mr.rk") +
			", 1, q.recency, q.frequency, q.monetary, q.user_id\nfrom q5 q join fr on fr.v = q.frequency join mr on mr.v = q.monetary cross join nn"
	}
	return Executed{SQL: sql, Args: a.vals, Rollup: b.reader.used, NoIndexScan: true}
}

// ntileAt is the SQL of the bucket ntile(5) gives the row at the 1-based position pos of n rows
// (n: the number of rows): the first n % 5 buckets hold n / 5 + 1 rows, the others n / 5.
func ntileAt(pos string) string {
	big := "(n % 5) * (n / 5 + 1)" // the rows of the larger buckets
	return "(case when " + pos + " <= " + big + " then (" + pos + " - 1) / (n / 5 + 1) + 1 else n % 5 + (" + pos + " - 1 - " + big + ") / (n / 5) + 1 end)::int"
}
