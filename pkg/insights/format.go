package insights

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// percent writes a ratio as a percentage with one decimal: 0.253 → "25.3 %".
func percent(r float64) string { return strconv.FormatFloat(100*r, 'f', 1, 64) + " %" }

// signedPercent writes a relative change: 0.5 → "+50 %", -0.183 → "−18 %".
func signedPercent(r float64) string {
	if math.IsInf(r, 0) {
		return "new"
	}
	p := math.Round(100 * r)
	if p < 0 {
		return "−" + strconv.FormatFloat(-p, 'f', 0, 64) + " %"
	}
	return "+" + strconv.FormatFloat(p, 'f', 0, 64) + " %"
}

// count writes a whole number with thousands separators: 12345 → "12,345".
func count(v float64) string {
	n := int64(math.Round(v))
	s := strconv.FormatInt(max(n, -n), 10)
	var b strings.Builder
	if n < 0 {
		b.WriteString("−")
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// decimal writes a number with one decimal: 3.456 → "3.5".
func decimal(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// plural writes a count with its noun: "1 beneficiary", "2 beneficiaries".
func plural(n float64, one, many string) string {
	if math.Round(n) == 1 {
		return "1 " + one
	}
	return count(n) + " " + many
}

// score writes a mean feedback score: 4.237 → "4.24".
func score(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// hours writes a duration in seconds the way a manager reads it: minutes below an hour, hours
// below two days, days beyond.
func hours(seconds float64) string {
	switch {
	case seconds < 3600:
		return strconv.FormatFloat(seconds/60, 'f', 0, 64) + " min"
	case seconds < 48*3600:
		return strconv.FormatFloat(seconds/3600, 'f', 1, 64) + " h"
	default:
		return strconv.FormatFloat(seconds/86400, 'f', 1, 64) + " days"
	}
}

// pValue writes a p-value after "a probability": "of 0.0032", "below 0.0001".
func pValue(p float64) string {
	if p < 0.0001 {
		return "below 0.0001"
	}
	return "of " + strconv.FormatFloat(p, 'f', 4, 64)
}

// day writes a calendar day: "Sat 30 May 2026".
func day(t time.Time) string { return t.Format("Mon 2 Jan 2006") }

// days writes the local days [from, to) of a window: "the 7 days from Sun 24 to Sat 30 May
// 2026".
func days(from, to time.Time) string {
	n := dayCount(from, to)
	last := to.AddDate(0, 0, -1)
	if n == 1 {
		return day(from)
	}
	return fmt.Sprintf("the %d days from %s to %s", n, from.Format("Mon 2 Jan"), day(last))
}

// dayCount is the number of calendar days in [from, to), both local midnights.
func dayCount(from, to time.Time) int {
	n := 0
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		n++
	}
	return n
}

// localDay returns midnight, in loc, of t's calendar day there.
func localDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
