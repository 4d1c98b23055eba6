package demo

import (
	"math"
	"time"
)

// This file is the generator's ground truth: the structure that analytics and models must be
// able to find. Tests read these values; production code never does.

// Acquisition channels, their share of registrations, their base conversion to a first
// appointment and their shift of the engagement distribution.
var (
	Channels          = []string{"cpf", "organic_search", "paid_search", "social", "referral", "employer"}
	channelWeights    = []float64{0.35, 0.20, 0.15, 0.12, 0.10, 0.08}
	ChannelConversion = map[string]float64{
		"cpf": 0.72, "organic_search": 0.50, "paid_search": 0.40,
		"social": 0.30, "referral": 0.70, "employer": 0.85,
	}
	channelEngagement = map[string]float64{
		"cpf": 0.0, "organic_search": 0.0, "paid_search": -0.2,
		"social": -0.35, "referral": 0.1, "employer": 0.2,
	}
	channelScore = map[string]float64{
		"cpf": 1, "organic_search": 0, "paid_search": -1,
		"social": -2, "referral": 2, "employer": 4,
	}
	channelPriceCents = map[string]int64{
		"cpf": 180000, "organic_search": 210000, "paid_search": 210000,
		"social": 190000, "referral": 200000, "employer": 240000,
	}
)

// Regions (slugs of the French administrative regions) and their share of beneficiaries.
var (
	Regions = []string{
		"ile-de-france", "auvergne-rhone-alpes", "nouvelle-aquitaine", "occitanie",
		"hauts-de-france", "provence-alpes-cote-d-azur", "grand-est", "pays-de-la-loire",
		"bretagne", "normandie",
	}
	regionWeights = []float64{0.30, 0.13, 0.09, 0.09, 0.08, 0.08, 0.07, 0.06, 0.05, 0.05}
)

// Genders and their shares.
var (
	Genders       = []string{"female", "male", "unspecified"}
	genderWeights = []float64{0.58, 0.40, 0.02}
)

// AppointmentWeekdayWeights is the designed relative booking volume per weekday (time.Weekday
// order, Sunday first): appointments are placed in their week by these weights. Trainers do not
// work on Sundays, so nothing is booked then.
var AppointmentWeekdayWeights = [7]float64{0, 1.0, 1.1, 1.0, 1.05, 0.85, 0.30}

// WeekdayWeekendRatio is the designed ratio of mean appointments on a weekday to mean
// appointments on a weekend day.
func WeekdayWeekendRatio() float64 {
	w := AppointmentWeekdayWeights
	weekday := (w[1] + w[2] + w[3] + w[4] + w[5]) / 5
	weekend := (w[0] + w[6]) / 2
	return weekday / weekend
}

// appointmentHourWeights gives the local start hour of appointments, from 08:00 to 19:00.
var appointmentHourWeights = []float64{1, 3, 4, 4, 1.5, 2, 4, 4, 3.5, 2.5, 1.5, 0.7}

const firstAppointmentHour = 8

// Appointment channels and their shares.
var (
	AppointmentChannels     = []string{"in_person", "video", "phone"}
	appointmentChannelShare = []float64{0.50, 0.35, 0.15}
)

// RegistrationGrowthPerYear is the yearly growth factor of registrations (and so of bookings).
const RegistrationGrowthPerYear = 1.4

// registrationWeekday is the relative registration volume per weekday (Sunday first).
var registrationWeekday = [7]float64{0.5, 1.0, 1.0, 1.0, 1.0, 0.9, 0.6}

// yearlySeason is the seasonal factor of a date: peaks in September and January, a dip in
// August and over Christmas, when French platforms slow down.
func yearlySeason(t time.Time) float64 {
	doy := float64(t.YearDay())
	f := 1 + 0.15*math.Cos(2*math.Pi*(doy-15)/365.25) + 0.10*math.Cos(4*math.Pi*(doy-258)/365.25)
	if holiday(t) {
		f *= 0.5
	}
	return f
}

// holiday reports the French summer break and the Christmas fortnight.
func holiday(t time.Time) bool {
	m, d := t.Month(), t.Day()
	return (m == time.August && d <= 25) || (m == time.December && d >= 22) || (m == time.January && d <= 2)
}

// NoShowFeatures are the facts known when an appointment is booked that drive its no-show
// probability.
type NoShowFeatures struct {
	LeadDays      float64 // scheduled_at - booked_at, in days
	ReminderSent  bool
	Channel       string // in_person, video, phone
	Hour          int    // local start hour
	EarlierNoShow int    // the beneficiary's no-shows before this appointment
	Age           int    // at the appointment
	First         bool   // the beneficiary's first appointment
}

// NoShowProbability is the true probability that a held (not cancelled) appointment ends as a
// no-show: a logistic model of its booking-time features.
func NoShowProbability(f NoShowFeatures) float64 {
	z := -3.4 + 0.75*math.Log1p(f.LeadDays)
	if f.ReminderSent {
		z -= 1.6
	}
	switch f.Channel {
	case "video":
		z += 0.5
	case "phone":
		z += 0.9
	}
	switch {
	case f.Hour < 9:
		z += 0.6
	case f.Hour >= 18:
		z += 0.8
	case f.Hour >= 12 && f.Hour < 14:
		z += 0.3
	}
	z += 0.8 * float64(min(f.EarlierNoShow, 3))
	z -= 0.045 * float64(f.Age-40)
	if f.First {
		z += 0.4
	}
	return 1 / (1 + math.Exp(-z))
}

