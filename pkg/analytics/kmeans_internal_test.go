package analytics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// blobs returns n points around each centre, with a little deterministic noise.
func blobs(centres [][]float64, n int, r *rand.Rand) [][]float64 {
	var out [][]float64
	for _, c := range centres {
		for range n {
			p := slices.Clone(c)
			for j := range p {
				p[j] += 0.1 * r.NormFloat64()
			}
			out = append(out, p)
		}
	}
	return out
}

func TestKMeansRecoversBlobs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	centres := [][]float64{{0, 0}, {5, 5}, {0, 8}}
	points := blobs(centres, 40, r)
	// Unequal sizes, so the numbering by size is visible.
	points = append(points, blobs([][]float64{{5, 5}}, 10, r)...)
	fit := kmeans(points, 3, 3, rand.New(rand.NewPCG(7, 3)))
	// Cluster 0 is the largest: the blob around (5, 5) with its 50 points.
	size := make([]int, 3)
	for _, c := range fit.labels {
		size[c]++
	}
	if !slices.Equal(size, []int{50, 40, 40}) {
		t.Fatalf("cluster sizes %v", size)
	}
	for b := range 3 {
		first := fit.labels[b*40]
		for i := b * 40; i < (b+1)*40; i++ {
			if fit.labels[i] != first {
				t.Fatalf("blob %d split: %v", b, fit.labels)
			}
		}
	}
	if d := math.Hypot(fit.centroids[0][0]-5, fit.centroids[0][1]-5); d > 0.1 {
		t.Errorf("largest centroid %v, want near (5, 5)", fit.centroids[0])
	}
	// The same seed gives the same clustering; Lloyd from the seeds kept gives it again.
	again := kmeans(points, 3, 3, rand.New(rand.NewPCG(7, 3)))
	if !slices.Equal(fit.labels, again.labels) || fit.inertia != again.inertia {
		t.Error("k-means is not deterministic for a seed")
	}
	if re := lloyd(points, fit.initial); !slices.Equal(re.labels, fit.labels) {
		t.Error("Lloyd from the kept seeds does not give the clustering")
	}
	sample := silhouetteSample(len(points), rand.New(rand.NewPCG(1, 0)))
	if s := silhouette(points, fit.labels, 3, sample); s < 0.8 {
		t.Errorf("silhouette %.3f of well separated blobs", s)
	}
}

func TestKMeansPlusPlusSeedsAreDistinctPoints(t *testing.T) {
	points := [][]float64{{0}, {0}, {0}, {1}, {1}, {10}}
	for seed := range uint64(50) {
		seeds := kmeansPlusPlus(points, 3, rand.New(rand.NewPCG(seed, 0)))
		got := []float64{seeds[0][0], seeds[1][0], seeds[2][0]}
		slices.Sort(got)
		if !slices.Equal(got, []float64{0, 1, 10}) {
			t.Fatalf("seed %d: k-means++ picked %v", seed, got)
		}
	}
	if n := newPointSet(points).values; n != 3 {
		t.Fatalf("%d distinct points, want 3", n)
	}
	if n := newPointSet([][]float64{{0}, {math.Copysign(0, -1)}}).values; n != 1 {
		t.Fatalf("0 and -0 count as %d points", n)
	}
}

func TestSilhouetteByHand(t *testing.T) {
	// Points 0, 1 in cluster 0 and 4 in cluster 1 on a line: s(0) = (4 - 1) / 4, s(1) = (3 - 1) / 3,
	// s(4) = 0 (alone).
	points := [][]float64{{0}, {1}, {4}}
	got := silhouette(points, []int{0, 0, 1}, 2, []int{0, 1, 2})
	if want := (3.0/4 + 2.0/3) / 3; math.Abs(got-want) > 1e-12 {
		t.Fatalf("silhouette %.12f, want %.12f", got, want)
	}
	if idx := silhouetteSample(SilhouetteSampleSize+10, rand.New(rand.NewPCG(1, 0))); len(idx) != SilhouetteSampleSize || !slices.IsSorted(idx) {
		t.Fatalf("sample of %d indexes", len(idx))
	}
}

func TestStandardize(t *testing.T) {
	x := mat.NewDense(4, 2, []float64{1, 0.1, 2, 0.1, 3, 0.1, 4, 0.1})
	z, means, sds := standardize(x)
	if means[0] != 2.5 || math.Abs(sds[0]-math.Sqrt(1.25)) > 1e-12 || sds[1] != 0 {
		t.Fatalf("means %v, deviations %v", means, sds)
	}
	for i := range 4 {
		if z.At(i, 1) != 0 {
			t.Fatalf("constant column standardized to %v", mat.Formatted(z))
		}
	}
}

