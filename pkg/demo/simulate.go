package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// SimulatorConfig sets the pace of the live platform.
type SimulatorConfig struct {
	// SessionsPerMinute is the mean number of new visits per minute.
	SessionsPerMinute float64
	// BookingsPerHour is the mean number of new appointments booked per hour.
	BookingsPerHour float64
	// TicketsPerHour is the mean number of support tickets opened per hour.
	TicketsPerHour float64
	// Tick is how often the simulator writes.
	Tick time.Duration
}

// DefaultSimulator is a busy afternoon on a platform of the demo's size.
var DefaultSimulator = SimulatorConfig{SessionsPerMinute: 12, BookingsPerHour: 20, TicketsPerHour: 2, Tick: 5 * time.Second}

// Simulator keeps a seeded platform moving in real time: new visits, bookings, appointments that
// pass their time and get an outcome, tickets opened and resolved.
type Simulator struct {
	db     *store.DB
	cfg    SimulatorConfig
	logger *slog.Logger
	r      *rand.Rand
	maxID  int64
}

// NewSimulator returns a simulator writing to db.
func NewSimulator(db *store.DB, cfg SimulatorConfig, logger *slog.Logger) *Simulator {
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultSimulator.Tick
	}
	seed := uint64(time.Now().UnixNano())
	return &Simulator{db: db, cfg: cfg, logger: logger, r: rand.New(rand.NewPCG(seed, seed>>1))} //nolint:gosec // simulation, not security
}