// cancelProbability is the chance an appointment is cancelled before it happens; long lead
// times are cancelled more.
func cancelProbability(leadDays float64) float64 {
	if leadDays > 14 {
		return 0.10
	}
	return 0.05
}

// Assessments taken during a programme and their effect on the expected score.
var (
	Assessments      = []string{"interests", "skills", "personality", "motivation", "values"}
	assessmentEffect = map[string]float64{
		"interests": 5, "skills": 0, "personality": 3, "motivation": -2, "values": 2,
	}
)

// EvaluationMaxScore is the maximum score of every assessment.
const EvaluationMaxScore = 100

// EvaluationNoiseSD is the standard deviation of the noise added to the expected score.
const EvaluationNoiseSD = 7

// ScoreFeatures are what the expected evaluation score is linear in.
type ScoreFeatures struct {
	Engagement   float64 // the beneficiary's latent engagement (log-normal, median about 1)
	Age          int
	Channel      string // acquisition channel
	Assessment   string
	Appointments int // appointments held before the assessment started
}

// ExpectedScore is the noise-free evaluation score: linear in the features.
func ExpectedScore(f ScoreFeatures) float64 {
	return 55 + 9*math.Log(f.Engagement) - 0.15*float64(f.Age-40) + channelScore[f.Channel] +
		assessmentEffect[f.Assessment] + 1.5*float64(f.Appointments)
}

// Activity process: sessions arrive as a Poisson process whose rate (sessions per day, before
// the hour-of-week thinning) decays exponentially within each phase of a beneficiary's life.
const (
	prospectRate  = 0.6  // × engagement, from registration to the first booking
	prospectDecay = 12.0 // days
	programRate   = 0.6  // × engagement, from the first booking to the programme's end
	programDecay  = 30.0 // days, × (0.6 + 0.4 × engagement): low engagement decays faster
	alumniRate    = 0.1  // × engagement, after the programme
	alumniDecay   = 40.0 // days
)

// engagementSD is the standard deviation of ln(engagement) within an acquisition channel.
const engagementSD = 0.55

// The generator's ways engagement shows, shared by the beneficiary's life and the posterior of
// engagement that reads them back (EngagementPosterior), so that both follow one model.

// conversionLogit is the log-odds that a beneficiary of the channel with ln(engagement) lnE
// converts (books a first appointment).
func conversionLogit(channel string, lnE float64) float64 {
	return logit(ChannelConversion[channel]) + 0.8*lnE
}

// programmeDecay is the time constant, in days, of the programme phase's session rate.
func programmeDecay(e float64) float64 { return programDecay * (0.6 + 0.4*e) }

// abandonLogit is the log-odds of abandoning the programme after an appointment, with noShows
// no-shows so far.
func abandonLogit(lnE float64, noShows int) float64 { return -3.4 - 1.2*lnE + 0.5*float64(noShows) }

// completionProbability is the probability of completing an evaluation once started.
func completionProbability(lnE float64) float64 { return 0.55 + 0.4*sigmoid(2*lnE) }

// ChurnWindowDays is the horizon of the churn definition: no activity in the next 30 days.
const ChurnWindowDays = 30

// phase is one exponentially decaying piece of the activity rate: rate(t) = a·exp(-(t-from)/tau)
// for from <= t < to (days since the start of history).
type phase struct {
	from, to, a, tau float64
	features         []feature // what sessions in this phase touch
}

// integral returns ∫ rate over [lo, hi] ∩ [from, to].
func (p phase) integral(lo, hi float64) float64 {
	lo, hi = max(lo, p.from), min(hi, p.to)
	if hi <= lo {
		return 0
	}
	return p.a * p.tau * (math.Exp(-(lo-p.from)/p.tau) - math.Exp(-(hi-p.from)/p.tau))
}

// activityHourWeight is the acceptance probability of a candidate session at a local time
// (thinning): low at night, highest in the evening, lower at weekends.
func activityHourWeight(t time.Time) float64 {
	w := activityHourProfile[t.Hour()]
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		w *= 0.6
	}
	return w
}

var activityHourProfile = [24]float64{
	0.04, 0.02, 0.01, 0.01, 0.01, 0.03, 0.10, 0.30, 0.55, 0.70, 0.75, 0.75,
	0.65, 0.70, 0.75, 0.75, 0.70, 0.70, 0.85, 1.00, 1.00, 0.85, 0.50, 0.15,
}

// meanDayWeight is the mean of activityHourWeight over the hours of a weekday (Sunday first),
// used to integrate the thinned rate over whole days.
var meanDayWeight = func() [7]float64 {
	var m [7]float64
	for wd := range 7 {
		s := 0.0
		for _, w := range activityHourProfile {
			s += w
		}
		s /= 24
		if wd == int(time.Saturday) || wd == int(time.Sunday) {
			s *= 0.6
		}
		m[wd] = s
	}
	return m
}()
