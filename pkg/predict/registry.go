package predict

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/ml"
)

// Version is a model version of the registry.
type Version struct {
	ID        int64           `json:"id"`
	Model     string          `json:"model"`
	Version   int             `json:"version"`
	Algorithm string          `json:"algorithm"`
	Task      ml.Task         `json:"task"`
	Params    json.RawMessage `json:"params"`
	// Window is the training window: the split the version was trained and tested on.
	Window Window    `json:"window"`
	Rows   RowCounts `json:"rows"`
	Schema Schema    `json:"feature_schema"`
	// Metrics are the version's figures on its test rows; Validation on its validation rows.
	Metrics    Metrics `json:"metrics"`
	Validation Metrics `json:"validation"`
	// Comparison holds the figures of the version promoted when this one was registered, on
	// this one's test rows; nil for a model's first version.
	Comparison *Comparison `json:"comparison,omitempty"`
	TrainedAt  time.Time   `json:"trained_at"`
	Promoted   bool        `json:"promoted"`
	PromotedAt time.Time   `json:"promoted_at,omitzero"`
	// Baseline and Fitted are loaded by LatestPromoted and LoadVersion only.
	Baseline Baseline `json:"-"`
	Fitted   ml.Model `json:"-"`
}

// Comparison is a candidate version and the promoted one measured on the same test rows.
type Comparison struct {
	Metric         string  `json:"metric"`
	Candidate      float64 `json:"candidate"`
	Current        float64 `json:"current"`
	CurrentVersion int     `json:"current_version"`
	Rows           int     `json:"rows"`
}

// Registration is the outcome of Register.
type Registration struct {
	// Version is the stored version.
	Version *Version
	// Promoted reports whether it is now the promoted version, and Reason why or why not.
	Promoted bool
	Reason   string
}

// Register stores a trained model as the model's next version, and promotes it when it is the
// model's first, when it is at least as good as the promoted version on its own test rows (the
// promoted version is scored on them, on the model's primary metric), or when the promoted
// version cannot read the rows any more (its features are gone). Concurrent registrations of
// a model are serialised.
func (s *Store) Register(ctx context.Context, res *Result, trainedAt time.Time) (*Registration, error) {
	def, err := Lookup(res.Model)
	if err != nil {
		return nil, err
	}
	data, err := ml.Marshal(res.Fitted)
	if err != nil {
		return nil, fmt.Errorf("couldn't encode %s model: %w", res.Model, err)
	}
	v := &Version{
		Model: res.Model, Algorithm: res.Algorithm, Task: def.Task, Params: res.Params, Window: res.Window,
		Rows: res.Rows, Schema: res.Schema, Metrics: res.Metrics, Validation: res.Validation,
		TrainedAt: trainedAt, Baseline: res.Baseline, Fitted: res.Fitted,
	}
	reg := &Registration{Version: v}
	err = s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock(hashtext('bdc_analytics.model_versions'), hashtext($1))", res.Model); err != nil {
			return err
		}
		current, err := loadVersion(ctx, tx, res.Model, 0)
		switch {
		case errors.Is(err, ErrNoModel):
			reg.Promoted, reg.Reason = true, "first version of the model"
		case err != nil:
			return err
		default:
			reg.Promoted, reg.Reason, v.Comparison, err = decidePromotion(def, current, res)
			if err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, "select coalesce(max(version), 0) + 1 from bdc_analytics.model_versions where model = $1",
			res.Model).Scan(&v.Version); err != nil {
			return err
		}
		if reg.Promoted {
			v.Promoted, v.PromotedAt = true, trainedAt
			if _, err := tx.Exec(ctx, "update bdc_analytics.model_versions set promoted = false where model = $1 and promoted",
				res.Model); err != nil {
				return err
			}
		}
		return insertVersion(ctx, tx, v, data)
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't register %s: %w", res.Model, err)
	}
	return reg, nil
}

// decidePromotion compares the candidate with the promoted version on the candidate's test rows.
func decidePromotion(def *Definition, current *Version, res *Result) (bool, string, *Comparison, error) {
	d, err := current.Schema.Encode(res.Test)
	if errors.Is(err, ErrSchemaMismatch) {
		return true, fmt.Sprintf("the promoted version %d cannot read the rows: %v", current.Version, err), nil, nil
	}
	if err != nil {
		return false, "", nil, err
	}
	m, err := measure(current.Fitted, d)
	if err != nil {
		return false, "", nil, fmt.Errorf("couldn't measure version %d on the new test rows: %w", current.Version, err)
	}
	c := &Comparison{
		Metric: def.Primary, Candidate: res.Metrics[def.Primary], Current: m[def.Primary],
		CurrentVersion: current.Version, Rows: d.Rows(),
	}
	if atLeastAsGood(c.Metric, c.Candidate, c.Current) {
		return true, fmt.Sprintf("%s %.4f is at least version %d's %.4f on the same %d test rows",
			c.Metric, c.Candidate, c.CurrentVersion, c.Current, c.Rows), c, nil
	}
	return false, fmt.Sprintf("%s %.4f is worse than version %d's %.4f on the same %d test rows",
		c.Metric, c.Candidate, c.CurrentVersion, c.Current, c.Rows), c, nil
}

