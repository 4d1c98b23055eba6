package demo_test

import (
	"math"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/demo"
)

// The posterior of ln(engagement) is computed from the generator's own model of the rows. If it
// leaves out or mistakes a likelihood term, it is miscalibrated against the latent engagement
// the generator drew: its mean errs on average, or its variance is not the squared error it
// makes. Checked on every completed evaluation of the statistics platform.
func TestEngagementPosteriorIsCalibrated(t *testing.T) {
	d := seeded(t)
	rows, err := d.DB.Pool.Query(t.Context(), `select e.id, ln(t.engagement)
		from bdc.evaluations e join bdc_demo.beneficiary_truth t on t.beneficiary_id = e.beneficiary_id
		where e.completed_at is not null and e.score is not null`)
	if err != nil {
		t.Fatal(err)
	}
	truth := map[int64]float64{}
	var id int64
	var x float64
	var ids []int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &x}, func() error {
		truth[id] = x
		ids = append(ids, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	evidence, err := demo.ReadEngagementEvidence(t.Context(), d.DB, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(evidence) < len(ids)*9/10 {
		t.Fatalf("evidence for %d of %d evaluations", len(evidence), len(ids))
	}
	var n, bias, sq, variance, priorSq float64
	for id, ev := range evidence {
		mean, v, err := demo.EngagementPosterior(ev)
		if err != nil {
			t.Fatal(err)
		}
		e := truth[id] - mean
		n++
		bias += e
		sq += e * e
		variance += v
		priorSq += truth[id] * truth[id]
	}
	bias, sq, variance = bias/n, sq/n, variance/n
	t.Logf("%.0f evaluations: posterior of ln(engagement) errs by %.4f on average, mean squared error %.4f, mean posterior variance %.4f (prior variance %.4f)",
		n, bias, sq, variance, 0.55*0.55)
	if math.Abs(bias) > 3*math.Sqrt(sq/n)+0.01 {
		t.Errorf("posterior mean is biased by %.4f", bias)
	}
	if r := sq / variance; r < 0.85 || r > 1.15 {
		t.Errorf("mean squared error %.4f against mean posterior variance %.4f (ratio %.3f): the posterior is miscalibrated", sq, variance, r)
	}
	if variance > 0.8*0.55*0.55 {
		t.Errorf("mean posterior variance %.4f: the evidence should say much more than the prior", variance)
	}
}
