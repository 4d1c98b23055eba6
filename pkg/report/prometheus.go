package report

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/bdc-analytics/bdc/pkg/kpi"
)

// maxPromPoints is Prometheus' limit of points per series in a range query.
const maxPromPoints = 11000

// promSource reads KPI history from Prometheus' HTTP API with range queries: the values the
// exporter served, as Prometheus recorded them.
type promSource struct {
	api  promv1.API
	addr string
}

// newPromSource connects to the Prometheus at addr (http or https URL).
func newPromSource(addr string) (*promSource, error) {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus_url %q is not an http(s) URL", addr)
	}
	c, err := api.NewClient(api.Config{Address: addr})
	if err != nil {
		return nil, fmt.Errorf("prometheus_url %q: %w", addr, err)
	}
	return &promSource{api: promv1.NewAPI(c), addr: u.Redacted()}, nil
}

func (s *promSource) name() string { return "prometheus" }

// promQuery is the PromQL of a KPI: the metric, or for a histogram its mean.
func promQuery(def kpi.Definition) string {
	if def.Kind == kpi.Histogram {
		return def.Name + "_sum / " + def.Name + "_count"
	}
	return def.Name
}

// at runs one range query whose step divides the gaps between the instants (an hour between
// local midnights across a daylight saving change), and keeps the values at the instants. A
// label set served by several targets keeps the first target's value, by instance.
func (s *promSource) at(ctx context.Context, def kpi.Definition, instants []time.Time) ([][]point, error) {
	out := make([][]point, len(instants))
	if len(instants) == 0 {
		return out, nil
	}
	step := time.Second
	if len(instants) > 1 {
		g := int64(0)
		for i := 1; i < len(instants); i++ {
			g = gcd(g, int64(instants[i].Sub(instants[i-1])/time.Second))
		}
		step = time.Duration(max(g, 1)) * time.Second
	}
	first, last := instants[0], instants[len(instants)-1]
	if n := int64(last.Sub(first)/step) + 1; n > maxPromPoints {
		return nil, fmt.Errorf("reading %s from Prometheus would take %d points per series, at most %d: choose a larger step", def.Name, n, maxPromPoints)
	}
	q := promQuery(def)
	val, _, _, err := s.api.QueryRange(ctx, q, promv1.Range{Start: first, End: last, Step: step})
	if err != nil {
		return nil, fmt.Errorf("couldn't read %s from Prometheus at %s: %w", def.Name, s.addr, err)
	}
	matrix, ok := val.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("prometheus at %s answered %s with a %s, want a matrix", s.addr, q, val.Type())
	}
	slices.SortFunc(matrix, func(a, b *model.SampleStream) int {
		return strings.Compare(string(a.Metric["instance"]), string(b.Metric["instance"]))
	})
	index := make(map[int64]int, len(instants))
	for i, t := range instants {
		index[int64(model.TimeFromUnixNano(t.UnixNano()))] = i
	}
	seen := map[string]bool{}
	for _, ss := range matrix {
		labels := make([]string, len(def.Labels))
		for j, l := range def.Labels {
			labels[j] = string(ss.Metric[model.LabelName(l)])
		}
		key := strings.Join(labels, "\x00")
		if seen[key] {
			continue
		}
		seen[key] = true
		for _, v := range ss.Values {
			if i, ok := index[int64(v.Timestamp)]; ok {
				out[i] = append(out[i], point{labels: labels, value: float64(v.Value)})
			}
		}
	}
	return out, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// errFiltersNeedPostgres refuses filters with Prometheus: its KPIs count the whole platform.
var errFiltersNeedPostgres = errors.New("filters need KPIs computed from PostgreSQL: Prometheus holds the KPIs of the whole platform (leave prometheus_url out, or the filters)")
