package demo

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Support ticket categories, their shares and median resolution times in hours.
var (
	TicketCategories      = []string{"scheduling", "technical", "billing", "account", "content"}
	ticketCategoryWeights = []float64{0.30, 0.25, 0.20, 0.15, 0.10}
	ticketMedianHours     = []float64{6, 30, 48, 12, 24}
)

var appointmentDurations = []int32{60, 90, 120}
var appointmentDurationWeights = []float64{0.50, 0.35, 0.15}

// beneficiaryBlock generates beneficiaries [from, to): their user, profile, appointments,
// evaluations, activity, payments, feedback, tickets and ground truth.
func (p *plan) beneficiaryBlock(from, to int) *block {
	out := &block{}
	for b := from; b < to; b++ {
		p.beneficiary(out, b)
	}
	return out
}

// life is one beneficiary's generated history, gathered while it is drawn.
type life struct {
	userID, id  int64
	r           *rand.Rand
	channel     string
	age         int // at registration
	engagement  float64
	trainer     int
	apptChannel int
	sessions    int
	lastLogin   *time.Time
	lastSeen    float64
	created     float64 // registration, in days since the start of history
	features    []feature
	deep        *deeper
}

func (p *plan) beneficiary(out *block, b int) {
	r := newRand(p.cfg.Seed, streamBeneficiary, b)
	l := &life{userID: p.beneficiaryUserID(b), id: int64(b + 1), r: r}
	l.deep = p.deeperSessions(l.userID)
	l.channel = Channels[pick(r, channelWeights)]
	region := Regions[pick(r, regionWeights)]
	gender := Genders[pick(r, genderWeights)]
	l.age = min(62, max(22, int(math.Round(40+9*r.NormFloat64()))))
	l.engagement = math.Exp(channelEngagement[l.channel] + engagementSD*r.NormFloat64())
	l.apptChannel = pick(r, appointmentChannelShare)
	l.features = engagedFeatures(l.engagement)

	regDay := int(p.regDay[b])
	created := p.dayStart(regDay).Add(time.Duration(8*3600+r.IntN(14*3600)) * time.Second)
	if p.dayOf(created) >= p.endT {
		created = p.at(p.endT - 1.0/24)
	}
	tCreated := p.dayOf(created)
	l.created = tCreated
	birthYear := created.Year() - l.age
	active := sort.SearchInts(p.trainerStart, regDay+1) // trainers joined by registration day
	l.trainer = r.IntN(max(1, active))
	trainerID := p.trainerUserID(l.trainer)
	converts := r.Float64() < sigmoid(conversionLogit(l.channel, math.Log(l.engagement)))

	e := l.engagement
	inf := math.Inf(1)
	status := "prospect"
	var completedAt *time.Time
	var phases []phase
	var future []float64 // probability of no session from each appointment booked in the churn window
	if !converts {
		phases = append(phases, phase{from: tCreated, to: inf, a: prospectRate * e, tau: prospectDecay, features: prospectFeatures})
	} else {
		firstBook := tCreated + 0.02 + r.ExpFloat64()*10/(0.5+0.5*e)
		phases = append(phases, phase{from: tCreated, to: firstBook, a: prospectRate * e, tau: prospectDecay, features: prospectFeatures})
		end, outcome, fut := p.programme(out, l, firstBook)
		future = fut
		phases = append(phases,
			phase{from: firstBook, to: end, a: programRate * e, tau: programmeDecay(e), features: l.features},
			phase{from: end, to: inf, a: alumniRate * e, tau: alumniDecay, features: prospectFeatures})
		switch {
		case firstBook >= p.endT:
		case end > p.endT:
			status = "active"
		default:
			status = outcome
			if outcome == "completed" {
				completedAt = ptr(p.at(end))
			}
		}
	}

	// Activity: the Poisson sessions of every phase up to End.
	for _, ph := range phases {
		p.poissonSessions(r, ph, tCreated, p.endT, func(tm time.Time) {
			p.visit(out, l, tm, ph.features, 0)
		})
	}
	p.tickets(out, l, tCreated)

	// Ground truth: the probability of no session in the 30 days after End.
	lambda := p.expectedSessions(phases, p.endT, ChurnWindowDays)
	churn := math.Exp(-lambda)
	for _, q := range future {
		churn *= q
	}
	out.add(tBeneficiaryTruth, l.id, e, churn, converts)

	// Dormant accounts are deactivated after six months.
	isActive := !((status == "abandoned" || status == "prospect") && p.endT-l.lastSeen > 180)
	out.add(tUsers, l.userID, email("user", l.userID), "beneficiary", created, l.lastLogin, isActive)
	out.add(tBeneficiaries, l.id, l.userID, trainerID, status, l.channel, region, int32(birthYear), gender, created, completedAt)
}

