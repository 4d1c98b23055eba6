package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/bdc-analytics/bdc/pkg/analytics"
)

// This file turns the remaining user-behaviour kinds into frames: paths as Grafana node-graph
// frames, the others as time series and tables.

// decodeAnalytics reads a kind's query and sets its range from the panel.
func decodeAnalytics[Q any](env *envelope, q *Q, base *analytics.Query) error {
	if err := env.decode(q); err != nil {
		return err
	}
	base.From, base.To = env.from, env.to
	return nil
}

func (ds *Datasource) queryPaths(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q analytics.PathsQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	res, err := ds.analytics.Paths(ctx, q)
	if err != nil {
		return nil, err
	}
	return pathsFrames(res), nil
}

// pathsFrames are the node graph's nodes and edges frames (the names and fields Grafana's node
// graph panel reads) and a table of the most common complete journeys.
func pathsFrames(res *analytics.PathsResult) data.Frames {
	nodes := data.NewFrame("nodes",
		data.NewField("id", nil, []string{}), data.NewField("title", nil, []string{}),
		data.NewField("subtitle", nil, []string{}), data.NewField("mainstat", nil, []int64{}),
		data.NewField("secondarystat", nil, []int64{}))
	nodes.Fields[3].Config = &data.FieldConfig{DisplayName: "paths"}
	nodes.Fields[4].Config = &data.FieldConfig{DisplayName: "ending here"}
	for _, n := range res.Nodes {
		nodes.AppendRow(n.ID, n.Label, fmt.Sprintf("step %d", n.Step), n.Weight, n.Ends)
	}
	edges := data.NewFrame("edges",
		data.NewField("id", nil, []string{}), data.NewField("source", nil, []string{}),
		data.NewField("target", nil, []string{}), data.NewField("mainstat", nil, []int64{}),
		data.NewField("secondarystat", nil, []float64{}))
	edges.Fields[3].Config = &data.FieldConfig{DisplayName: "paths"}
	edges.Fields[4].Config = &data.FieldConfig{DisplayName: "average time", Unit: "s"}
	for _, e := range res.Edges {
		edges.AppendRow(e.ID, e.Source, e.Target, e.Weight, e.AverageTime)
	}
	nodes.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeNodeGraph, ExecutedQueryString: res.Executed.String()}
	edges.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeNodeGraph}

	journeys := data.NewFrame("journeys",
		data.NewField("journey", nil, []string{}), data.NewField("paths", nil, []int64{}),
		data.NewField("share", nil, []float64{}), data.NewField("average duration", nil, []float64{}))
	journeys.Fields[2].Config = &data.FieldConfig{Unit: "percentunit"}
	journeys.Fields[3].Config = &data.FieldConfig{Unit: "s"}
	for _, j := range res.Journeys {
		journeys.AppendRow(strings.Join(j.Steps, " → "), j.Paths, j.Share, j.AverageDuration)
	}
	journeys.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable}
	return data.Frames{nodes, edges, journeys}
}

func (ds *Datasource) queryLifecycle(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q analytics.LifecycleQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	res, err := ds.analytics.Lifecycle(ctx, q)
	if err != nil {
		return nil, err
	}
	f := data.NewFrame("lifecycle",
		data.NewField("time", nil, []time.Time{}), data.NewField("new", nil, []int64{}),
		data.NewField("returning", nil, []int64{}), data.NewField("resurrecting", nil, []int64{}),
		data.NewField("dormant", nil, []int64{}), data.NewField("active", nil, []int64{}),
		data.NewField("quick ratio", nil, []*float64{}))
	for _, p := range res.Periods {
		f.AppendRow(p.Start, p.New, p.Returning, p.Resurrecting, p.Dormant, p.Active, p.QuickRatio)
	}
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, PreferredVisualization: data.VisTypeGraph, ExecutedQueryString: res.Executed.String()}
	return data.Frames{f}, nil
}

func (ds *Datasource) queryStickiness(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q analytics.StickinessQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	res, err := ds.analytics.Stickiness(ctx, q)
	if err != nil {
		return nil, err
	}
	days := data.NewFrame("active users",
		data.NewField("time", nil, []time.Time{}), data.NewField("DAU", nil, []int64{}),
		data.NewField("WAU", nil, []int64{}), data.NewField("MAU", nil, []int64{}),
		data.NewField("DAU/MAU", nil, []float64{}))
	days.Fields[4].Config = &data.FieldConfig{Unit: "percentunit"}
	for _, d := range res.Days {
		days.AppendRow(d.Day, d.DAU, d.WAU, d.MAU, d.DAUOverMAU)
	}
	days.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, PreferredVisualization: data.VisTypeGraph, ExecutedQueryString: res.Executed.String()}
	// Days active per period: a row per period, a column per number of days.
	longest := 0
	for _, p := range res.Periods {
		longest = max(longest, len(p.Users))
	}
	periods := data.NewFrame("days active per period",
		data.NewField("period", nil, []time.Time{}), data.NewField("active", nil, []int64{}),
		data.NewField("mean days", nil, []float64{}))
	for n := 1; n <= longest; n++ {
		periods.Fields = append(periods.Fields, data.NewField(fmt.Sprintf("%d days", n), nil, []*int64{}))
	}
	for _, p := range res.Periods {
		row := []any{p.Start, p.Active, p.MeanDays}
		for n := range longest {
			var v *int64
			if n < len(p.Users) {
				v = ptr(p.Users[n])
			}
			row = append(row, v)
		}
		periods.AppendRow(row...)
	}
	periods.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable}
	return data.Frames{days, periods}, nil
}