// Run writes every tick until ctx ends. A failed tick is logged and retried on the next one.
func (s *Simulator) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		if err := s.Step(ctx, s.cfg.Tick); err != nil && ctx.Err() == nil {
			s.logger.Warn("simulator step failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step simulates dt of platform life at the current time.
func (s *Simulator) Step(ctx context.Context, dt time.Duration) error {
	now := time.Now().Truncate(time.Second)
	minutes := dt.Minutes()
	if err := s.settle(ctx, now); err != nil {
		return err
	}
	for n := poisson(s.r, s.cfg.SessionsPerMinute*minutes); n > 0; n-- {
		if err := s.visit(ctx, now); err != nil {
			return err
		}
	}
	for n := poisson(s.r, s.cfg.BookingsPerHour*minutes/60); n > 0; n-- {
		if err := s.book(ctx, now); err != nil {
			return err
		}
	}
	for n := poisson(s.r, s.cfg.TicketsPerHour*minutes/60); n > 0; n-- {
		if err := s.ticket(ctx, now); err != nil {
			return err
		}
	}
	// Open tickets resolve with a median of about twelve hours.
	_, err := s.db.Pool.Exec(ctx, `update bdc.support_tickets set resolved_at = $1::timestamptz
		where resolved_at is null and opened_at < $1::timestamptz - interval '10 minutes' and random() < $2`,
		now, 1-math.Exp(-math.Ln2*minutes/720))
	return err
}

// someone picks a random prospect or active beneficiary: its id, user, trainer and birth year.
type someone struct {
	id, userID, trainerID int64
	birthYear             int
}

var errNoBeneficiary = errors.New("no prospect or active beneficiary to simulate")

func (s *Simulator) someone(ctx context.Context) (someone, error) {
	if s.maxID == 0 {
		if err := s.db.Pool.QueryRow(ctx, "select coalesce(max(id), 0) from bdc.beneficiaries").Scan(&s.maxID); err != nil {
			return someone{}, err
		}
		if s.maxID == 0 {
			return someone{}, errNoBeneficiary
		}
	}
	var who someone
	var trainer *int64
	err := s.db.Pool.QueryRow(ctx, `select id, user_id, trainer_id, birth_year from bdc.beneficiaries
		where id >= $1 and status in ('prospect', 'active') order by id limit 1`, 1+s.r.Int64N(s.maxID)).
		Scan(&who.id, &who.userID, &trainer, &who.birthYear)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.db.Pool.QueryRow(ctx, `select id, user_id, trainer_id, birth_year from bdc.beneficiaries
			where status in ('prospect', 'active') order by id limit 1`).Scan(&who.id, &who.userID, &trainer, &who.birthYear)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return someone{}, errNoBeneficiary
	}
	if trainer != nil {
		who.trainerID = *trainer
	}
	return who, err
}

func (s *Simulator) visit(ctx context.Context, now time.Time) error {
	who, err := s.someone(ctx)
	if err != nil {
		return err
	}
	out := &block{}
	sid := "live-" + strconv.FormatInt(who.userID, 10) + "-" + strconv.FormatInt(now.UnixNano(), 36)
	session(out, s.r, who.userID, now, sid, engagedFeatures(1), 6, nil)
	batch := &pgx.Batch{}
	for _, row := range out.rows[tActivities] {
		batch.Queue(`insert into bdc.user_activities (user_id, occurred_at, activity_type, feature, session_id, duration_ms)
			values ($1, $2, $3, $4, $5, $6)`, row[1:]...)
	}
	batch.Queue(`update bdc.users set last_login_at = $2 where id = $1`, who.userID, now)
	return s.db.Pool.SendBatch(ctx, batch).Close()
}

func (s *Simulator) book(ctx context.Context, now time.Time) error {
	who, err := s.someone(ctx)
	if err != nil || who.trainerID == 0 {
		return err
	}
	var earlier int
	if err := s.db.Pool.QueryRow(ctx, `select count(*) from bdc.appointments where beneficiary_id = $1 and status = 'no_show'`, who.id).Scan(&earlier); err != nil {
		return err
	}
	scheduled := schedule(s.r, now)
	lead := scheduled.Sub(now).Hours() / 24
	channel := AppointmentChannels[pick(s.r, appointmentChannelShare)]
	reminder := s.r.Float64() < 0.72
	pNoShow := NoShowProbability(NoShowFeatures{
		LeadDays: lead, ReminderSent: reminder, Channel: channel, Hour: scheduled.In(Location).Hour(),
		EarlierNoShow: earlier, Age: now.Year() - who.birthYear,
	})
	duration := appointmentDurations[pick(s.r, appointmentDurationWeights)]
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var id int64
	err = tx.QueryRow(ctx, `insert into bdc.appointments
		(beneficiary_id, trainer_id, booked_at, scheduled_at, duration_minutes, channel, reminder_sent, status)
		values ($1, $2, $3, $4, $5, $6, $7, 'scheduled') returning id`,
		who.id, who.trainerID, now, scheduled, duration, channel, reminder).Scan(&id)
	if err != nil {
		return fmt.Errorf("couldn't book: %w", err)
	}
	if _, err := tx.Exec(ctx, `insert into bdc_demo.appointment_truth values ($1, $2, $3)`, id, pNoShow, cancelProbability(lead)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `update bdc.beneficiaries set status = 'active' where id = $1 and status = 'prospect'`, who.id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `insert into bdc.user_activities (user_id, occurred_at, activity_type, feature, session_id)
		values ($1, $2, $3, 'calendar', $4)`, who.userID, now, ActivityBooking, "live-booking-"+strconv.FormatInt(id, 10)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// settle gives appointments whose time has passed their outcome, drawn from their true
// probabilities.
func (s *Simulator) settle(ctx context.Context, now time.Time) error {
	_, err := s.db.Pool.Exec(ctx, `
		update bdc.appointments a
		set status = case when random() < t.cancel_probability then 'cancelled'
		                  when random() < t.noshow_probability then 'no_show'
		                  else 'completed' end
		from bdc_demo.appointment_truth t
		where t.appointment_id = a.id and a.status = 'scheduled'
		  and a.scheduled_at + make_interval(mins => a.duration_minutes) <= $1`, now)
	if err != nil {
		return fmt.Errorf("couldn't settle past appointments: %w", err)
	}
	return nil
}

func (s *Simulator) ticket(ctx context.Context, now time.Time) error {
	who, err := s.someone(ctx)
	if err != nil {
		return err
	}
	_, err = s.db.Pool.Exec(ctx, `insert into bdc.support_tickets (user_id, category, opened_at) values ($1, $2, $3)`,
		who.userID, TicketCategories[pick(s.r, ticketCategoryWeights)], now)
	return err
}
