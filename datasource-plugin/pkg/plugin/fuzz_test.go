package plugin

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// FuzzQueryJSON sends arbitrary query JSON of every query type through the real handlers on the
// test database (no cache): whatever the bytes, the plugin answers with frames, a bad-query
// error of the plugin's source, or a downstream error that is not PostgreSQL refusing SQL the
// plugin built (syntax, undefined column or function: a sign that input reached the SQL text);
// and the canonical tables are intact afterwards. `make test` runs the seed corpus (every
// golden query plus injection strings in every string field); `make bench` fuzzes for a while.
func FuzzQueryJSON(f *testing.F) {
	kinds := []string{}
	for k := range (&Datasource{}).handlers() {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, q := range goldenQueries {
		f.Add(uint8(slices.Index(kinds, q.QueryType)), string(q.JSON))
	}
	// Injection strings in one field at a time, so each reaches as far as it can.
	fields := []string{`"kpi": %s`, `"breakdown": %s`, `"model": %s`, `"series": %s`, `"series": [%s]`, `"period": %s`,
		`"filters": {"region": [%s]}`, `"filters": {"acquisitionChannel": [%s], "gender": [%s]}`, `"startPoint": %s`,
		`"excludeEvents": [%s]`, `"features": [%s]`, `"method": %s`}
	for _, inj := range []string{`"'; DROP TABLE bdc.users; --"`, `"1) OR (1=1"`, `"activity:login'--"`} {
		for i := range kinds {
			for _, field := range fields {
				f.Add(uint8(i), "{"+strings.ReplaceAll(field, "%s", inj)+"}")
			}
		}
	}
	f.Add(uint8(0), `{"limit": 1e308, "totalIntervals": -1, "stepLimit": 100000, "horizon": 99999999}`)
	f.Add(uint8(3), `[]`)
	f.Add(uint8(5), `{"filters": {"trainerId": ["x"]}}`)
	ds, d := newTestDatasource(f, map[string]any{"cacheTTL": 0})
	var users int
	if err := d.DB.Pool.QueryRow(context.Background(), "select count(*) from bdc.users").Scan(&users); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		var after int
		if err := d.DB.Pool.QueryRow(context.Background(), "select count(*) from bdc.users").Scan(&after); err != nil || after != users {
			f.Errorf("bdc.users had %d rows, now %d (%v)", users, after, err)
		}
	})
	f.Fuzz(func(t *testing.T, kind uint8, js string) {
		qt := kinds[int(kind)%len(kinds)]
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q := dataQuery("A", qt, js)
		env, err := decodeEnvelope(q)
		if err == nil {
			_, err = ds.handlers()[qt](ctx, q, env)
		}
		if os.Getenv("BDC_FUZZ_VERBOSE") != "" {
			t.Logf("%s %.60s: %v", qt, js, err)
		}
		if err == nil {
			return
		}
		resp := errorResponse(err)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "42") {
			t.Fatalf("%s %s: PostgreSQL refused the plugin's SQL: %v", qt, js, err)
		}
		if resp.ErrorSource != backend.ErrorSourcePlugin && ctx.Err() == nil && !errors.As(err, new(*errNotReady)) &&
			!errors.Is(err, store.ErrQueryTimeout) {
			t.Fatalf("%s %s: a downstream error for a query the plugin should have refused or answered: %v", qt, js, err)
		}
	})
}