func (ds *Datasource) queryEngagement(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q analytics.EngagementQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	q.IncludeScores = false // the distribution and the top/bottom lists are what panels show
	res, err := ds.analytics.Engagement(ctx, q)
	if err != nil {
		return nil, err
	}
	dist := data.NewFrame("engagement distribution",
		data.NewField("breakdown", nil, []string{}), data.NewField("bucket", nil, []string{}),
		data.NewField("users", nil, []int64{}))
	for _, s := range res.Series {
		for _, b := range s.Buckets {
			dist.AppendRow(s.Breakdown, fmt.Sprintf("%g-%g", b.From, b.To), b.Users)
		}
	}
	dist.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable, ExecutedQueryString: res.Executed.String()}
	frames := data.Frames{dist}
	for _, l := range []struct {
		name string
		list []analytics.EngagementScore
	}{{"most engaged", res.Top}, {"least engaged", res.Bottom}} {
		name, list := l.name, l.list
		f := data.NewFrame(name,
			data.NewField("user id", nil, []int64{}), data.NewField("score", nil, []float64{}),
			data.NewField("recency", nil, []float64{}), data.NewField("frequency", nil, []float64{}),
			data.NewField("depth", nil, []float64{}), data.NewField("active days", nil, []int64{}))
		for _, s := range list {
			f.AppendRow(s.UserID, s.Score, s.Recency, s.Frequency, s.Depth, int64(s.ActiveDays))
		}
		frames = append(frames, f)
	}
	return frames, nil
}

func (ds *Datasource) querySegments(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q analytics.SegmentsQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	q.IncludeMembers = false // segments and their profiles; member lists go to exports
	res, err := ds.analytics.Segments(ctx, q)
	if err != nil {
		return nil, err
	}
	f := data.NewFrame("segments",
		data.NewField("segment", nil, []string{}), data.NewField("users", nil, []int64{}),
		data.NewField("share", nil, []float64{}))
	f.Fields[2].Config = &data.FieldConfig{Unit: "percentunit"}
	for _, name := range res.Features {
		f.Fields = append(f.Fields, data.NewField(name, nil, []float64{}))
	}
	for _, s := range res.Segments {
		row := []any{s.Name, s.Users, s.Share}
		for i := range res.Features {
			v := 0.0
			if i < len(s.Profile) {
				v = s.Profile[i]
			}
			row = append(row, v)
		}
		f.AppendRow(row...)
	}
	f.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable, ExecutedQueryString: res.Executed.String()}
	return data.Frames{f}, nil
}

func (ds *Datasource) queryFeatureUsage(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q analytics.FeatureUsageQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	res, err := ds.analytics.FeatureUsage(ctx, q)
	if err != nil {
		return nil, err
	}
	f := data.NewFrame("feature usage",
		data.NewField("feature", nil, []string{}), data.NewField("adopters", nil, []int64{}),
		data.NewField("adoption", nil, []float64{}), data.NewField("uses", nil, []int64{}),
		data.NewField("uses per adopter", nil, []float64{}),
		data.NewField("adopters returning", nil, []float64{}), data.NewField("non-adopters returning", nil, []float64{}))
	for _, i := range []int{2, 5, 6} {
		f.Fields[i].Config = &data.FieldConfig{Unit: "percentunit"}
	}
	for _, u := range res.Features {
		f.AppendRow(u.Feature, u.Adopters, u.Adoption, u.Uses, u.Frequency, u.AdopterRetention.Ratio, u.NonAdopterRetention.Ratio)
	}
	f.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable, ExecutedQueryString: res.Executed.String()}
	return data.Frames{f}, nil
}

var weekdays = []string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func (ds *Datasource) queryHeatmap(ctx context.Context, _ backend.DataQuery, env *envelope) (data.Frames, error) {
	var q analytics.HeatmapQuery
	if err := decodeAnalytics(env, &q, &q.Query); err != nil {
		return nil, err
	}
	res, err := ds.analytics.Heatmap(ctx, q)
	if err != nil {
		return nil, err
	}
	// One table per series: a row per hour, a column per weekday (Grafana's heatmap and table
	// panels both read it).
	var frames data.Frames
	for _, s := range res.Series {
		name := "all activity"
		if s.ActivityType != "" {
			name = s.ActivityType
		}
		f := data.NewFrame(name, data.NewField("hour", nil, []int64{}))
		for wd := 1; wd <= 7; wd++ {
			f.Fields = append(f.Fields, data.NewField(weekdays[wd], nil, []int64{}))
		}
		var grid [24][8]int64
		for _, c := range s.Cells {
			grid[c.Hour][c.Weekday] = c.Events
		}
		for h := range 24 {
			row := []any{int64(h)}
			for wd := 1; wd <= 7; wd++ {
				row = append(row, grid[h][wd])
			}
			f.AppendRow(row...)
		}
		f.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable}
		frames = append(frames, f)
	}
	if len(frames) > 0 {
		frames[0].Meta.ExecutedQueryString = res.Executed.String()
	}
	return frames, nil
}
