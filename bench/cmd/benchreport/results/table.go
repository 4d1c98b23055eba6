package results

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Row is a result summarized over the runs of a `make bench`: the median of each side.
type Row struct {
	Area     string  `json:"area"`
	Case     string  `json:"case"`
	Scale    string  `json:"scale"`
	Metric   string  `json:"metric"`
	Unit     string  `json:"unit,omitempty"`
	Ours     float64 `json:"ours"`
	OursName string  `json:"ours_name"`
	Peer     float64 `json:"peer,omitempty"`
	PeerName string  `json:"peer_name,omitempty"`
	// Ratio is how many times better ours is than the peer's (above 1, ours is better): peer/ours
	// for a metric where lower is better, ours/peer otherwise, and for a metric with a nominal
	// value the peer's distance to it over ours. Nil without a peer or when a side is zero.
	Ratio         *float64 `json:"ratio"`
	LowerIsBetter bool     `json:"lower_is_better,omitempty"`
	Nominal       float64  `json:"nominal,omitempty"`
	// Runs is how many results the medians are of (the -count of the run).
	Runs int `json:"runs"`
}

// areaOrder is the order of the tables: the product's parts in the README's order; other areas
// follow in the order they were first recorded.
var areaOrder = []string{"Seeding", "Exporter scrape", "Analytics", "Models", "Forecasts", "Export", "Reports",
	"Plugin QueryData", "Load", "Fuzzing"}

// Summarize groups results by area, case, scale, metric and peer (a figure can have several
// peers, each its own row) and takes the median of each side. Rows keep the order their first
// result was recorded in, within areas in areaOrder.
func Summarize(rs []Result) []Row {
	type group struct {
		first      Result
		ours, peer []float64
		index      int
	}
	groups := map[[5]string]*group{}
	var keys [][5]string
	for _, r := range rs {
		k := [5]string{r.Area, r.Case, r.Scale, r.Metric, r.PeerName}
		g := groups[k]
		if g == nil {
			g = &group{first: r, index: len(keys)}
			groups[k] = g
			keys = append(keys, k)
		}
		g.ours = append(g.ours, r.Ours)
		if r.HasPeer() {
			g.peer = append(g.peer, r.Peer)
		}
	}
	areaRank := func(area string) int {
		if i := slices.Index(areaOrder, area); i >= 0 {
			return i
		}
		return len(areaOrder)
	}
	firstOfArea := map[string]int{}
	for i, k := range keys {
		if _, ok := firstOfArea[k[0]]; !ok {
			firstOfArea[k[0]] = i
		}
	}
	slices.SortStableFunc(keys, func(a, b [5]string) int {
		if c := areaRank(a[0]) - areaRank(b[0]); c != 0 {
			return c
		}
		if c := firstOfArea[a[0]] - firstOfArea[b[0]]; c != 0 {
			return c
		}
		return groups[a].index - groups[b].index
	})
	rows := make([]Row, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		r := Row{Area: g.first.Area, Case: g.first.Case, Scale: g.first.Scale, Metric: g.first.Metric, Unit: g.first.Unit,
			Ours: median(g.ours), OursName: g.first.OursName, LowerIsBetter: g.first.LowerIsBetter, Nominal: g.first.Nominal, Runs: len(g.ours)}
		if len(g.peer) > 0 {
			r.Peer, r.PeerName = median(g.peer), g.first.PeerName
			r.Ratio = ratio(r)
		}
		rows = append(rows, r)
	}
	return rows
}

