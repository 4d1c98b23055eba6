package kpi_test

import (
	"os"
	"strings"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/kpi"
)

// TestREADMEListsEveryKPI keeps the README's metrics table in step with the catalogue.
func TestREADMEListsEveryKPI(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range kpi.All() {
		name := d.Name
		if len(d.Labels) > 0 {
			name += "{" + strings.Join(d.Labels, ",") + "}"
		}
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("README.md does not list %s", name)
		}
	}
}
