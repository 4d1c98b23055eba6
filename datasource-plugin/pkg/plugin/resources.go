package plugin

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"
	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/kpi"
)

// option is an entry of an editor list or a template variable.
type option struct {
	Text  string `json:"text"`
	Value any    `json:"value"`
}

// lists are the resources that list distinct values of a column; ids only for trainers, never
// names or emails.
var lists = map[string]string{
	"regions":              "select distinct region from bdc.beneficiaries where region is not null order by 1",
	"channels":             "select distinct acquisition_channel from bdc.beneficiaries where acquisition_channel is not null order by 1",
	"appointment-channels": "select distinct channel from bdc.appointments order by 1",
	"genders":              "select distinct gender from bdc.beneficiaries where gender is not null order by 1",
	"activity-types":       "select distinct activity_type from bdc.user_activities order by 1",
	"features":             "select distinct feature from bdc.user_activities where feature is not null order by 1",
}

// resourceMux serves the editors' lists under the datasource's resources path.
func (ds *Datasource) resourceMux() http.Handler {
	mux := http.NewServeMux()
	for name, sql := range lists {
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) {
			ds.serveList(w, r, sql, func(v string) option { return option{Text: v, Value: v} })
		})
	}
	mux.HandleFunc("/trainers", func(w http.ResponseWriter, r *http.Request) {
		ds.serveList(w, r, "select id::text from bdc.users where role = 'trainer' order by id",
			func(v string) option {
				id, _ := strconv.ParseInt(v, 10, 64)
				return option{Text: "Trainer " + v, Value: id}
			})
	})
	mux.HandleFunc("/kpis", func(w http.ResponseWriter, _ *http.Request) {
		type kpiInfo struct {
			Name       string   `json:"name"`
			Help       string   `json:"help"`
			Unit       string   `json:"unit"`
			Group      string   `json:"group"`
			Labels     []string `json:"labels"`
			Filterable bool     `json:"filterable"`
		}
		var out []kpiInfo
		for _, d := range kpi.All() {
			out = append(out, kpiInfo{d.Name, d.Help, d.Unit, string(d.Group), d.Labels, d.Filterable()})
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("/event-kinds", func(w http.ResponseWriter, _ *http.Request) {
		out := make([]option, 0, len(analytics.EventKinds))
		for _, k := range analytics.EventKinds {
			out = append(out, option{Text: string(k), Value: string(k)})
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("/models", ds.serveModels)
	mux.HandleFunc("/live-metrics", func(w http.ResponseWriter, _ *http.Request) {
		out := make([]option, 0, len(liveMetrics))
		for name := range liveMetrics {
			out = append(out, option{Text: name, Value: name})
		}
		writeJSON(w, out)
	})
	return mux
}

// CallResource serves GET resources/<name>.
func (ds *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return httpadapter.New(ds.resources).CallResource(ctx, req, sender)
}

func (ds *Datasource) serveList(w http.ResponseWriter, r *http.Request, sql string, toOption func(string) option) {
	var out []option
	err := ds.db.ReadOnly(r.Context(), 10*time.Second, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql)
		if err != nil {
			return err
		}
		values, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, v := range values {
			out = append(out, toOption(v))
		}
		return err
	})
	if err != nil {
		http.Error(w, "couldn't list values: "+err.Error(), http.StatusBadGateway)
		return
	}
	if out == nil {
		out = []option{}
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