// visit records a session (at most maxEvents events after the login, 0 for no limit) and
// remembers the last login.
func (p *plan) visit(out *block, l *life, tm time.Time, fs []feature, maxEvents int) {
	l.sessions++
	last := session(out, l.r, l.userID, tm, sessionID(l.userID, l.sessions), fs, maxEvents, l.deep)
	l.lastLogin = ptr(tm)
	l.lastSeen = max(l.lastSeen, p.dayOf(last))
}

// programme draws the appointments of a converted beneficiary from its first booking: it returns
// when the programme ends (or +Inf if it goes on past End), how ("completed" or "abandoned"), and
// for appointments scheduled in the churn window after End, the probability each brings no
// session.
func (p *plan) programme(out *block, l *life, firstBook float64) (end float64, outcome string, future []float64) {
	r, e := l.r, l.engagement
	planned := 6 + r.IntN(5)
	held, noShows := 0, 0
	booked := firstBook
	trainerID := p.trainerUserID(l.trainer)
	paid := false
	for n := 0; n < 2*planned; n++ {
		if booked >= p.endT {
			return math.Inf(1), "", future // the next booking has not happened yet
		}
		bookedAt := p.at(booked).Truncate(time.Second)
		scheduled := schedule(r, bookedAt)
		ts := p.dayOf(scheduled)
		lead := ts - booked
		channel := l.apptChannel
		if r.Float64() < 0.2 {
			channel = pick(r, appointmentChannelShare)
		}
		reminder := r.Float64() < 0.72
		if lead < 1 {
			reminder = r.Float64() < 0.3
		}
		age := l.age + int((ts-l.created)/365.25)
		pNoShow := NoShowProbability(NoShowFeatures{
			LeadDays: lead, ReminderSent: reminder, Channel: AppointmentChannels[channel],
			Hour: scheduled.Hour(), EarlierNoShow: noShows, Age: age, First: n == 0,
		})
		pCancel := cancelProbability(lead)
		duration := appointmentDurations[pick(r, appointmentDurationWeights)]
		if n == 0 {
			duration = 60
		}
		p.visit(out, l, bookedAt, []feature{{"calendar", ActivityBooking, 1, 0}}, 1)
		if !paid {
			p.payments(out, l, booked)
			paid = true
		}
		status := "scheduled"
		if ts < p.endT {
			switch {
			case r.Float64() < pCancel:
				status = "cancelled"
			case r.Float64() < pNoShow:
				status = "no_show"
			default:
				status = "completed"
			}
		} else if ts < p.endT+ChurnWindowDays {
			future = append(future, pCancel+(1-pCancel)*pNoShow)
		}
		appt := out.add(tAppointments, int64(0), l.id, trainerID, bookedAt, scheduled, duration,
			AppointmentChannels[channel], reminder, status)
		out.add(tAppointmentTruth, appt, pNoShow, pCancel)
		finished := ts + float64(duration)/1440
		switch status {
		case "scheduled":
			return math.Inf(1), "", future
		case "no_show":
			noShows++
		case "completed":
			held++
			p.attended(out, l, scheduled, duration, AppointmentChannels[channel], appt)
			if held <= len(Assessments) && held >= 1 {
				p.evaluation(out, l, Assessments[held-1], finished, held)
			}
			if held == planned {
				return finished + r.Float64()*2, "completed", future
			}
			hazard := sigmoid(abandonLogit(math.Log(e), noShows))
			if r.Float64() < hazard {
				return finished + 1 + r.Float64()*20, "abandoned", future
			}
		}
		booked = finished + 0.1 + r.Float64()*3
	}
	return booked, "abandoned", future
}

