package report

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/predict"
)

// predictions lists the rows the promoted model scores highest: upcoming appointments for the
// no-show model, active beneficiaries for churn and engagement. Rows are ids with their risk and
// main factors; no name, no e-mail.
func (bd *build) predictions(ctx context.Context, s SectionSpec) (Section, error) {
	sc, err := bd.predict.Score(ctx, s.Model, predict.ScoreOptions{Now: bd.p.At, HorizonDays: s.HorizonDays, Factors: predict.DefaultFactors})
	if errors.Is(err, predict.ErrNoModel) {
		return Section{Title: s.Title, Notes: []string{fmt.Sprintf("No %s model is promoted yet: the retraining job (kind train) trains and promotes it.", s.Model)}}, nil
	}
	if err != nil {
		return Section{}, err
	}
	var listed []predict.Scored
	for _, r := range sc.Rows { // highest score first
		if r.Score >= s.Threshold {
			listed = append(listed, r)
		}
	}
	above := len(listed)
	if len(listed) > s.Limit {
		listed = listed[:s.Limit]
	}
	subject := "beneficiary"
	if s.Model == predict.NoShow {
		subject = "appointment"
	}
	t := &Table{Columns: []Column{{Name: subject, Title: strings.ToUpper(subject[:1]) + subject[1:]}}}
	var when map[int64]appointmentInfo
	if s.Model == predict.NoShow {
		t.Columns = append(t.Columns, Column{Name: "scheduled_at", Title: "Scheduled"}, Column{Name: "channel", Title: "Channel"})
		ids := make([]int64, len(listed))
		for i, r := range listed {
			ids[i] = r.ID
		}
		if when, err = bd.appointments(ctx, ids); err != nil {
			return Section{}, err
		}
	}
	t.Columns = append(t.Columns, Column{Name: "risk", Title: riskTitle(s.Model)}, Column{Name: "factors", Title: "Main factors"})
	for _, r := range listed {
		row := []Cell{id(r.ID)}
		if when != nil {
			a := when[r.ID]
			row = append(row, instant(a.scheduledAt, UnitTime, bd.loc), text(strings.ReplaceAll(a.channel, "_", " ")))
		}
		row = append(row, number(r.Score, UnitRatio), text(factors(r.Factors)))
		t.Rows = append(t.Rows, row)
	}
	scored := "active beneficiaries"
	if s.Model == predict.NoShow {
		scored = fmt.Sprintf("appointments scheduled in the next %d days", s.HorizonDays)
	}
	sec := Section{Title: s.Title, Table: t, Notes: bd.unfilteredNote("Predictions")}
	sec.Summary = fmt.Sprintf("%d of %d %s have a %s of %s or more (model %s version %d%s).",
		above, len(sc.Rows), scored, strings.ToLower(riskTitle(s.Model)), FormatValue(s.Threshold, UnitRatio),
		sc.Version.Model, sc.Version.Version, aucText(sc.Version))
	if above > len(listed) {
		sec.Notes = append(sec.Notes, fmt.Sprintf("The %d highest are listed.", len(listed)))
	}
	return sec, nil
}

func riskTitle(model string) string {
	switch model {
	case predict.NoShow:
		return "No-show risk"
	case predict.Churn:
		return "Churn risk"
	}
	return "Probability of high engagement"
}

func aucText(v *predict.Version) string {
	if auc, ok := v.Metrics["roc_auc"]; ok {
		return ", test ROC AUC " + strconv.FormatFloat(auc, 'f', 3, 64)
	}
	return ""
}

// factors writes the main factors: feature = value (+0.42 log-odds), largest first.
func factors(fs []predict.Factor) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s = %s (%s)", strings.ReplaceAll(f.Feature, "_", " "), f.Value, signed(f.Contribution, 2))
	}
	return strings.Join(parts, "; ")
}

type appointmentInfo struct {
	scheduledAt time.Time
	channel     string
}

// appointments reads when and how the listed appointments take place (no personal data).
func (bd *build) appointments(ctx context.Context, ids []int64) (map[int64]appointmentInfo, error) {
	out := map[int64]appointmentInfo{}
	if len(ids) == 0 {
		return out, nil
	}
	err := bd.b.DB.ReadOnly(ctx, bd.predict.Timeout, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select id, scheduled_at, channel from bdc.appointments where id = any($1)`, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var a appointmentInfo
			if err := rows.Scan(&id, &a.scheduledAt, &a.channel); err != nil {
				return err
			}
			out[id] = a
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read the listed appointments: %w", err)
	}
	return out, nil
}
