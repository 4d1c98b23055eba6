package demo

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// EngagementEvidence is what the platform's rows show, at an instant At, of a converted
// beneficiary's latent engagement: everything the generator made depend on it that had happened
// by then, except feedback scores (they also depend on the trainer's latent rating, and carry
// little: 0.2·ln(engagement) under noise of 0.7) and support tickets.
type EngagementEvidence struct {
	Channel string // acquisition channel
	Age     int    // at registration
	// Created is the registration, FirstBooked the first booking: the prospect phase of the
	// activity process lies between them, the programme phase after FirstBooked.
	Created, FirstBooked, At time.Time
	// Sessions are the visits of the activity process started before At: every session with an
	// event besides logging in, booking and attending an appointment.
	Sessions []SessionEvidence
	// Outcomes are the statuses of the appointments before the one whose evaluation is
	// assessed at At, in booking order: the programme went on after each of them.
	Outcomes []string
	// Evaluations are the evaluations started before At.
	Evaluations []EvaluationEvidence
	// Completed says the evaluation started at At was completed: the rows a score model is
	// trained on are these, and completing depends on engagement.
	Completed bool
}

// SessionEvidence is one session of the activity process.
type SessionEvidence struct {
	Start time.Time
	// Actions counts its events besides the login, DocumentsMessages those of them that
	// uploaded a document or sent a message.
	Actions, DocumentsMessages int
}

// EvaluationEvidence is an evaluation started before the instant of the evidence.
type EvaluationEvidence struct {
	Assessment string
	Started    time.Time
	// Completed is when it was completed with Score, zero if it was not by the instant.
	Completed time.Time
	Score     float64
}

// posteriorPoints is the size of the grid the posterior of ln(engagement) is computed on,
// over its prior mean ± posteriorSpan prior standard deviations.
const (
	posteriorPoints = 241
	posteriorSpan   = 6.0
)

// EngagementPosterior returns the mean and variance of ln(engagement) given the evidence,
// under the generator's own model of how engagement shows in the rows: the channel's prior,
// conversion, the delay to the first booking, the Poisson sessions of the prospect and
// programme phases (their number, and in the programme their timing and the share of documents
// and messages among their actions), the programme going on after each appointment, and the
// earlier evaluations' completion and scores. It is what the best possible model of the
// evaluation score could know of engagement at At: the Bayes ceiling of what is observable.
func EngagementPosterior(ev EngagementEvidence) (mean, variance float64, err error) {
	mu, ok := channelEngagement[ev.Channel]
	if !ok {
		return 0, 0, fmt.Errorf("unknown acquisition channel %q", ev.Channel)
	}
	if !ev.Created.Before(ev.FirstBooked) || ev.At.Before(ev.FirstBooked) {
		return 0, 0, fmt.Errorf("want registration %s before first booking %s, not after %s", ev.Created, ev.FirstBooked, ev.At)
	}
	days := func(a, b time.Time) float64 { return b.Sub(a).Hours() / 24 }
	toBooking := days(ev.Created, ev.FirstBooked)
	// The prospect phase's rate has a shape that does not depend on engagement: only the number
	// of its sessions tells, against the thinned integral of the shape.
	prospect := newThinnedDecay(ev.Created, ev.FirstBooked)
	prospectMass := prospectRate * prospect.integral(prospectDecay)
	programme := newThinnedDecay(ev.FirstBooked, ev.At)
	var nProspect, nProgramme, actions, docMsg int
	var sinceBooking float64 // Σ of programme sessions' days since the first booking
	for _, s := range ev.Sessions {
		if s.Start.Before(ev.Created) || !s.Start.Before(ev.At) {
			continue
		}
		if s.Start.Before(ev.FirstBooked) {
			nProspect++
			continue
		}
		nProgramme++
		sinceBooking += days(ev.FirstBooked, s.Start)
		actions += s.Actions
		docMsg += s.DocumentsMessages
	}
	sd := engagementSD
	logPost := make([]float64, posteriorPoints)
	grid := make([]float64, posteriorPoints)
	for g := range grid {
		x := mu + sd*posteriorSpan*(2*float64(g)/float64(posteriorPoints-1)-1) // ln(engagement)
		e := math.Exp(x)
		grid[g] = x
		lp := -0.5 * (x - mu) * (x - mu) / (sd * sd)
		lp += logSigmoid(conversionLogit(ev.Channel, x))
		rate := (0.5 + 0.5*e) / 10 // of the delay to the first booking, past 0.02 day
		lp += math.Log(rate) - rate*(toBooking-0.02)
		lp += poissonLog(nProspect, e*prospectMass)
		tau := programmeDecay(e)
		lp += float64(nProgramme)*math.Log(programRate*e) - sinceBooking/tau - programRate*e*programme.integral(tau)
		// Each programme action picks a feature by its weight: documents and messages in
		// docMsg of them, something else in the others.
		var all, engaged float64
		for _, f := range programFeatures {
			w := engagedWeight(f, e)
			all += w
			if f.engaged() {
				engaged += w
			}
		}
		lp += float64(docMsg)*math.Log(engaged) + float64(actions-docMsg)*math.Log(all-engaged) - float64(actions)*math.Log(all)
		noShows := 0
		for _, o := range ev.Outcomes {
			if o == "no_show" {
				noShows++
			}
			lp += logSigmoid(-abandonLogit(x, noShows)) // the programme went on
		}
		complete := completionProbability(x)
		for _, q := range ev.Evaluations {
			lp += evaluationLog(q, ev, x, complete)
		}
		if ev.Completed {
			lp += math.Log(complete)
		}
		logPost[g] = lp
	}
	top := slices.Max(logPost)
	var z, m1, m2 float64
	for g, lp := range logPost {
		p := math.Exp(lp - top)
		z += p
		m1 += p * grid[g]
		m2 += p * grid[g] * grid[g]
	}
	mean = m1 / z
	return mean, max(0, m2/z-mean*mean), nil
}

