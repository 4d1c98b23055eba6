// Package demo generates a living career-assessment platform with known ground truth, loads it
// into the canonical schema, keeps it moving with a live simulator, and finds or starts a
// PostgreSQL server for `bdc-exporter demo`.
//
// The true probabilities it draws outcomes from go to the schema bdc_demo, which only tests and
// benchmarks read: no production code path may depend on this package's truth.
package demo

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on machines without a zoneinfo database.
)

// Limits of the generator's scale.
const (
	MinUsers = 100
	MaxUsers = 1_000_000
	MinDays  = 30
	MaxDays  = 3650
)

// Defaults of `bdc-exporter demo`: a platform of about 5,000 beneficiaries and two years of history.
const (
	DefaultUsers = 5200
	DefaultDays  = 730
	DefaultSeed  = 1
	// DefaultSessionDepth is the mean number of actions in a visit after its login.
	DefaultSessionDepth = 2
	// MaxSessionDepth bounds Config.SessionDepth.
	MaxSessionDepth = 50
)

// Location is the platform's time zone: appointments and activity follow French local time.
var Location = mustLoad("Europe/Paris")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded, so this cannot fail
	}
	return loc
}

// Config says what to generate. The same Config gives byte-identical tables.
type Config struct {
	// Users is the number of user accounts: beneficiaries, trainers and admins.
	Users int
	// Days of history before End.
	Days int
	// Seed of the random streams.
	Seed uint64
	// SessionDepth is the mean number of actions after the login in a visit; 0 means
	// DefaultSessionDepth. A deeper visit has the actions of a default one, then more drawn from
	// a random stream of their own, so everything else generated (who visits when, bookings,
	// outcomes, ground truth) is the same whatever the depth: benchmarks use it to reach tens of
	// millions of activity events with the platform the tests know.
	SessionDepth float64
	// End is the instant history stops: the past is settled before it, appointments booked
	// before it may be scheduled after it. Zero means the start of today in Europe/Paris.
	End time.Time
}

// Validate checks the scale and fills End.
func (c *Config) Validate() error {
	if c.Users < MinUsers || c.Users > MaxUsers {
		return fmt.Errorf("users must be between %d and %d, got %d", MinUsers, MaxUsers, c.Users)
	}
	if c.Days < MinDays || c.Days > MaxDays {
		return fmt.Errorf("days must be between %d and %d, got %d", MinDays, MaxDays, c.Days)
	}
	if c.SessionDepth == 0 {
		c.SessionDepth = DefaultSessionDepth
	}
	if c.SessionDepth < DefaultSessionDepth || c.SessionDepth > MaxSessionDepth {
		return fmt.Errorf("session depth must be between %d and %d actions, got %g", DefaultSessionDepth, MaxSessionDepth, c.SessionDepth)
	}
	if c.End.IsZero() {
		y, m, d := time.Now().In(Location).Date()
		c.End = time.Date(y, m, d, 0, 0, 0, 0, Location)
	}
	c.End = c.End.Truncate(time.Second)
	return nil
}

// Staff sizes for a number of users: one trainer per 250 users keeps trainer utilization near
// 70% at the end of history; one admin per 1,000 users.
func staffSizes(users int) (trainers, admins int) {
	trainers = max(2, (users+249)/250)
	admins = max(1, users/1000)
	return trainers, admins
}
