package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bdc-analytics/bdc/pkg/kpi"
)

// AutoWindow is the value of a selector's window label that picks, among the KPI's windows,
// the longest one that fits in the report's period (the shortest when none fits): 7d in a weekly
// report, 30d in a monthly one.
const AutoWindow = "auto"

// Selector picks the samples of one KPI: its name and label values, written as in PromQL,
// bdc_appointment_noshow_ratio{window="7d"}. Labels not given select every value.
type Selector struct {
	Def    kpi.Definition
	Labels map[string]string
}

// String writes the selector back in PromQL syntax, labels in the KPI's order.
func (s Selector) String() string {
	var parts []string
	for _, l := range s.Def.Labels {
		if v, ok := s.Labels[l]; ok {
			parts = append(parts, l+"="+strconv.Quote(v))
		}
	}
	if len(parts) == 0 {
		return s.Def.Name
	}
	return s.Def.Name + "{" + strings.Join(parts, ",") + "}"
}

// ParseSelector reads name{label="value", ...} for a KPI of the catalogue.
func ParseSelector(s string) (Selector, error) {
	s = strings.TrimSpace(s)
	name, rest, braces := strings.Cut(s, "{")
	name = strings.TrimSpace(name)
	def, ok := kpi.ByName(name)
	if !ok {
		return Selector{}, fmt.Errorf("unknown KPI %q (want one of %s)", name, strings.Join(kpiNames(), ", "))
	}
	sel := Selector{Def: def, Labels: map[string]string{}}
	if !braces {
		return sel, nil
	}
	body, ok := strings.CutSuffix(strings.TrimSpace(rest), "}")
	if !ok {
		return Selector{}, fmt.Errorf("%q: missing closing brace", s)
	}
	for body = strings.TrimSpace(body); body != ""; {
		label, after, ok := strings.Cut(body, "=")
		label = strings.TrimSpace(label)
		if !ok || label == "" {
			return Selector{}, fmt.Errorf("%q: want label=\"value\" pairs", s)
		}
		if !slices.Contains(def.Labels, label) {
			return Selector{}, fmt.Errorf("%q: %s has no label %q (its labels: %s)", s, name, label, orNone(def.Labels))
		}
		if _, dup := sel.Labels[label]; dup {
			return Selector{}, fmt.Errorf("%q: label %s given twice", s, label)
		}
		after = strings.TrimSpace(after)
		quoted, err := strconv.QuotedPrefix(after)
		if err != nil {
			return Selector{}, fmt.Errorf("%q: the value of %s must be a quoted string", s, label)
		}
		v, _ := strconv.Unquote(quoted)
		if v == AutoWindow && label != "window" {
			return Selector{}, fmt.Errorf("%q: %q only applies to the window label", s, AutoWindow)
		}
		sel.Labels[label] = v
		body = strings.TrimSpace(after[len(quoted):])
		if body != "" {
			if body, ok = strings.CutPrefix(body, ","); !ok {
				return Selector{}, fmt.Errorf("%q: want a comma between label pairs", s)
			}
			body = strings.TrimSpace(body)
		}
	}
	return sel, nil
}

func kpiNames() []string {
	var out []string
	for _, d := range kpi.All() {
		out = append(out, d.Name)
	}
	return out
}

func orNone(labels []string) string {
	if len(labels) == 0 {
		return "none"
	}
	return strings.Join(labels, ", ")
}

// matches reports whether a sample's label values match the selector; window is the value
// AutoWindow resolved to.
func (s Selector) matches(values []string, window string) bool {
	for i, l := range s.Def.Labels {
		want, ok := s.Labels[l]
		if !ok {
			continue
		}
		if want == AutoWindow {
			want = window
		}
		if values[i] != want {
			return false
		}
	}
	return true
}

// autoWindow picks the window of samples for a period of length days: the longest window of at
// most that many days, else the shortest.
func autoWindow(def kpi.Definition, samples []kpi.Sample, days float64) string {
	wi := slices.Index(def.Labels, "window")
	if wi < 0 {
		return ""
	}
	type w struct {
		name string
		days float64
	}
	var ws []w
	for _, s := range samples {
		name := s.Labels[wi]
		d, ok := windowDays(name)
		if ok && !slices.ContainsFunc(ws, func(x w) bool { return x.name == name }) {
			ws = append(ws, w{name, d})
		}
	}
	slices.SortFunc(ws, func(a, b w) int { return int(a.days - b.days) })
	if len(ws) == 0 {
		return ""
	}
	best := ws[0].name
	for _, x := range ws {
		if x.days <= days+0.5 {
			best = x.name
		}
	}
	return best
}

// windowDays reads a window label such as "7d" or "24h" as days.
func windowDays(s string) (float64, bool) {
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil {
		return 0, false
	}
	switch s[len(s)-1] {
	case 'd':
		return float64(n), true
	case 'h':
		return float64(n) / 24, true
	case 'w':
		return float64(7 * n), true
	}
	return 0, false
}
