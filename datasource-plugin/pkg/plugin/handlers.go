package plugin

// handlers maps every query type to its handler (DESIGN.md §4).
func (ds *Datasource) handlers() map[string]handler {
	return map[string]handler{
		"kpi":       ds.queryKPI,
		"retention": ds.queryRetention,
		"funnel":    ds.queryFunnel,
	}
}
