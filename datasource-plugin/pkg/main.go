// Command gpx_bdc_analytics is the backend of the Grafana datasource bdc-analytics-datasource;
// Grafana starts it and talks to it over gRPC (hashicorp go-plugin).
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/bdc-analytics/bdc/datasource-plugin/pkg/plugin"
)

func main() {
	if err := datasource.Manage(plugin.ID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error("plugin stopped", "error", err.Error())
		os.Exit(1)
	}
}