func TestLloydKeepsAnEmptyCluster(t *testing.T) {
	// The third seed is nearest to nobody: it stays where it is.
	fit := lloyd([][]float64{{0}, {1}, {10}, {11}}, [][]float64{{0}, {10}, {100}})
	if !slices.Equal(fit.labels, []int{0, 0, 1, 1}) || fit.centroids[2][0] != 100 || fit.centroids[0][0] != 0.5 || fit.inertia != 1 {
		t.Fatalf("labels %v, centroids %v, inertia %v", fit.labels, fit.centroids, fit.inertia)
	}
}

func TestCalendar(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	q := Query{From: time.Date(2026, 3, 25, 15, 0, 0, 0, paris), To: time.Date(2026, 4, 2, 0, 0, 0, 0, paris), TimeZone: "Europe/Paris"}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	week := newCalendar(&q, PeriodWeek)
	d := func(y, m, dd int) civil { return time.Date(y, time.Month(m), dd, 0, 0, 0, 0, time.UTC) }
	if !week.start(0).Equal(d(2026, 3, 23)) || week.count() != 2 || week.daysIn(1) != 3 || week.daysIn(0) != 7 {
		t.Fatalf("weeks from %s: %d, days %d and %d", week.start(0), week.count(), week.daysIn(0), week.daysIn(1))
	}
	for day, want := range map[civil]int{d(2026, 3, 22): -1, d(2026, 3, 16): -1, d(2026, 3, 15): -2, d(2026, 3, 29): 0, d(2026, 3, 30): 1} {
		if got := week.index(day); got != want {
			t.Errorf("week of %s = %d, want %d", day.Format(time.DateOnly), got, want)
		}
	}
	// The week after the spring change starts at midnight CEST.
	if got := week.startTime(1); !got.Equal(time.Date(2026, 3, 30, 0, 0, 0, 0, paris)) || got.Sub(week.startTime(0)) != 7*24*time.Hour-time.Hour {
		t.Fatalf("second week starts %s", got)
	}
	month := newCalendar(&q, PeriodMonth)
	if month.index(d(2026, 1, 31)) != -2 || month.start(-1) != d(2026, 2, 1) || month.daysIn(1) != 1 {
		t.Fatalf("months: %d, %s, %d", month.index(d(2026, 1, 31)), month.start(-1), month.daysIn(1))
	}
	for _, c := range [][3]int{{7, 7, 1}, {-1, 7, -1}, {-7, 7, -1}, {-8, 7, -2}, {0, 7, 0}, {6, 7, 0}} {
		if got := floorDiv(c[0], c[1]); got != c[2] {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}

// TestLloydBoundsSkipNothingThatMatters checks Lloyd with its bounds against Lloyd comparing every
// value with every centroid, bit for bit, on points of a small grid (many repeated values, many
// points equidistant from two centroids, ties going to the lower index) and on noisy blobs.
func TestLloydBoundsSkipNothingThatMatters(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 11))
		var points [][]float64
		if seed%2 == 0 {
			for range 400 {
				points = append(points, []float64{float64(r.IntN(5)), float64(r.IntN(4)), float64(r.IntN(3))})
			}
		} else {
			points = blobs([][]float64{{0, 0, 0}, {3, 1, 0}, {1, 4, 2}, {2, 2, 2}}, 100, r)
		}
		for k := 2; k <= 6; k++ {
			initial := kmeansPlusPlus(points, k, r)
			plain := newPointSet(points)
			plain.unbounded = true
			got, want := lloyd(points, initial), plain.lloyd(initial)
			if !slices.Equal(got.labels, want.labels) || got.iterations != want.iterations {
				t.Fatalf("seed %d, k %d: %d iterations %v, want %d %v", seed, k, got.iterations, got.labels, want.iterations, want.labels)
			}
			for c := range want.centroids {
				if !slices.Equal(got.centroids[c], want.centroids[c]) {
					t.Fatalf("seed %d, k %d: centroid %d = %v, want %v", seed, k, c, got.centroids[c], want.centroids[c])
				}
			}
		}
	}
}

// TestKMeansEachIsKMeansPerK checks that sharing the runs of several ks between workers gives
// each k what kmeans gives it alone.
func TestKMeansEachIsKMeansPerK(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	points := blobs([][]float64{{0, 0}, {4, 1}, {1, 5}, {6, 6}}, 60, r)
	rng := func(k int) *rand.Rand { return rand.New(rand.NewPCG(9, uint64(k))) }
	ks := []int{2, 3, 4, 5, 6}
	set := newPointSet(points)
	for _, workers := range []int{1, 3, 8} {
		fits := set.kmeansEach(ks, 3, rng, workers)
		for i, k := range ks {
			want := kmeans(points, k, 3, rng(k))
			if !slices.Equal(fits[i].labels, want.labels) || fits[i].inertia != want.inertia {
				t.Fatalf("%d workers, k %d: inertia %v, want %v", workers, k, fits[i].inertia, want.inertia)
			}
		}
	}
}