func insertVersion(ctx context.Context, tx pgx.Tx, v *Version, data []byte) error {
	var promotedAt *time.Time
	if v.Promoted {
		promotedAt = &v.PromotedAt
	}
	return tx.QueryRow(ctx, `insert into bdc_analytics.model_versions
		(model, version, algorithm, task, params, train_from, train_end, valid_end, test_end, row_counts,
		 feature_schema, metrics, validation, baseline, comparison, model_data, trained_at, promoted, promoted_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		returning id`,
		v.Model, v.Version, v.Algorithm, v.Task.String(), v.Params, v.Window.From, v.Window.TrainEnd,
		v.Window.ValidEnd, v.Window.To, v.Rows, v.Schema, v.Metrics, v.Validation, v.Baseline, v.Comparison,
		data, v.TrainedAt, v.Promoted, promotedAt,
	).Scan(&v.ID)
}

const versionColumns = `id, model, version, algorithm, task, params, train_from, train_end, valid_end, test_end,
	row_counts, feature_schema, metrics, validation, comparison, trained_at, promoted, promoted_at`

// scanVersion reads the versionColumns of a row, then extra columns into extra.
func scanVersion(row pgx.Row, extra ...any) (*Version, error) {
	v := &Version{}
	var task string
	var promotedAt *time.Time
	dest := append([]any{&v.ID, &v.Model, &v.Version, &v.Algorithm, &task, &v.Params, &v.Window.From,
		&v.Window.TrainEnd, &v.Window.ValidEnd, &v.Window.To, &v.Rows, &v.Schema, &v.Metrics, &v.Validation,
		&v.Comparison, &v.TrainedAt, &v.Promoted, &promotedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := v.Task.UnmarshalText([]byte(task)); err != nil {
		return nil, err
	}
	if promotedAt != nil {
		v.PromotedAt = *promotedAt
	}
	return v, nil
}

// loadVersion loads a version with its model and baseline: version n of model, or the promoted
// one when n is 0.
func loadVersion(ctx context.Context, q querier, model string, n int) (*Version, error) {
	rows, err := q.Query(ctx, `select `+versionColumns+`, baseline, model_data
		from bdc_analytics.model_versions
		where model = $1 and (($2 = 0 and promoted) or version = $2)`, model, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("%w of %s", ErrNoModel, model)
		}
		return nil, fmt.Errorf("%w: %s has no version %d", ErrNoModel, model, n)
	}
	var data []byte
	var baseline Baseline
	v, err := scanVersion(rows, &baseline, &data)
	if err != nil {
		return nil, err
	}
	v.Baseline = baseline
	if v.Fitted, err = ml.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("couldn't decode %s version %d: %w", model, v.Version, err)
	}
	return v, rows.Err()
}

// LatestPromoted loads the promoted version of model, with its fitted model and baseline, for
// scoring. It returns an error wrapping ErrNoModel when the model has none.
func (s *Store) LatestPromoted(ctx context.Context, model string) (*Version, error) {
	return s.LoadVersion(ctx, model, 0)
}

// LoadVersion loads version n of model (the promoted one when n is 0) with its fitted model and
// baseline.
func (s *Store) LoadVersion(ctx context.Context, model string, n int) (*Version, error) {
	var v *Version
	err := s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		v, err = loadVersion(ctx, tx, model, n)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't load %s from the registry: %w", model, err)
	}
	return v, nil
}

// PromotedVersions returns every model's promoted version, without the fitted model and
// baseline, by model name: what the exporter's model metrics show.
func (s *Store) PromotedVersions(ctx context.Context) ([]Version, error) {
	return s.versions(ctx, `where promoted order by model`)
}

// Versions returns the versions of model, newest first, at most limit of them (0: all), without
// the fitted model and baseline.
func (s *Store) Versions(ctx context.Context, model string, limit int) ([]Version, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	return s.versions(ctx, `where model = $1 order by version desc limit $2`, model, limit)
}

func (s *Store) versions(ctx context.Context, where string, args ...any) ([]Version, error) {
	var out []Version
	err := s.readOnly(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select `+versionColumns+` from bdc_analytics.model_versions `+where, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scanVersion(rows)
			if err != nil {
				return err
			}
			out = append(out, *v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read the model registry: %w", err)
	}
	return out, nil
}
