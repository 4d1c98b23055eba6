package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// feature is one part of the platform a session can touch: the activity type it records and,
// for pages, the median load time in milliseconds.
type feature struct {
	name         string
	activityType string
	weight       float64
	medianMS     float64
}

// Activity types recorded in bdc.user_activities.
const (
	ActivityLogin       = "login"
	ActivityPageView    = "page_view"
	ActivityAssessment  = "assessment"
	ActivityDocument    = "document_upload"
	ActivityMessage     = "message"
	ActivityResource    = "resource_view"
	ActivityBooking     = "booking"
	ActivityVideoCall   = "video_call"
	ActivityAppointment = "appointment_attended"
)

var (
	prospectFeatures = []feature{
		{"dashboard", ActivityPageView, 4, 420}, {"resources", ActivityResource, 2, 600},
		{"profile", ActivityPageView, 1, 380}, {"calendar", ActivityPageView, 1.5, 520},
	}
	// programFeatures: documents and messaging are scaled by engagement (feature adoption
	// differs between engaged and disengaged beneficiaries).
	programFeatures = []feature{
		{"dashboard", ActivityPageView, 3, 420}, {"resources", ActivityResource, 1.5, 600},
		{"profile", ActivityPageView, 0.5, 380}, {"calendar", ActivityPageView, 1.5, 520},
		{"assessments", ActivityAssessment, 3, 700}, {"documents", ActivityDocument, 1, 900},
		{"messaging", ActivityMessage, 1, 350},
	}
	trainerFeatures = []feature{
		{"calendar", ActivityPageView, 3, 520}, {"messaging", ActivityMessage, 2, 350},
		{"documents", ActivityDocument, 1, 900}, {"dashboard", ActivityPageView, 2, 420},
	}
	adminFeatures = []feature{
		{"dashboard", ActivityPageView, 3, 420}, {"profile", ActivityPageView, 1, 380},
		{"calendar", ActivityPageView, 1, 520},
	}
)

// engagedFeatures returns programFeatures with the adoption of documents and messaging scaled by
// the beneficiary's engagement.
func engagedFeatures(e float64) []feature {
	fs := make([]feature, len(programFeatures))
	copy(fs, programFeatures)
	for i := range fs {
		fs[i].weight = engagedWeight(fs[i], e)
	}
	return fs
}

// engagedWeight is a programme feature's weight for a beneficiary of engagement e: documents'
// and messaging's grow with its square.
func engagedWeight(f feature, e float64) float64 {
	if f.engaged() {
		return f.weight * (e * e)
	}
	return f.weight
}

// engaged says whether the feature's adoption grows with engagement (documents, messaging).
func (f feature) engaged() bool { return f.name == "documents" || f.name == "messaging" }

func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// sessionID names a user's n-th generated session.
func sessionID(userID int64, n int) string {
	return strconv.FormatInt(userID, 10) + "-" + strconv.Itoa(n)
}

// deeper draws the actions that visits deeper than DefaultSessionDepth have beyond a default
// visit's, from a random stream of the user's own.
type deeper struct {
	r *rand.Rand
	// more is the probability of one more action.
	more float64
}

// deeperSessions returns the user's stream of extra actions, nil at the default depth.
func (p *plan) deeperSessions(userID int64) *deeper {
	if p.cfg.SessionDepth <= DefaultSessionDepth {
		return nil
	}
	extra := p.cfg.SessionDepth - DefaultSessionDepth // the mean of a geometric count from 0
	return &deeper{r: newRand(p.cfg.Seed, streamDeeperSessions, int(userID)), more: extra / (extra + 1)}
}

// session emits one visit: a login, then a geometric number of events (at most maxEvents when
// positive) a few tens of seconds apart, then, in a deeper visit, deep's extra actions. It
// returns the time of the last event of the default visit: the deeper actions change nothing
// else generated.
func session(out *block, r *rand.Rand, userID int64, tm time.Time, sid string, features []feature, maxEvents int, deep *deeper) time.Time {
	out.add(tActivities, int64(0), userID, tm, ActivityLogin, nil, sid, int32(lognormal(r, 300, 0.4)))
	weights := make([]float64, len(features))
	for i, f := range features {
		weights[i] = f.weight
	}
	for events := 1; ; events++ {
		tm = action(out, r, userID, tm, sid, features, weights)
		if events == maxEvents || r.Float64() < 0.5 {
			break
		}
	}
	if deep != nil && maxEvents == 0 {
		last := tm
		for deep.r.Float64() < deep.more {
			last = action(out, deep.r, userID, last, sid, features, weights)
		}
	}
	return tm
}

// action emits one action of a visit a few tens of seconds after tm and returns its time.
func action(out *block, r *rand.Rand, userID int64, tm time.Time, sid string, features []feature, weights []float64) time.Time {
	tm = tm.Add(time.Duration(lognormal(r, 40, 0.8)*1000) * time.Millisecond).Truncate(time.Second)
	f := features[pick(r, weights)]
	ms := lognormal(r, 25000, 0.7) // time spent on an action
	if f.activityType == ActivityPageView || f.activityType == ActivityResource {
		ms = lognormal(r, f.medianMS, 0.45) // page load time
	}
	out.add(tActivities, int64(0), userID, tm, f.activityType, f.name, sid, int32(min(ms, 3.6e6)))
	return tm
}

// poissonSessions draws the session times of one phase of the activity process between lo and
// hi (days): arrivals of rate a·exp(-(t-from)/tau) by inversion of the cumulative rate, each
// kept with the hour-of-week weight (thinning).
func (p *plan) poissonSessions(r *rand.Rand, ph phase, lo, hi float64, emit func(time.Time)) {
	lo, hi = max(lo, ph.from), min(hi, ph.to)
	if hi <= lo {
		return
	}
	scale := ph.a * ph.tau
	base := math.Exp(-(lo - ph.from) / ph.tau)
	top := scale * (base - math.Exp(-(hi-ph.from)/ph.tau))
	for s := r.ExpFloat64(); s < top; s += r.ExpFloat64() {
		t := ph.from - ph.tau*math.Log(base-s/scale)
		tm := p.at(t).In(Location)
		if r.Float64() < activityHourWeight(tm) {
			emit(tm)
		}
	}
}

// expectedSessions integrates the thinned rate of the phases over [lo, lo+days): the Poisson
// mean of the number of sessions in that window.
func (p *plan) expectedSessions(phases []phase, lo float64, days int) float64 {
	total := 0.0
	for d := range days {
		a, b := lo+float64(d), lo+float64(d+1)
		w := meanDayWeight[p.at(a+0.5).In(Location).Weekday()]
		for _, ph := range phases {
			total += w * ph.integral(a, b)
		}
	}
	return total
}