// schedule places an appointment after its booking: a lead time, then a weekday of that week by
// the designed weekday weights and an hour by the hour profile; holidays push most bookings out.
func schedule(r *rand.Rand, booked time.Time) time.Time {
	lead := min(45, max(0.1, lognormal(r, 6, 0.8)))
	target := booked.Add(time.Duration(lead * 86400 * float64(time.Second))).In(Location)
	for holiday(target) && r.Float64() < 0.6 {
		target = target.AddDate(0, 0, 7)
	}
	y, m, d := target.Date()
	monday := d - (int(target.Weekday())+6)%7
	wd := pick(r, AppointmentWeekdayWeights[:]) // Sunday first
	offset := (wd + 6) % 7                      // days after Monday
	hour := firstAppointmentHour + pick(r, appointmentHourWeights)
	minute := 30 * r.IntN(2)
	s := time.Date(y, m, monday+offset, hour, minute, 0, 0, Location)
	for s.Sub(booked) < 2*time.Hour {
		s = s.AddDate(0, 0, 7)
	}
	return s
}

// attended records the visit that goes with a held appointment and, sometimes, its feedback.
func (p *plan) attended(out *block, l *life, scheduled time.Time, duration int32, channel string, appt int64) {
	r := l.r
	fs := []feature{{"calendar", ActivityAppointment, 1, 0}}
	if channel == "video" {
		fs = []feature{{"calendar", ActivityVideoCall, 1, 0}}
	}
	if p.dayOf(scheduled) < p.endT {
		p.visit(out, l, scheduled.Add(-5*time.Minute), fs, 1)
	}
	if r.Float64() < 0.3 {
		sub := scheduled.Add(time.Duration(duration)*time.Minute + time.Duration(lognormal(r, 3, 1)*3600)*time.Second)
		if p.dayOf(sub) < p.endT {
			score := math.Round(p.trainerRating[l.trainer] + 0.2*math.Log(l.engagement) + 0.7*r.NormFloat64())
			out.add(tFeedback, int64(0), l.userID, appt, int16(min(5, max(1, score))), sub)
		}
	}
}

// evaluation records an assessment started after the held-th appointment.
func (p *plan) evaluation(out *block, l *life, assessment string, after float64, held int) {
	r := l.r
	start := after + 0.3 + r.Float64()*3
	if start >= p.endT {
		return
	}
	expected := ExpectedScore(ScoreFeatures{
		Engagement: l.engagement, Age: l.age, Channel: l.channel, Assessment: assessment, Appointments: held,
	})
	var score, completed any
	if r.Float64() < completionProbability(math.Log(l.engagement)) {
		done := start + 0.01 + r.Float64()*4
		if done < p.endT {
			s := expected + EvaluationNoiseSD*r.NormFloat64()
			score = math.Round(min(EvaluationMaxScore, max(0, s))*10) / 10
			completed = p.at(done)
		}
	}
	ev := out.add(tEvaluations, int64(0), l.id, assessment, score, float64(EvaluationMaxScore), p.at(start), completed)
	out.add(tEvaluationTruth, ev, expected)
}

// payments records the programme's price: once for funded channels, in one or three monthly
// instalments otherwise.
func (p *plan) payments(out *block, l *life, firstBook float64) {
	r := l.r
	price := channelPriceCents[l.channel]
	n := 1
	if l.channel != "cpf" && l.channel != "employer" && r.Float64() < 0.4 {
		n = 3
	}
	at := firstBook + r.Float64()*2
	for i := range n {
		t := at + 30*float64(i)
		if t >= p.endT {
			return
		}
		amount := price / int64(n)
		if i == n-1 {
			amount = price - amount*int64(n-1)
		}
		out.add(tPayments, int64(0), l.id, amount, "EUR", p.at(t))
	}
}

// tickets records support tickets, more of them the more a beneficiary uses the platform.
func (p *plan) tickets(out *block, l *life, tCreated float64) {
	r := l.r
	span := max(0.5, min(p.endT, l.lastSeen+7)-tCreated)
	for n := poisson(r, 0.06+0.015*float64(l.sessions)); n > 0; n-- {
		opened := tCreated + r.Float64()*span
		if opened >= p.endT {
			continue
		}
		c := pick(r, ticketCategoryWeights)
		resolved := opened + lognormal(r, ticketMedianHours[c], 0.9)/24
		var resolvedAt any
		if resolved < p.endT {
			resolvedAt = p.at(resolved)
		}
		out.add(tTickets, int64(0), l.userID, TicketCategories[c], p.at(opened), resolvedAt)
	}
}
