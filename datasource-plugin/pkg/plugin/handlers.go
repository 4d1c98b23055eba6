package plugin

// handlers maps every query type to its handler (DESIGN.md §4).
func (ds *Datasource) handlers() map[string]handler {
	return map[string]handler{
		"kpi":               ds.queryKPI,
		"retention":         ds.queryRetention,
		"funnel":            ds.queryFunnel,
		"paths":             ds.queryPaths,
		"lifecycle":         ds.queryLifecycle,
		"stickiness":        ds.queryStickiness,
		"engagement":        ds.queryEngagement,
		"segments":          ds.querySegments,
		"feature_usage":     ds.queryFeatureUsage,
		"activity_heatmap":  ds.queryHeatmap,
		"forecast":          ds.queryForecast,
		"predictions":       ds.queryPredictions,
		"model_performance": ds.queryModelPerformance,
	}
}
