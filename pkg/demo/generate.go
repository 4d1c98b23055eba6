package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Random streams: every unit of generation draws from its own PCG stream keyed on the seed, the
// stream kind and the unit's index, so units can be generated in any order, in parallel, and
// still give the same rows.
const (
	streamPlan uint64 = iota + 1
	streamTrainer
	streamAdmin
	streamBeneficiary
	streamDeeperSessions
)

func newRand(seed, kind uint64, index int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, kind<<56|uint64(index))) //nolint:gosec // seeded synthetic data, not security
}

// bookingHorizonDays bounds how far ahead an appointment may be scheduled; trainer availability
// is generated this far past End too.
const bookingHorizonDays = 60

// plan holds what every unit of generation shares, computed once from the Config.
type plan struct {
	cfg           Config
	start         time.Time // local midnight of the first day of history
	endT          float64   // End, in days since start
	trainers      int
	admins        int
	beneficiaries int
	trainerStart  []int // day index each trainer joined (negative: before history)
	trainerRating []float64
	regDay        []int32 // registration day of each beneficiary, ascending
}

func newPlan(cfg Config) *plan {
	end := cfg.End.In(Location)
	y, m, d := end.Date()
	p := &plan{cfg: cfg, start: time.Date(y, m, d-cfg.Days, 0, 0, 0, 0, Location)}
	p.endT = p.dayOf(cfg.End)
	p.trainers, p.admins = staffSizes(cfg.Users)
	p.beneficiaries = cfg.Users - p.trainers - p.admins

	r := newRand(cfg.Seed, streamPlan, 0)
	// Registrations: stratified draws from the daily intensity growth × season × weekday, so the
	// realised curve follows the design closely at every scale.
	weights := make([]float64, cfg.Days)
	cum := make([]float64, cfg.Days)
	total := 0.0
	for day := range cfg.Days {
		t := p.dayStart(day)
		w := growth(day) * yearlySeason(t) * registrationWeekday[t.Weekday()]
		weights[day] = w
		total += w
		cum[day] = total
	}
	p.regDay = make([]int32, p.beneficiaries)
	for i := range p.regDay {
		u := (float64(i) + r.Float64()) / float64(p.beneficiaries) * total
		p.regDay[i] = int32(min(sort.SearchFloat64s(cum, u), cfg.Days-1))
	}
	// Trainers join as the load grows, so utilization stays meaningful over the whole history.
	p.trainerStart = make([]int, p.trainers)
	p.trainerRating = make([]float64, p.trainers)
	final := growth(cfg.Days)
	for k := range p.trainers {
		p.trainerStart[k] = -365
		for day := range cfg.Days {
			if math.Ceil(float64(p.trainers)*growth(day)/final) > float64(k) {
				p.trainerStart[k] = day
				if day == 0 {
					p.trainerStart[k] = -365 + r.IntN(300)
				}
				break
			}
		}
		p.trainerRating[k] = 4.1 + 0.35*r.NormFloat64()
	}
	return p
}

// growth is the registration trend at a day index.
func growth(day int) float64 {
	return math.Pow(RegistrationGrowthPerYear, float64(day)/365.25)
}

func (p *plan) dayStart(day int) time.Time {
	return time.Date(p.start.Year(), p.start.Month(), p.start.Day()+day, 0, 0, 0, 0, Location)
}

// at converts days since the start of history to an instant, to the second.
func (p *plan) at(t float64) time.Time {
	return p.start.Add(time.Duration(math.Round(t*86400)) * time.Second)
}

func (p *plan) dayOf(tm time.Time) float64 {
	return tm.Sub(p.start).Seconds() / 86400
}

// User ids: trainers first, then admins, then one user per beneficiary.
func (p *plan) trainerUserID(k int) int64 { return int64(k + 1) }
func (p *plan) adminUserID(k int) int64   { return int64(p.trainers + k + 1) }
func (p *plan) beneficiaryUserID(b int) int64 {
	return int64(p.trainers + p.admins + b + 1)
}

// pick draws an index from relative weights.
func pick(r *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	u := r.Float64() * total
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
func logit(p float64) float64   { return math.Log(p / (1 - p)) }

func email(role string, id int64) string { return fmt.Sprintf("%s%d@example.org", role, id) }

func ptr[T any](v T) *T { return &v }

// staffBlock generates trainers [from, to) of the plan's staff list, where indexes past the trainers
// are admins: their users, availability and activity.
func (p *plan) staffBlock(from, to int) *block {
	out := &block{}
	horizon := int(math.Ceil(p.endT)) + bookingHorizonDays
	for s := from; s < to; s++ {
		if s >= p.trainers {
			p.admin(out, s-p.trainers)
			continue
		}
		r := newRand(p.cfg.Seed, streamTrainer, s)
		id := p.trainerUserID(s)
		deep := p.deeperSessions(id)
		joined := p.dayStart(p.trainerStart[s]).Add(time.Duration(8+r.IntN(10)) * time.Hour)
		weekday := 420
		if r.Float64() < 0.3 {
			weekday = 240 // part-time
		}
		// Saturday mornings: 60% of trainers, enough for Saturday's share of the bookings
		// (AppointmentWeekdayWeights) at the weekdays' utilization.
		saturday := 0
		if r.Float64() < 0.6 {
			saturday = 240
		}
		var lastLogin *time.Time
		sessions := 0
		for day := max(0, p.trainerStart[s]); day < horizon; day++ {
			date := p.dayStart(day)
			minutes := weekday
			switch date.Weekday() {
			case time.Saturday:
				minutes = saturday
			case time.Sunday:
				minutes = 0
			}
			if minutes > 0 && (r.Float64() < 0.04 || (holiday(date) && r.Float64() < 0.6)) {
				minutes = 0 // day off
			}
			out.add(tAvailability, id, date, int32(minutes))
			if minutes == 0 || float64(day) >= p.endT {
				continue
			}
			for n := poisson(r, 1.2); n > 0; n-- {
				tm := date.Add(time.Duration(8*3600+r.IntN(10*3600)) * time.Second)
				if p.dayOf(tm) >= p.endT {
					continue
				}
				sessions++
				session(out, r, id, tm, sessionID(id, sessions), trainerFeatures, 0, deep)
				lastLogin = ptr(tm)
			}
		}
		out.add(tUsers, id, email("trainer", id), "trainer", joined, lastLogin, true)
	}
	return out
}

func (p *plan) admin(out *block, k int) {
	r := newRand(p.cfg.Seed, streamAdmin, k)
	id := p.adminUserID(k)
	deep := p.deeperSessions(id)
	created := p.dayStart(-400 + r.IntN(30)).Add(9 * time.Hour)
	var lastLogin *time.Time
	sessions := 0
	for day := 0; float64(day) < p.endT; day++ {
		date := p.dayStart(day)
		if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday || r.Float64() > 0.5 {
			continue
		}
		tm := date.Add(time.Duration(8*3600+r.IntN(9*3600)) * time.Second)
		sessions++
		session(out, r, id, tm, sessionID(id, sessions), adminFeatures, 0, deep)
		lastLogin = ptr(tm)
	}
	out.add(tUsers, id, email("admin", id), "admin", created, lastLogin, true)
}

func poisson(r *rand.Rand, lambda float64) int {
	l, k, q := math.Exp(-lambda), 0, 1.0
	for {
		q *= r.Float64()
		if q <= l {
			return k
		}
		k++
	}
}