// ratio is how many times better ours is than the peer's, or nil when it is undefined.
func ratio(r Row) *float64 {
	var num, den float64
	switch {
	case r.Nominal != 0:
		num, den = math.Abs(r.Peer-r.Nominal), math.Abs(r.Ours-r.Nominal)
		if num == 0 && den == 0 {
			num, den = 1, 1
		}
	case r.LowerIsBetter:
		num, den = r.Peer, r.Ours
	default:
		num, den = r.Ours, r.Peer
	}
	if den == 0 || num < 0 || den < 0 || math.IsNaN(num/den) || math.IsInf(num/den, 0) {
		return nil
	}
	v := num / den
	return &v
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Machine describes where the figures were measured.
type Machine struct {
	CPU        string  `json:"cpu"`
	Cores      int     `json:"cores"`
	MemoryGiB  float64 `json:"memory_gib"`
	OS         string  `json:"os"`
	Kernel     string  `json:"kernel"`
	Go         string  `json:"go"`
	PostgreSQL string  `json:"postgresql"`
}

// Report is bench/results.json, and what bench/results.md renders.
type Report struct {
	Command  string    `json:"command"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// LoadStart and LoadEnd are the 1, 5 and 15 minute load averages before and after the run.
	LoadStart string  `json:"load_average_start"`
	LoadEnd   string  `json:"load_average_end"`
	Machine   Machine `json:"machine"`
	Rows      []Row   `json:"rows"`
	// Checks are the hardening tests' outcomes, one per case (SummarizeChecks).
	Checks []CheckRow `json:"checks,omitempty"`
	// Failures are the benchmarks, fuzz targets and load tests that failed: their figures are
	// missing from Rows.
	Failures []string `json:"failures,omitempty"`
}

// Markdown renders the report: the machine and the run, then one table per area.
func (r Report) Markdown() string {
	var s strings.Builder
	s.WriteString("# Benchmark results\n\n")
	fmt.Fprintf(&s, "Written by `%s` from %s to %s (%s).\n\n", r.Command, r.Started.UTC().Format("2006-01-02 15:04 MST"),
		r.Finished.UTC().Format("15:04 MST"), r.Finished.Sub(r.Started).Round(time.Second))
	m := r.Machine
	fmt.Fprintf(&s, "- Machine: %s, %d cores, %.1f GiB of memory\n", m.CPU, m.Cores, m.MemoryGiB)
	fmt.Fprintf(&s, "- System: %s, kernel %s; %s; PostgreSQL %s\n", m.OS, m.Kernel, m.Go, m.PostgreSQL)
	fmt.Fprintf(&s, "- Load average (1, 5, 15 min): %s at the start, %s at the end\n\n", r.LoadStart, r.LoadEnd)
	s.WriteString("Each row is the median of its runs, ours and the peer's measured in the same run. The ratio " +
		"is how many times better ours is (above 1: ours is better): the peer's figure over ours for a time or " +
		"a size, ours over the peer's for a throughput or a score, and for an interval's coverage the peer's " +
		"distance to the nominal level over ours.\n")
	if len(r.Failures) > 0 {
		s.WriteString("\n**Failures** (their figures are missing):\n\n")
		for _, f := range r.Failures {
			fmt.Fprintf(&s, "- %s\n", f)
		}
	}
	s.WriteString(r.tables("##", nil))
	s.WriteString(r.checks("##", ""))
	return s.String()
}

// tables renders the figures' tables under headings of the given level ("##"), those of areas
// only when not nil.
func (r Report) tables(level string, areas []string) string {
	var s strings.Builder
	byArea(r.Rows, func(r Row) string { return r.Area }, func(area string, rows []Row) {
		if areas == nil || slices.Contains(areas, area) {
			writeTable(&s, level, area, rows)
		}
	})
	return s.String()
}

// checks renders the hardening checks' tables under headings of the given level, those of area
// only when not "".
func (r Report) checks(level, area string) string {
	var s strings.Builder
	byArea(r.Checks, func(c CheckRow) string { return c.Area }, func(a string, rows []CheckRow) {
		if area == "" || a == area {
			writeChecks(&s, level, a, rows)
		}
	})
	return s.String()
}

// byArea calls fn with each run of consecutive items of the same area, in order.
func byArea[T any](items []T, area func(T) string, fn func(area string, items []T)) {
	for i := 0; i < len(items); {
		j := i
		for j < len(items) && area(items[j]) == area(items[i]) {
			j++
		}
		fn(area(items[i]), items[i:j])
		i = j
	}
}

// Fill replaces, in a document such as the README, the text between each pair of markers
// "<!-- bench:NAME -->" and "<!-- /bench:NAME -->" with the report's part NAME, its headings at
// level "####": "summary" (the run and the machine), "figures" (every table of figures),
// "reliability" and "security" (the checks of that area). Markers the report does not know and
// parts without markers are left alone; a marker without its end is an error.
func (r Report) Fill(doc string) (string, error) {
	parts := map[string]string{
		"summary":     r.summary(),
		"figures":     r.tables("####", nil),
		"reliability": r.checks("####", "Reliability"),
		"security":    r.checks("####", "Security"),
	}
	for name, text := range parts {
		begin, end := "<!-- bench:"+name+" -->", "<!-- /bench:"+name+" -->"
		i := strings.Index(doc, begin)
		if i < 0 {
			continue
		}
		j := strings.Index(doc[i:], end)
		if j < 0 {
			return "", fmt.Errorf("%s has no matching %s", begin, end)
		}
		doc = doc[:i+len(begin)] + "\n" + strings.TrimLeft(text, "\n") + "\n" + doc[i+j:]
	}
	return doc, nil
}

// summary is the run's command, time, duration and machine, as the report's head gives them.
func (r Report) summary() string {
	m := r.Machine
	return fmt.Sprintf("Measured by `%s` on %s (%s): %s, %d cores, %.1f GiB of memory; %s, kernel %s; %s; PostgreSQL %s; "+
		"load average %s at the start, %s at the end.\n", r.Command, r.Started.UTC().Format("2006-01-02 15:04 MST"),
		r.Finished.Sub(r.Started).Round(time.Second), m.CPU, m.Cores, m.MemoryGiB, m.OS, m.Kernel, m.Go, m.PostgreSQL, r.LoadStart, r.LoadEnd)
}

// CheckRow is a hardening case summarized over the runs of a `make bench`: the first run's
// observations (every run checks the same ones) and the median time to resume.
type CheckRow struct {
	Check
	// Runs is how many times the case ran, all of them passing (a failing test records nothing).
	Runs int `json:"runs"`
}

// SummarizeChecks groups checks by area and case, keeping the order they were first recorded
// in, Reliability before Security, and takes the median of the times to resume.
func SummarizeChecks(cs []Check) []CheckRow {
	var (
		rows    []CheckRow
		resumed [][]float64
		index   = map[[2]string]int{}
	)
	for _, c := range cs {
		k := [2]string{c.Area, c.Case}
		i, ok := index[k]
		if !ok {
			i = len(rows)
			index[k] = i
			rows = append(rows, CheckRow{Check: c})
			resumed = append(resumed, nil)
		}
		rows[i].Runs++
		resumed[i] = append(resumed[i], c.Resumed)
	}
	for i := range rows {
		rows[i].Resumed = median(resumed[i])
	}
	rank := func(area string) int {
		switch area {
		case "Reliability":
			return 0
		case "Security":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(rows, func(a, b CheckRow) int { return rank(a.Area) - rank(b.Area) })
	return rows
}

func writeChecks(s *strings.Builder, level, area string, rows []CheckRow) {
	fmt.Fprintf(s, "\n%s %s\n\n", level, area)
	s.WriteString("| case | what the user sees | verified afterwards | resumed after | runs | test |\n|---|---|---|---|---|---|\n")
	cell := func(v string) string { return strings.ReplaceAll(strings.ReplaceAll(v, "|", "\\|"), "\n", " ") }
	for _, r := range rows {
		resumed := "—"
		if r.Resumed > 0 {
			resumed = formatValue(r.Resumed, "s")
		}
		fmt.Fprintf(s, "| %s | %s | %s | %s | %d | %s |\n", cell(r.Case), cell(r.Sees), cell(r.Outcome), resumed, r.Runs, cell(r.Test))
	}
}

func writeTable(s *strings.Builder, level, area string, rows []Row) {
	fmt.Fprintf(s, "\n%s %s\n\n", level, area)
	s.WriteString("| case | scale | metric | ours | peer | ratio |\n|---|---|---|---|---|---|\n")
	alone := false
	for _, r := range rows {
		peer, ratio := "—", "—"
		if r.PeerName != "" {
			peer = formatValue(r.Peer, r.Unit) + " (" + r.PeerName + ")"
			if r.Ratio != nil {
				ratio = strconv.FormatFloat(*r.Ratio, 'f', 2, 64) + "×"
			}
		} else {
			alone = true
		}
		metric := r.Metric
		if r.Nominal != 0 {
			metric += fmt.Sprintf(" (nominal %g)", r.Nominal)
		}
		fmt.Fprintf(s, "| %s | %s | %s | %s (%s) | %s | %s |\n", r.Case, r.Scale, metric, formatValue(r.Ours, r.Unit), r.OursName, peer, ratio)
	}
	if alone {
		s.WriteString("\nRows with no peer (—) are ours alone: nothing a user would otherwise run measures the same thing.\n")
	}
}

// formatValue writes v with its unit at a precision that keeps the differences that matter:
// whole numbers (counts) and anything from 1,000 up with thousands separators, one decimal from
// 10, four significant digits below (an AUC of 0.8147).
func formatValue(v float64, unit string) string {
	var n string
	switch a := math.Abs(v); {
	case a >= 1000 || (v == math.Trunc(v) && a < 1e15):
		n = thousands(int64(math.Round(v)))
	case a >= 10:
		n = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		n = strconv.FormatFloat(v, 'g', 4, 64)
	}
	if unit == "" {
		return n
	}
	if unit == "%" {
		return n + "%"
	}
	return n + " " + unit
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}