// evaluationLog is the log-likelihood at ln(engagement) x of what an earlier evaluation q shows
// at the evidence's instant: completed with its score, or not completed (yet).
func evaluationLog(q EvaluationEvidence, ev EngagementEvidence, x, complete float64) float64 {
	if !q.Completed.IsZero() && q.Completed.Before(ev.At) {
		expected := ExpectedScore(ScoreFeatures{
			Engagement: math.Exp(x), Age: ev.Age, Channel: ev.Channel, Assessment: q.Assessment,
			Appointments: slices.Index(Assessments, q.Assessment) + 1, // it follows the held-th appointment
		})
		return math.Log(complete) + scoreLog(q.Score, expected)
	}
	// Completion comes 0.01 to 4.01 days after the start, uniformly, when it comes.
	elapsed := ev.At.Sub(q.Started).Hours()/24 - 0.01
	later := 1 - min(1, max(0, elapsed/4))
	return math.Log((1 - complete) + complete*later)
}

// scoreLog is the log-likelihood of a recorded score given its expected value: the expected
// score plus N(0, EvaluationNoiseSD²), clamped to [0, EvaluationMaxScore] and rounded to a tenth.
func scoreLog(score, expected float64) float64 {
	cdf := func(v float64) float64 { return 0.5 * math.Erfc(-(v-expected)/(EvaluationNoiseSD*math.Sqrt2)) }
	switch {
	case score <= 0:
		return math.Log(max(cdf(0.05), 1e-300))
	case score >= EvaluationMaxScore:
		return math.Log(max(1-cdf(EvaluationMaxScore-0.05), 1e-300))
	}
	z := (score - expected) / EvaluationNoiseSD
	return -0.5*z*z - math.Log(EvaluationNoiseSD)
}

// logSigmoid returns log σ(z) without overflow.
func logSigmoid(z float64) float64 {
	if z >= 0 {
		return -math.Log1p(math.Exp(-z))
	}
	return z - math.Log1p(math.Exp(z))
}

// poissonLog is the log-probability of k events of a Poisson law of mean lambda.
func poissonLog(k int, lambda float64) float64 {
	lg, _ := math.Lgamma(float64(k) + 1)
	return float64(k)*math.Log(lambda) - lambda - lg
}

// thinnedDecay integrates exp(−(t − from)/τ) · activityHourWeight(t) over [from, to), in days:
// the mass of a phase's session rate per unit of its initial rate. The weight changes at the
// top of each hour (Europe/Paris is a whole number of hours from UTC), so the interval is cut
// there.
type thinnedDecay struct {
	first   float64   // days from from to the first top of the hour (or to)
	firstW  float64   // weight of that first piece
	hours   []float64 // weights of the whole hours after it
	last    float64   // days of the piece after the whole hours
	lastW   float64
	partial bool // the interval ends within its first hour
}

func newThinnedDecay(from, to time.Time) thinnedDecay {
	var d thinnedDecay
	if !from.Before(to) {
		d.partial = true
		return d
	}
	weight := func(t time.Time) float64 { return activityHourWeight(t.In(Location)) }
	top := from.Truncate(time.Hour).Add(time.Hour)
	d.firstW = weight(from)
	if !top.Before(to) {
		d.first, d.partial = to.Sub(from).Hours()/24, true
		return d
	}
	d.first = top.Sub(from).Hours() / 24
	for ; !top.Add(time.Hour).After(to); top = top.Add(time.Hour) {
		d.hours = append(d.hours, weight(top))
	}
	d.last, d.lastW = to.Sub(top).Hours()/24, weight(top)
	return d
}

// integral returns ∫ exp(−x/τ)·w dx over the interval, x in days from its start.
func (d thinnedDecay) integral(tau float64) float64 {
	piece := phase{a: 1, tau: tau, to: math.Inf(1)}.integral // a partial hour at weight 1
	total := d.firstW * piece(0, d.first)
	if d.partial {
		return total
	}
	// Whole hours: e^{−a/τ} falls by the same factor every hour.
	q := math.Exp(-1.0 / 24 / tau)
	at := math.Exp(-d.first / tau)
	for _, w := range d.hours {
		total += w * tau * at * (1 - q)
		at *= q
	}
	a := d.first + float64(len(d.hours))/24
	return total + d.lastW*piece(a, a+d.last)
}
