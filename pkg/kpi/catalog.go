package kpi

import "slices"

// All returns every KPI, in catalogue order: real-time, business, operational, experience.
func All() []Definition {
	return slices.Concat(realTime, business, operational, experience)
}

// ByName returns the KPI named name.
func ByName(name string) (Definition, bool) {
	for _, d := range All() {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}

// InGroup returns the KPIs of group g.
func InGroup(g Group) []Definition {
	var out []Definition
	for _, d := range All() {
		if d.Group == g {
			out = append(out, d)
		}
	}
	return out
}
