package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// This file turns the user-behaviour analytics of pkg/analytics into frames.

func (ds *Datasource) queryRetention(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q analytics.RetentionQuery
	if err := env.decode(&q); err != nil {
		return nil, err
	}
	q.From, q.To = env.from, env.to
	res, err := ds.analytics.Retention(ctx, q)
	if err != nil {
		return nil, err
	}
	return data.Frames{retentionFrame(res)}, nil
}

// retentionFrame is the cohort matrix: a row per cohort (and breakdown value), its size, then
// the ratio at each interval (null where the interval has not ended yet).
func retentionFrame(res *analytics.RetentionResult) *data.Frame {
	intervals := res.Query.TotalIntervals
	cohort := data.NewField("cohort", nil, []time.Time{})
	breakdown := data.NewField("breakdown", nil, []string{})
	size := data.NewField("size", nil, []int64{})
	ratios := make([]*data.Field, intervals)
	counts := make([]*data.Field, intervals)
	for i := range intervals {
		name := fmt.Sprintf("%s %d", res.Query.Period, i)
		ratios[i] = data.NewField(name, nil, []*float64{})
		ratios[i].Config = &data.FieldConfig{Unit: "percentunit", Min: ptr(data.ConfFloat64(0)), Max: ptr(data.ConfFloat64(1))}
		counts[i] = data.NewField(name+" users", nil, []*int64{})
	}
	for _, c := range res.Cohorts {
		cohort.Append(c.Start)
		breakdown.Append(c.Breakdown)
		size.Append(c.Size)
		for i := range intervals {
			if i < len(c.Intervals) {
				ratios[i].Append(ptr(c.Intervals[i].Ratio))
				counts[i].Append(ptr(c.Intervals[i].Count))
			} else {
				ratios[i].Append((*float64)(nil))
				counts[i].Append((*int64)(nil))
			}
		}
	}
	frame := data.NewFrame("retention", cohort)
	if res.Query.Breakdown != analytics.BreakdownNone {
		breakdown.Name = string(res.Query.Breakdown)
		frame.Fields = append(frame.Fields, breakdown)
	}
	frame.Fields = append(frame.Fields, size)
	frame.Fields = append(frame.Fields, ratios...)
	frame.Fields = append(frame.Fields, counts...)
	frame.Meta = tableMeta(res.Executed)
	return frame
}

func (ds *Datasource) queryFunnel(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q analytics.FunnelQuery
	if err := env.decode(&q); err != nil {
		return nil, err
	}
	q.From, q.To = env.from, env.to
	res, err := ds.analytics.Funnel(ctx, q)
	if err != nil {
		return nil, err
	}
	return data.Frames{funnelFrame(res)}, nil
}

// funnelFrame is a row per step (and breakdown value): count, conversion from the first and the
// previous step, median and mean time from the previous step.
func funnelFrame(res *analytics.FunnelResult) *data.Frame {
	step := data.NewField("step", nil, []int64{})
	name := data.NewField("name", nil, []string{})
	breakdown := data.NewField(string(res.Query.Breakdown), nil, []string{})
	count := data.NewField("count", nil, []int64{})
	fromFirst := data.NewField("conversion from first", nil, []float64{})
	fromPrev := data.NewField("conversion from previous", nil, []float64{})
	median := data.NewField("median time to convert", nil, []*float64{})
	mean := data.NewField("average time to convert", nil, []*float64{})
	for _, f := range []*data.Field{fromFirst, fromPrev} {
		f.Config = &data.FieldConfig{Unit: "percentunit"}
	}
	for _, f := range []*data.Field{median, mean} {
		f.Config = &data.FieldConfig{Unit: "s"}
	}
	for _, s := range res.Series {
		for _, st := range s.Steps {
			step.Append(int64(st.Order + 1))
			name.Append(st.Name)
			breakdown.Append(s.Breakdown)
			count.Append(st.Count)
			fromFirst.Append(st.ConversionFromFirst)
			fromPrev.Append(st.ConversionFromPrevious)
			median.Append(st.MedianConversionTime)
			mean.Append(st.AverageConversionTime)
		}
	}
	frame := data.NewFrame("funnel", step, name)
	if res.Query.Breakdown != analytics.BreakdownNone {
		frame.Fields = append(frame.Fields, breakdown)
	}
	frame.Fields = append(frame.Fields, count, fromFirst, fromPrev, median, mean)
	frame.Meta = tableMeta(res.Executed)
	return frame
}

// tableMeta shows the executed statement and its bound parameters in Grafana's query inspector.
func tableMeta(ex analytics.Executed) *data.FrameMeta {
	return &data.FrameMeta{PreferredVisualization: data.VisTypeTable, ExecutedQueryString: ex.String()}
}

func ptr[T any](v T) *T { return &v }
