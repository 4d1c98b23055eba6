package insights

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/predict"
)

// risks runs the risk rule: tomorrow's appointments with the promoted no-show model, active
// beneficiaries with the promoted churn model. A model without a promoted version gives no
// insight.
func (s *Store) risks(ctx context.Context, at time.Time, loc *time.Location) ([]Insight, error) {
	var out []Insight
	for _, rule := range []func(context.Context, *predict.Store, time.Time, *time.Location) (*Insight, error){s.noShowRisk, s.churnRisk} {
		in, err := rule(ctx, s.predict(), at, loc)
		if errors.Is(err, predict.ErrNoModel) {
			s.logger().Info("no risk insight: no promoted model", "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		if in != nil {
			out = append(out, *in)
		}
	}
	return out, nil
}

// factorsArg turns the configured number of factors into predict's (0 there means its default).
func factorsArg(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// noShowRisk summarizes the appointments of the local day after at's whose no-show probability is
// at least the threshold.
func (s *Store) noShowRisk(ctx context.Context, ps *predict.Store, at time.Time, loc *time.Location) (*Insight, error) {
	cfg := &s.Config.Risk
	from := localDay(at, loc).AddDate(0, 0, 1)
	to := from.AddDate(0, 0, 1)
	// Score from at to the end of tomorrow (a day may last 25 hours), then keep tomorrow's.
	horizon := int(math.Ceil(to.Sub(at).Hours() / 24))
	sc, err := ps.ScoreUpcomingAppointments(ctx, at, horizon, factorsArg(cfg.Factors))
	if err != nil {
		return nil, fmt.Errorf("couldn't score tomorrow's appointments: %w", err)
	}
	ids := make([]int64, len(sc.Rows))
	for i, r := range sc.Rows {
		ids[i] = r.ID
	}
	var keep []int64
	err = s.DB.ReadOnly(ctx, s.timeout(), func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select id from bdc.appointments where id = any($1) and scheduled_at >= $2 and scheduled_at < $3`, ids, from, to)
		if err != nil {
			return err
		}
		keep, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't find tomorrow's appointments: %w", err)
	}
	tomorrow := make(map[int64]bool, len(keep))
	for _, id := range keep {
		tomorrow[id] = true
	}
	pop := slices.DeleteFunc(sc.Rows, func(r predict.Scored) bool { return !tomorrow[r.ID] })
	sum := summarize(pop, cfg.NoShowThreshold, sc.Version, cfg)
	if sum == nil {
		return nil, nil
	}
	v := sc.Version
	title := fmt.Sprintf("%s of tomorrow's %s appointments at high risk of no-show", count(float64(sum.atRisk)), count(float64(len(pop))))
	detail := fmt.Sprintf("%s of the %s appointments scheduled for %s (%s) have a no-show probability of %s or more by the promoted no-show model (version %d, %s); across all of them, %s no-shows are expected.%s Reminders or a confirmation call to these beneficiaries can save the slots.",
		count(float64(sum.atRisk)), count(float64(len(pop))), day(from), percent(sum.share), percent(cfg.NoShowThreshold),
		v.Version, v.Algorithm, expectedCount(sum.expected), sum.factorSentence("appointments"))
	return sum.insight("risk.noshow", title, detail, "appointments", cfg.NoShowThreshold, v, from, to), nil
}

// churnRisk summarizes the active beneficiaries whose churn probability is at least the
// threshold.
func (s *Store) churnRisk(ctx context.Context, ps *predict.Store, at time.Time, _ *time.Location) (*Insight, error) {
	cfg := &s.Config.Risk
	sc, err := ps.ScoreActiveBeneficiaries(ctx, predict.Churn, at, factorsArg(cfg.Factors))
	if err != nil {
		return nil, fmt.Errorf("couldn't score active beneficiaries: %w", err)
	}
	sum := summarize(sc.Rows, cfg.ChurnThreshold, sc.Version, cfg)
	if sum == nil {
		return nil, nil
	}
	v := sc.Version
	activeDays := int(predict.ActiveWindow.Hours() / 24)
	outcomeDays := int(predict.OutcomeWindow.Hours() / 24)
	title := fmt.Sprintf("%s of %s active beneficiaries at risk of dropping out", count(float64(sum.atRisk)), count(float64(len(sc.Rows))))
	detail := fmt.Sprintf("%s of the %s beneficiaries active in the last %d days (%s) have a probability of %s or more of no activity at all in the next %d days by the promoted churn model (version %d, %s); across all of them, %s are expected to drop out.%s Their trainers can reach out before they do.",
		count(float64(sum.atRisk)), count(float64(len(sc.Rows))), activeDays, percent(sum.share), percent(cfg.ChurnThreshold), outcomeDays,
		v.Version, v.Algorithm, expectedCount(sum.expected), sum.factorSentence("beneficiaries"))
	return sum.insight("risk.churn", title, detail, "beneficiaries", cfg.ChurnThreshold, v, at, at.Add(predict.OutcomeWindow)), nil
}

// riskSummary is what the risk rule says of a scored population.
type riskSummary struct {
	scored, atRisk  int
	share, expected float64
	ids             []int64
	factors         []factorSummary
	high            bool
}

// factorSummary is a feature that raises the risk of the rows at risk, and how often.
type factorSummary struct {
	Feature, Doc string
	// Rows is how many rows at risk have it among their main factors, raising the risk.
	Rows int
	// Typical is its median value among them (the most frequent one for a categorical feature).
	Typical string
	// Contribution is its mean contribution among them.
	Contribution float64
}

// summarize counts the rows whose score is at least threshold and the factors that raise their
// risk most often; nil when no row is at risk.
func summarize(rows []predict.Scored, threshold float64, v *predict.Version, cfg *RiskConfig) *riskSummary {
	sum := &riskSummary{scored: len(rows)}
	var risky []predict.Scored
	for _, r := range rows {
		sum.expected += r.Score
		if r.Score >= threshold {
			risky = append(risky, r)
		}
	}
	if len(risky) == 0 {
		return nil
	}
	sum.atRisk = len(risky)
	sum.share = float64(len(risky)) / float64(len(rows))
	sum.high = sum.share >= cfg.HighShare
	for i := range min(cfg.ListIDs, len(risky)) {
		sum.ids = append(sum.ids, risky[i].ID)
	}
	docs, kinds := map[string]string{}, map[string]string{}
	for _, f := range v.Schema.Features {
		docs[f.Name], kinds[f.Name] = f.Doc, f.Kind
	}
	type tally struct {
		rows    int
		contrib float64
		values  []string
	}
	tallies := map[string]*tally{}
	for _, r := range risky {
		for _, f := range r.Factors {
			if f.Contribution <= 0 {
				continue
			}
			t := tallies[f.Feature]
			if t == nil {
				t = &tally{}
				tallies[f.Feature] = t
			}
			t.rows++
			t.contrib += f.Contribution
			t.values = append(t.values, f.Value)
		}
	}
	for name, t := range tallies {
		sum.factors = append(sum.factors, factorSummary{Feature: name, Doc: docs[name], Rows: t.rows,
			Typical: typical(t.values, kinds[name] == predict.KindNumeric), Contribution: t.contrib / float64(t.rows)})
	}
	slices.SortFunc(sum.factors, func(a, b factorSummary) int {
		return cmp.Or(cmp.Compare(b.Rows, a.Rows), cmp.Compare(b.Contribution, a.Contribution), cmp.Compare(a.Feature, b.Feature))
	})
	sum.factors = sum.factors[:min(cfg.Factors, len(sum.factors))]
	return sum
}

// expectedCount writes an expected number of events: one decimal below 100, whole above.
func expectedCount(v float64) string {
	if v >= 100 {
		return count(v)
	}
	return decimal(v)
}

// typical is the median of numeric values (those that parse), else the most frequent value.
func typical(values []string, numeric bool) string {
	if numeric {
		var nums []float64
		for _, v := range values {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				nums = append(nums, f)
			}
		}
		if len(nums) > 0 {
			slices.Sort(nums)
			m := nums[len(nums)/2]
			if len(nums)%2 == 0 {
				m = (nums[len(nums)/2-1] + m) / 2
			}
			return strconv.FormatFloat(m, 'g', 3, 64)
		}
	}
	freq := map[string]int{}
	best := ""
	for _, v := range values {
		freq[v]++
		if freq[v] > freq[best] || (freq[v] == freq[best] && v < best) {
			best = v
		}
	}
	return best
}

// factorSentence names the main factors in words: " What raises their risk most often: days
// from booking to the appointment (in 9 of them, typically 21), ...".
func (sum *riskSummary) factorSentence(what string) string {
	if len(sum.factors) == 0 {
		return ""
	}
	parts := make([]string, len(sum.factors))
	for i, f := range sum.factors {
		name := f.Feature
		if f.Doc != "" {
			name = f.Doc + " (" + f.Feature + ")"
		}
		parts[i] = fmt.Sprintf("%s, in %s of the %s at risk, typically %s", name, count(float64(f.Rows)), what, f.Typical)
	}
	return " What raises their risk most often: " + strings.Join(parts, "; ") + "."
}

// insight builds the risk insight of a summary.
func (sum *riskSummary) insight(rule, title, detail, what string, threshold float64, v *predict.Version, from, to time.Time) *Insight {
	factors := make([]any, len(sum.factors))
	for i, f := range sum.factors {
		factors[i] = map[string]any{"feature": f.Feature, "doc": f.Doc, what: f.Rows, "typical": f.Typical, "mean_contribution": f.Contribution}
	}
	priority := PriorityMedium
	if sum.high {
		priority = PriorityHigh
	}
	return &Insight{
		Rule: rule, Category: CategoryRisk, Priority: priority, Title: title, Detail: detail,
		Evidence: map[string]any{
			"model": v.Model, "version": v.Version, "algorithm": v.Algorithm, "threshold": threshold,
			"scored": sum.scored, "at_risk": sum.atRisk, "share": sum.share, "expected": sum.expected,
			"ids": sum.ids, "top_factors": factors,
		},
		PeriodFrom: from, PeriodTo: to,
	}
}
