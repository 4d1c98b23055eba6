package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// canonicalTables are the relations of schema bdc every query reads (tables or a platform's
// views).
var canonicalTables = []string{
	"users", "beneficiaries", "appointments", "evaluations", "user_activities",
	"trainer_availability", "payments", "feedback", "support_tickets",
}

// health is what CheckHealth found, also returned as JSON details.
type health struct {
	Addr          string     `json:"addr"`
	Missing       []string   `json:"missingTables,omitempty"`
	SchemaVersion int32      `json:"schemaVersion"`
	LatestVersion int32      `json:"latestSchemaVersion"`
	RollupUntil   *time.Time `json:"rollupCoveredUntil,omitempty"`
	Activities    int64      `json:"activityRowsEstimate"`
}

// CheckHealth says, in words a Grafana admin can act on, whether the database answers, has the
// canonical schema, is migrated, and how far the activity rollup goes.
func (ds *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	h := health{Addr: ds.settings.Addr(), LatestVersion: store.LatestSchemaVersion()}
	fail := func(format string, args ...any) *backend.CheckHealthResult {
		details, _ := json.Marshal(h)
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: fmt.Sprintf(format, args...), JSONDetails: details}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ds.db.Ping(pingCtx); err != nil {
		return fail("%v (database %s, user %s). Check the host, port and TLS mode, and that the server accepts connections from Grafana.",
			err, ds.settings.Database, ds.settings.User), nil
	}
	err := ds.db.ReadOnly(ctx, 10*time.Second, func(ctx context.Context, tx pgx.Tx) error {
		for _, t := range canonicalTables {
			var ok bool
			if err := tx.QueryRow(ctx, "select has_table_privilege(to_regclass('bdc.' || $1), 'select') is true", t).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				h.Missing = append(h.Missing, "bdc."+t)
			}
		}
		var versioned bool
		if err := tx.QueryRow(ctx, "select to_regclass('bdc_analytics.schema_version') is not null").Scan(&versioned); err != nil {
			return err
		}
		if versioned {
			if err := tx.QueryRow(ctx, "select version from bdc_analytics.schema_version").Scan(&h.SchemaVersion); err != nil {
				return err
			}
		}
		var rollup bool
		if err := tx.QueryRow(ctx, "select to_regclass('bdc_analytics.rollup_watermark') is not null").Scan(&rollup); err != nil {
			return err
		}
		if rollup {
			if err := tx.QueryRow(ctx, "select max(covered_until) from bdc_analytics.rollup_watermark where rollup = $1", analytics.RollupName).Scan(&h.RollupUntil); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, "select coalesce((select reltuples::bigint from pg_class where oid = to_regclass('bdc.user_activities')), 0)").Scan(&h.Activities)
	})
	if err != nil {
		return fail("Connected to %s, but couldn't inspect the schema: %v", h.Addr, err), nil
	}
	if len(h.Missing) > 0 {
		return fail("Connected to %s, but user %s cannot read %s. Create the canonical schema (bdc-exporter migrate) or map your tables onto it with views, and grant select on them.",
			h.Addr, ds.settings.User, strings.Join(h.Missing, ", ")), nil
	}
	var notes []string
	switch {
	case h.SchemaVersion == 0:
		notes = append(notes, "schema bdc_analytics is missing: run bdc-exporter migrate (or start bdc-reporter) for rollups and models")
	case h.SchemaVersion < h.LatestVersion:
		notes = append(notes, fmt.Sprintf("schema bdc_analytics is at version %d of %d: run bdc-exporter migrate", h.SchemaVersion, h.LatestVersion))
	}
	if h.RollupUntil == nil {
		notes = append(notes, "no activity rollup yet: activity queries read raw rows (slower) until bdc-reporter refreshes it")
	} else {
		notes = append(notes, "activity rollup covers days before "+h.RollupUntil.Format("2006-01-02"))
	}
	details, _ := json.Marshal(h)
	status := backend.HealthStatusOk
	if h.SchemaVersion < h.LatestVersion {
		status = backend.HealthStatusUnknown // it works, with less
	}
	return &backend.CheckHealthResult{
		Status:      status,
		Message:     fmt.Sprintf("Connected to PostgreSQL at %s; schema bdc readable (~%d activity rows); %s.", h.Addr, h.Activities, strings.Join(notes, "; ")),
		JSONDetails: details,
	}, nil
}
