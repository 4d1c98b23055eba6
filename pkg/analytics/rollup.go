package analytics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/store"
)

// The daily activity rollup (migration 003): bdc_analytics.user_activity_daily holds one row per
// user per calendar day in Europe/Paris for the days before rollup_watermark.covered_until.
// Queries in that zone read it for those days and raw bdc.user_activities for the days after, so
// they give the same result with or without it. The engine reads covered_until first, in the
// query's transaction; that is safe because coverage never shrinks and a refresh rewrites whole
// days in one transaction, so every day below a coverage once read stays complete.

// RollupName is the user_activity_daily row of bdc_analytics.rollup_watermark.
const RollupName = "user_activity_daily"

// SessionRollupName is the row of bdc_analytics.rollup_watermark of the session rollup
// (migration 010), which paths read: its coverage is its own, since a platform that migrates
// with a daily rollup in place gets its sessions on the next refresh.
const SessionRollupName = "user_session_daily"

// InstantsRollupName is the row of bdc_analytics.rollup_watermark of the instants rollup
// (migration 016), which ordered funnels read: its coverage is its own, as the session rollup's.
const InstantsRollupName = "user_activity_instants"

// maxFeatureBit is the highest bit of bdc_analytics.feature_bits (migration 012): 63 features
// get a bit of user_activity_daily.feature_mask, the others stay in extra_features.
const maxFeatureBit = 62

// refreshLock is the advisory lock key that serialises refreshes across processes ("bdcr").
const refreshLock = 0x62_64_63_72

// refreshLockTimeout bounds the wait for in-flight writers of bdc.user_activities.
const refreshLockTimeout = 30 * time.Second

// RefreshOptions tune RefreshRollupsWith.
type RefreshOptions struct {
	// Until is the day (its date in Europe/Paris) the rollup covers up to, exclusive. Zero means
	// today in Europe/Paris by the database clock: complete days only, today is read raw.
	// Coverage never shrinks: an Until before the current coverage only picks up late rows.
	Until time.Time
	// Full rebuilds the rollup from scratch instead of incrementally.
	Full bool
}

// RefreshStats reports what a refresh did.
type RefreshStats struct {
	// LastID is the highest bdc.user_activities id now rolled up.
	LastID int64
	// CoveredUntil is the first day (Europe/Paris) the rollup does not cover.
	CoveredUntil time.Time
	// NewDays is the number of days newly covered (every day of history on the first refresh).
	NewDays int
	// TouchedDays is the number of already covered days recomputed because rows arrived for
	// them since the last refresh.
	TouchedDays int
	// Rows is the number of daily rollup rows written; SessionRows the number of session rows,
	// InstantRows the number of rows of the instants rollup.
	Rows        int64
	SessionRows int64
	InstantRows int64
}

// RefreshRollups brings the daily activity rollup up to today (Europe/Paris), incrementally: see
// RefreshRollupsWith.
func RefreshRollups(ctx context.Context, db *store.DB) (RefreshStats, error) {
	return RefreshRollupsWith(ctx, db, RefreshOptions{})
}

// RefreshRollupsWith refreshes the daily activity rollup. It recomputes only the days that need
// it: the days newly covered (from the old covered_until to Until) and the covered days that
// received rows since the last refresh (ids above the watermark). A day is recomputed whole from
// raw rows, so a refresh is idempotent. Refreshes from several processes are serialised by an
// advisory lock; readers see the old rollup until the refresh commits.
//
// The watermark is exact because the refresh first waits, with a brief SHARE lock on
// bdc.user_activities, for transactions inserting activity to finish: every id at or below the
// maximum it then reads is committed, and later inserts take higher ids from the identity
// sequence. Rows inserted with explicit ids below the watermark, updates and deletes are picked
// up only by a Full refresh.
func RefreshRollupsWith(ctx context.Context, db *store.DB, opts RefreshOptions) (RefreshStats, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return RefreshStats{}, fmt.Errorf("couldn't reach PostgreSQL at %s: %w", db.Addr(), err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", refreshLock); err != nil {
		return RefreshStats{}, fmt.Errorf("couldn't take the rollup refresh lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "select pg_advisory_unlock($1)", refreshLock)
	}()

	high, err := settledHighID(ctx, conn.Conn())
	if err != nil {
		return RefreshStats{}, err
	}
	var stats RefreshStats
	err = pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
		stats, err = refresh(ctx, tx, high, opts)
		return err
	})
	if err != nil {
		return RefreshStats{}, fmt.Errorf("couldn't refresh the activity rollup: %w", err)
	}
	// After a large change (the first build above all) the planner needs statistics, and the
	// queries that read only (user_id, day) need the visibility map, without which an
	// index-only scan of the primary key visits the heap for every row; autovacuum would get
	// there, but minutes later.
	for _, t := range []struct {
		tables string
		rows   int64
	}{
		{"bdc_analytics.user_activity_daily, bdc_analytics.user_activity_hourly, bdc_analytics.user_activity_weekly, bdc_analytics.user_activity_monthly", stats.Rows},
		{"bdc_analytics.user_session_daily", stats.SessionRows},
		{"bdc_analytics.user_activity_instants", stats.InstantRows},
	} {
		var tuples float64
		first, _, _ := strings.Cut(t.tables, ",")
		if err := conn.QueryRow(ctx, "select reltuples from pg_class where oid = $1::regclass", first).Scan(&tuples); err != nil {
			return stats, fmt.Errorf("couldn't read the statistics of %s: %w", first, err)
		}
		if tuples < 0 || float64(t.rows) > 0.1*tuples {
			if _, err := conn.Exec(ctx, "vacuum (analyze) "+t.tables); err != nil {
				return stats, fmt.Errorf("couldn't vacuum and analyze %s: %w", t.tables, err)
			}
		}
	}
	return stats, nil
}

// settledHighID waits for in-flight inserts into bdc.user_activities to finish and returns the
// highest id, below which every row is now committed.
func settledHighID(ctx context.Context, conn *pgx.Conn) (int64, error) {
	var high int64
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "select set_config('lock_timeout', $1, true)", fmt.Sprint(refreshLockTimeout.Milliseconds())); err != nil {
			return err
		}
		// Through the migrations' security-definer function: the reporter's role may read
		// bdc.user_activities but not lock it in SHARE mode itself.
		if _, err := tx.Exec(ctx, "select bdc_analytics.lock_activity_writers()"); err != nil {
			return fmt.Errorf("couldn't wait for writers of bdc.user_activities: %w", err)
		}
		return tx.QueryRow(ctx, "select coalesce(max(id), 0) from bdc.user_activities").Scan(&high)
	})
	if err != nil {
		return 0, fmt.Errorf("couldn't read the activity high-water mark: %w", err)
	}
	return high, nil
}

// refresh brings every rollup up to date in one transaction, each from its own watermark row;
// the stats are the daily rollup's, with the session and instants rows written.
func refresh(ctx context.Context, tx pgx.Tx, high int64, opts RefreshOptions) (RefreshStats, error) {
	stats, err := refreshSet(ctx, tx, high, opts, RollupName, writeDaily)
	if err != nil {
		return RefreshStats{}, err
	}
	sessions, err := refreshSet(ctx, tx, high, opts, SessionRollupName, writeSessions)
	if err != nil {
		return RefreshStats{}, err
	}
	stats.SessionRows = sessions.Rows
	instants, err := refreshSet(ctx, tx, high, opts, InstantsRollupName, writeInstants)
	if err != nil {
		return RefreshStats{}, err
	}
	stats.InstantRows = instants.Rows
	return stats, nil
}

// recompute says which days a refresh rewrites: those of touchedP (a date[] parameter of a) and
// those matching rangeDel (a condition on a table's day) or, for raw rows (alias x), rangeRaw.
// first is a build from scratch: every row of the tables goes. The same days as values: touched,
// and [lo, hi) (lo nil on a first build).
type recompute struct {
	a                            *sqlArgs
	touchedP, rangeDel, rangeRaw string
	first                        bool
	touched                      []time.Time
	lo                           *time.Time
	hi                           time.Time
}

// days is the condition on a rollup table's day column (qualified by prefix) of the days to
// recompute, with its arguments; every day on a first build.
func (r recompute) days(prefix string) (string, []any) {
	if r.first {
		return "true", nil
	}
	return prefix + "day = any(" + r.touchedP + ") or (" + strings.ReplaceAll(r.rangeDel, "day ", prefix+"day ") + ")", r.a.vals
}

// clear deletes the days to recompute from table.
func (r recompute) clear(ctx context.Context, tx pgx.Tx, table string) error {
	cond, args := r.days("")
	if _, err := tx.Exec(ctx, "delete from bdc_analytics."+table+" where "+cond, args...); err != nil {
		return fmt.Errorf("couldn't delete the days of %s to recompute: %w", table, err)
	}
	return nil
}

// refreshSet refreshes the tables that the watermark row name covers: write rewrites their days
// to recompute and returns the rows written.
func refreshSet(ctx context.Context, tx pgx.Tx, high int64, opts RefreshOptions, name string,
	write func(context.Context, pgx.Tx, recompute) (int64, error)) (RefreshStats, error) {
	var (
		lastID  int64
		covered *time.Time // nil: nothing covered yet, or a full rebuild
		floor   time.Time  // the coverage a full rebuild must keep
	)
	var c time.Time
	err := tx.QueryRow(ctx, "select last_id, covered_until from bdc_analytics.rollup_watermark where rollup = $1 for update",
		name).Scan(&lastID, &c)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return RefreshStats{}, fmt.Errorf("couldn't read the watermark of %s: %w", name, err)
	case opts.Full:
		// Coverage never shrinks, not even on a rebuild: the engine reads it before its
		// statement and relies on every day below it being present.
		lastID, floor = 0, c
	default:
		covered = &c
	}

	var until time.Time
	if opts.Until.IsZero() {
		if err := tx.QueryRow(ctx, "select (now() at time zone "+platformZone+")::date").Scan(&until); err != nil {
			return RefreshStats{}, fmt.Errorf("couldn't read today's date: %w", err)
		}
	} else {
		until = dateOf(opts.Until, platformLocation)
	}
	newCovered := until
	if covered != nil && covered.After(until) {
		newCovered = *covered
	}
	if floor.After(newCovered) {
		newCovered = floor
	}
	newLast := max(lastID, high)

	// Days below the old coverage that received rows since the last refresh.
	touched := []time.Time{}
	if covered != nil && high > lastID {
		rows, err := tx.Query(ctx, `
			select distinct (occurred_at at time zone `+platformZone+`)::date as day
			from bdc.user_activities
			where id > $1 and id <= $2 and occurred_at < ($3::date::timestamp at time zone `+platformZone+`)
			order by day`, lastID, high, *covered)
		if err != nil {
			return RefreshStats{}, fmt.Errorf("couldn't find the days touched since id %d: %w", lastID, err)
		}
		touched, err = pgx.CollectRows(rows, pgx.RowTo[time.Time])
		if err != nil {
			return RefreshStats{}, fmt.Errorf("couldn't find the days touched since id %d: %w", lastID, err)
		}
	}

	// What to recompute: the touched days, and the newly covered range [covered, newCovered).
	a := &sqlArgs{}
	touchedP := a.addTyped(touched, "date[]")
	hiP := a.addTyped(newCovered, "date")
	rangeDel := "day < " + hiP
	rangeRaw := "x.occurred_at < (" + hiP + "::timestamp at time zone " + platformZone + ")"
	if covered != nil {
		loP := a.addTyped(*covered, "date")
		rangeDel = "day >= " + loP + " and " + rangeDel
		rangeRaw = "x.occurred_at >= (" + loP + "::timestamp at time zone " + platformZone + ") and " + rangeRaw
	}
	rows, err := write(ctx, tx, recompute{a: a, touchedP: touchedP, rangeDel: rangeDel, rangeRaw: rangeRaw, first: covered == nil,
		touched: touched, lo: covered, hi: newCovered})
	if err != nil {
		return RefreshStats{}, err
	}
	if _, err := tx.Exec(ctx, `
		insert into bdc_analytics.rollup_watermark (rollup, last_id, covered_until, refreshed_at)
		values ($1, $2, $3, now())
		on conflict (rollup) do update set last_id = excluded.last_id, covered_until = excluded.covered_until,
			refreshed_at = excluded.refreshed_at`, name, newLast, newCovered); err != nil {
		return RefreshStats{}, fmt.Errorf("couldn't advance the watermark of %s: %w", name, err)
	}

	// On a first build, the new days are the days with activity, which the daily rollup
	// (refreshed first) has just written.
	stats := RefreshStats{LastID: newLast, CoveredUntil: newCovered, TouchedDays: len(touched), Rows: rows}
	if covered != nil {
		stats.NewDays = int(newCovered.Sub(*covered).Hours() / 24)
	} else if err := tx.QueryRow(ctx, "select count(distinct day) from bdc_analytics.user_activity_daily").Scan(&stats.NewDays); err != nil {
		return RefreshStats{}, fmt.Errorf("couldn't count the rolled-up days: %w", err)
	}
	return stats, nil
}

// rawRows is a subquery of the raw activity rows of the days to recompute (alias x), with the
// columns cols writes given the expression of the row's day.
func (r recompute) rawRows(cols func(day string) string) string {
	return `select ` + cols("(x.occurred_at at time zone "+platformZone+")::date") + `
			from bdc.user_activities x
			where ` + r.rangeRaw + `
			union all
			select ` + cols("t.day") + `
			from unnest(` + r.touchedP + `) as t(day)
			join bdc.user_activities x
				on x.occurred_at >= (t.day::timestamp at time zone ` + platformZone + `)
				and x.occurred_at < ((t.day + 1)::timestamp at time zone ` + platformZone + `)`
}

// writeDaily rewrites the days of the daily rollup, the hourly one and the events by type. Daily
// rows go in day order, so that a range of days is a range of pages for the queries that read
// columns its indexes do not hold (feature and type counts).
func writeDaily(ctx context.Context, tx pgx.Tx, r recompute) (int64, error) {
	for _, table := range []string{"user_activity_daily", "user_activity_hourly"} {
		if err := r.clear(ctx, tx, table); err != nil {
			return 0, err
		}
	}
	// One statement writes the daily rows and, from the same rows read once, the hourly ones.
	tag, err := tx.Exec(ctx, `
		with base as materialized (
			`+r.rawRows(func(day string) string {
		return "x.user_id, " + day + " as day, x.activity_type, x.feature, x.session_id, x.occurred_at"
	})+`
		),
		hourly as (
			insert into bdc_analytics.user_activity_hourly (user_id, hour, day, events)
			select user_id, date_trunc('hour', occurred_at, 'UTC'), day, count(*) from base group by 1, 2, 3
		),
		daily as (
			select user_id, day, count(*) as n, count(distinct session_id) as sessions,
				min(occurred_at) as first_at, max(occurred_at) as last_at,
				lag(day) over (partition by user_id order by day) as prev
			from base group by user_id, day
		),
		types as (
			select user_id, day, jsonb_object_agg(activity_type, n) as counts
			from (select user_id, day, activity_type, count(*) as n from base group by 1, 2, 3) t
			group by user_id, day
		),
		-- Features met for the first time get the next free bits, in the order met, while
		-- bits remain; the others stay by name.
		known as (
			select feature, bit from bdc_analytics.feature_bits
		),
		fresh as (
			select feature, (select coalesce(max(bit), -1) from known) + row_number() over (order by first_at, feature) as bit
			from (select feature, min(occurred_at) as first_at from base where feature is not null group by feature) f
			where not exists (select 1 from known k where k.feature = f.feature)
		),
		added as (
			insert into bdc_analytics.feature_bits (feature, bit)
			select feature, bit::smallint from fresh where bit <= `+fmt.Sprint(maxFeatureBit)+`
			returning feature, bit
		),
		features as (
			select f.user_id, f.day, jsonb_object_agg(f.feature, f.n) as counts, coalesce(bit_or(1::bigint << b.bit), 0) as mask,
				array_agg(f.feature order by f.feature) filter (where b.bit is null) as extra
			from (select user_id, day, feature, count(*) as n from base where feature is not null group by 1, 2, 3) f
			left join (select feature, bit from known union all select feature, bit from added) b on b.feature = f.feature
			group by f.user_id, f.day
		)
		insert into bdc_analytics.user_activity_daily
			(user_id, day, event_count, session_count, type_counts, feature_counts, first_event_at, last_event_at, prev_day,
			 feature_mask, extra_features)
		select d.user_id, d.day, d.n, d.sessions, t.counts, coalesce(f.counts, '{}'::jsonb), d.first_at, d.last_at, d.prev,
			coalesce(f.mask, 0), f.extra
		from daily d
		join types t on t.user_id = d.user_id and t.day = d.day
		left join features f on f.user_id = d.user_id and f.day = d.day
		order by d.day`, r.a.vals...)
	if err != nil {
		return 0, fmt.Errorf("couldn't write the rollup: %w", err)
	}
	days, args := r.days("d.")
	// The rows just written know their previous day among themselves only: on a first build
	// that is every row, otherwise the users active on those days get their days' previous
	// days again, the later rows' included.
	if !r.first {
		if _, err := tx.Exec(ctx, `
		update bdc_analytics.user_activity_daily t set prev_day = s.prev
		from (
			select o.user_id, o.day, lag(o.day) over (partition by o.user_id order by o.day) as prev
			from bdc_analytics.user_activity_daily o
			where o.user_id in (select d.user_id from bdc_analytics.user_activity_daily d where `+days+`)
		) s
		where t.user_id = s.user_id and t.day = s.day and t.prev_day is distinct from s.prev`, args...); err != nil {
			return 0, fmt.Errorf("couldn't set the previous days of activity: %w", err)
		}
	}
	// The events per day and type of the same days, from the rows just written.
	if err := r.clear(ctx, tx, "activity_type_daily"); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `
		insert into bdc_analytics.activity_type_daily (day, activity_type, events)
		select d.day, t.key, sum(t.value::bigint)
		from bdc_analytics.user_activity_daily d, jsonb_each_text(d.type_counts) as t
		where `+days+`
		group by d.day, t.key`, args...); err != nil {
		return 0, fmt.Errorf("couldn't write the events by type: %w", err)
	}
	if err := writePeriods(ctx, tx, r); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// writePeriods rewrites the weekly and monthly rollups' periods that hold a day just written,
// from their daily rows (every period, and only those, on a first build), with the function of
// migration 014 that filled them from the daily rollup in place. A day recomputed always has
// rows (it is new, or a row was added to it), so its periods are among those rewritten.
func writePeriods(ctx context.Context, tx pgx.Tx, r recompute) error {
	if _, err := tx.Exec(ctx, "select bdc_analytics.write_activity_periods($1, $2, $3)", r.lo, r.hi, r.touched); err != nil {
		return fmt.Errorf("couldn't write the weekly and monthly rollups: %w", err)
	}
	return nil
}

// sessionRuns is the SQL that cuts sessions into runs, for the refresh and for the sessions paths
// rebuild from raw rows: from rows (columns keys, ts, label, id, and code when coded), one row per
// value of keys with labels, starts and runs (the label, first instant and number of events of
// each run of equal consecutive labels), when coded codes and gaps (the string of the runs' codes,
// the seconds from each run's first instant to the next's), and the session's first_at and
// last_at. Events are ordered by time, then label in byte order, then id; the ids are unique, so
// the running count's default frame ends at the current row.
func sessionRuns(rows, keys string, coded bool) string {
	w := `(partition by ` + keys + ` order by ts, label collate "C", id)`
	code, agg := "", ""
	if coded {
		code = `, min(code) as code,
      date_part('epoch', lead(min(ts)) over (partition by ` + keys + ` order by run) - min(ts)) as gap`
		agg = `
    string_agg(code, '' order by run) as codes, coalesce(array_agg(gap order by run) filter (where gap is not null), '{}') as gaps,`
	}
	return `select ` + keys + `, array_agg(label order by run) as labels, array_agg(first_at order by run) as starts,
    array_agg(n order by run) as runs,` + agg + ` min(first_at) as first_at, max(last_at) as last_at
  from (
    select ` + keys + `, run, min(label) as label, min(ts) as first_at, max(ts) as last_at, count(*)::int as n` + code + `
    from (
      select *, count(*) filter (where prev is distinct from label) over ` + w + ` as run
      from (select *, lag(label) over ` + w + ` as prev from (` + rows + `) e) e
    ) e
    group by ` + keys + `, run
  ) g
  group by ` + keys
}

// writeSessions rewrites the days of the session rollup: per user, day and session, the runs of
// equal consecutive activity types, with events ordered as paths order them (occurred_at, then
// activity_type in byte order, then id), with their codes and gaps. Activity types without a
// code get the next ones first, in order of first use: those of the events by type, which the
// daily rollup has just brought to the same days (a type missing there would leave a run without
// a code, which the table's check on the codes' length refuses). Rows go in day order, so that a
// range of days is a range of pages.
func writeSessions(ctx context.Context, tx pgx.Tx, r recompute) (int64, error) {
	if err := r.clear(ctx, tx, "user_session_daily"); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `
		insert into bdc_analytics.activity_type_codes (activity_type, code)
		select activity_type, bdc_analytics.activity_code(
			(select count(*) from bdc_analytics.activity_type_codes) + row_number() over (order by first_day, activity_type) - 1)
		from (select activity_type, min(day) as first_day from bdc_analytics.activity_type_daily group by activity_type) t
		where not exists (select 1 from bdc_analytics.activity_type_codes c where c.activity_type = t.activity_type)`); err != nil {
		return 0, fmt.Errorf("couldn't give the new activity types their codes: %w", err)
	}
	raw := "select x.*, c.code from (" + r.rawRows(func(day string) string {
		return "x.user_id, " + day + " as day, x.session_id, x.occurred_at as ts, x.activity_type as label, x.id"
	}) + ") x left join bdc_analytics.activity_type_codes c on c.activity_type = x.label where x.session_id is not null"
	tag, err := tx.Exec(ctx, `
		insert into bdc_analytics.user_session_daily
			(day, user_id, session_id, first_event_at, last_event_at, labels, starts, runs, codes, gaps)
		select day, user_id, session_id, first_at, last_at, labels, starts, runs, codes, gaps
		from (`+sessionRuns(raw, "user_id, day, session_id", true)+`) s
		order by day`, r.a.vals...)
	if err != nil {
		return 0, fmt.Errorf("couldn't write the session rollup: %w", err)
	}
	// Every row of a session with rows on several days says so, those of days not recomputed
	// included. Rows are only ever added to a session (a Full rebuild starts over), so a flag
	// once set stays true.
	days, args := r.days("d.")
	if _, err := tx.Exec(ctx, `
		update bdc_analytics.user_session_daily s set spans_days = true
		from (
			select o.user_id, o.session_id
			from (select distinct d.user_id, d.session_id from bdc_analytics.user_session_daily d where `+days+`) t
			join bdc_analytics.user_session_daily o on o.user_id = t.user_id and o.session_id = t.session_id
			group by o.user_id, o.session_id
			having count(*) > 1
		) m
		where s.user_id = m.user_id and s.session_id = m.session_id and not s.spans_days`, args...); err != nil {
		return 0, fmt.Errorf("couldn't flag the sessions over several days: %w", err)
	}
	return tag.RowsAffected(), nil
}

// writeInstants rewrites the months of the instants rollup that hold a day to recompute (every
// month on a first build), from raw rows: per activity type or feature, month and user, the
// instants in ascending order. A month's row holds the days before the new coverage only.
// Rows go in the order of the primary key, so that the months of one activity type or feature
// are a range of pages.
func writeInstants(ctx context.Context, tx pgx.Tx, r recompute) (int64, error) {
	a := &sqlArgs{}
	hi := "(" + a.addTyped(r.hi, "date") + "::timestamp at time zone " + platformZone + ")"
	raw := "select x.user_id, x.occurred_at, x.activity_type, x.feature, date_trunc('month', x.occurred_at at time zone " + platformZone +
		")::date as month from bdc.user_activities x where x.occurred_at < " + hi
	if r.first {
		if _, err := tx.Exec(ctx, "delete from bdc_analytics.user_activity_instants"); err != nil {
			return 0, fmt.Errorf("couldn't empty the instants rollup: %w", err)
		}
	} else {
		months := recomputedMonths(r)
		if len(months) == 0 {
			return 0, nil
		}
		if _, err := tx.Exec(ctx, "delete from bdc_analytics.user_activity_instants where month = any($1)", months); err != nil {
			return 0, fmt.Errorf("couldn't delete the months of the instants rollup to recompute: %w", err)
		}
		m := a.addTyped(months, "date[]")
		raw = "select x.user_id, x.occurred_at, x.activity_type, x.feature, m.month from unnest(" + m + ") as m(month)" +
			" join bdc.user_activities x on x.occurred_at >= (m.month::timestamp at time zone " + platformZone + ")" +
			" and x.occurred_at < least(((m.month + interval '1 month')::timestamp at time zone " + platformZone + "), " + hi + ")"
	}
	tag, err := tx.Exec(ctx, `
		insert into bdc_analytics.user_activity_instants (dimension, name, month, user_id, instants)
		select d.dimension, d.name, x.month, x.user_id, array_agg(x.occurred_at order by x.occurred_at)
		from (`+raw+`) x
		cross join lateral (values ('t'::"char", x.activity_type), ('f'::"char", x.feature)) as d(dimension, name)
		where d.name is not null
		group by d.dimension, d.name, x.month, x.user_id
		order by d.dimension, d.name, x.month, x.user_id`, a.vals...)
	if err != nil {
		return 0, fmt.Errorf("couldn't write the instants rollup: %w", err)
	}
	return tag.RowsAffected(), nil
}

// recomputedMonths lists the first days of the Europe/Paris months that hold a day r
// recomputes, in order.
func recomputedMonths(r recompute) []time.Time {
	var months []time.Time
	for _, d := range r.touched {
		months = append(months, periodStart(PeriodMonth, d))
	}
	if r.lo != nil && r.lo.Before(r.hi) {
		for m := periodStart(PeriodMonth, *r.lo); m.Before(r.hi); m = m.AddDate(0, 1, 0) {
			months = append(months, m)
		}
	}
	slices.SortFunc(months, time.Time.Compare)
	return slices.CompactFunc(months, time.Time.Equal)
}

// platformLocation is DefaultTimeZone, embedded with time/tzdata.
var platformLocation = func() *time.Location {
	loc, err := time.LoadLocation(DefaultTimeZone)
	if err != nil {
		panic(err) // time/tzdata is embedded, so this cannot fail
	}
	return loc
}()

// dayReader builds the subqueries that list the days on which users did something, reading the
// rollup for the days it covers. One dayReader serves one statement.
type dayReader struct {
	a    *sqlArgs
	f    Filters
	cut  civil     // the rollup is read for days before cut, raw rows after
	cutT time.Time // first instant of cut in the platform zone
	used bool      // a subquery reads the rollup
	tz   *lazyArg
	to   *lazyArg
	toT  time.Time
}

// newDayReader prepares the subqueries of q. covered is the rollup's coverage (nil: do not read
// the rollup); the rollup is read only up to the day that holds To, since that day may be cut.
func newDayReader(a *sqlArgs, q *Query, covered *time.Time) *dayReader {
	r := &dayReader{a: a, f: q.Filters, tz: a.lazy(q.TimeZone, "text"), to: a.lazy(q.To, "timestamptz"), toT: q.To}
	if covered != nil {
		r.cut = dateOf(q.To, platformLocation)
		if covered.Before(r.cut) {
			r.cut = *covered
		}
		r.cutT = midnight(r.cut, platformLocation)
	}
	return r
}

// days returns a subquery of rows (user_id, day): the calendar day, in the query's zone, of each
// event e before the query's end and, unless lo is zero, at or after lo, the first instant of the
// day loDay. Rows may repeat.
func (r *dayReader) days(e Event, lo time.Time, loDay civil) string {
	return r.dayRows(e, lo, loDay, "")
}

// uniqueDays is days with each (user_id, day) once. The rollup's rows are unique by its primary
// key, which an index-only scan returns in (user_id, day) order; only the raw days after it
// need a distinct.
func (r *dayReader) uniqueDays(e Event, lo time.Time, loDay civil) string {
	return r.dayRows(e, lo, loDay, "distinct ")
}

func (r *dayReader) dayRows(e Event, lo time.Time, loDay civil, distinct string) string {
	raw := func(from time.Time, zone string) string {
		s := sourceOf(r.a, e.Kind, r.f)
		cond := s.cond
		if e.Kind == EventActivity {
			cond = and(cond, activityCond(r.a, e))
		}
		return "select " + distinct + s.user + " as user_id, (" + s.ts + " at time zone " + zone + ")::date as day from " + s.from +
			" where " + and(r.lower(s.ts, from), s.ts+" < "+r.to.String(), cond)
	}
	return r.read(rollupCapable(e), lo, loDay, raw, func(days string) string {
		return "select r.user_id, r.day from bdc_analytics.user_activity_daily r where " + and(days, rollupCond(r.a, e))
	})
}

// activity returns a subquery of rows (user_id, day, n, last_at, mask), one per user and
// calendar day (in the query's zone) with activity from loDay on (lo is its first instant) and
// before the query's end: the number of activity rows, the instant of the last one, and the
// features used that day as bits of bdc_analytics.feature_bits (0 on the days read raw, whose
// features namedFeatures gives).
func (r *dayReader) activity(lo time.Time, loDay civil) string {
	raw := func(from time.Time, zone string) string {
		return "select x.user_id, (x.occurred_at at time zone " + zone + ")::date as day, count(*)::int as n, max(x.occurred_at) as last_at, 0::bigint as mask" +
			" from bdc.user_activities x where " + and(r.lower("x.occurred_at", from), "x.occurred_at < "+r.to.String()) + " group by 1, 2"
	}
	return r.read(true, lo, loDay, raw, func(days string) string {
		return "select r.user_id, r.day, r.event_count as n, r.last_event_at as last_at, r.feature_mask as mask from bdc_analytics.user_activity_daily r where " + days
	})
}

// activitySpans returns a subquery of rows (user_id, days, n, last_at, mask), spans of a user's
// activity that together hold what activity gives for the same days, each of its days once: the
// whole calendar months of the range the rollup covers from the monthly rollup, one row per user
// and month (days: the days active in it), and every other day as activity gives it (days 1).
// Aggregated per user, they give activity's aggregates from about a fifth of the rows.
func (r *dayReader) activitySpans(lo time.Time, loDay civil) string {
	months, ok := r.wholePeriods(PeriodMonth, lo, loDay)
	if !ok {
		return "select x.user_id, 1 as days, x.n, x.last_at, x.mask from (" + r.activity(lo, loDay) + ") x"
	}
	daily := func(from, to civil) string {
		return "select r.user_id, 1 as days, r.event_count as n, r.last_event_at as last_at, r.feature_mask as mask" +
			" from bdc_analytics.user_activity_daily r where r.day >= " + r.a.addTyped(from, "date") + " and r.day < " + r.a.addTyped(to, "date")
	}
	parts := []string{"select r.user_id, r.days, r.events as n, r.last_event_at as last_at, r.feature_mask as mask" +
		" from " + months.table + " r where " + months.cond}
	if loDay.Before(months.first) {
		parts = append(parts, daily(loDay, months.first))
	}
	if months.end.Before(r.cut) {
		parts = append(parts, daily(months.end, r.cut))
	}
	if r.cutT.Before(r.toT) {
		parts = append(parts, "select x.user_id, 1 as days, x.n, x.last_at, x.mask from ("+r.activity(r.cutT, r.cut)+") x")
	}
	return strings.Join(parts, "\n    union all\n    ")
}

// periodSpan is a run of whole calendar weeks or months [first, end) that a period rollup holds,
// its bounds bound once: table is the rollup (periodTable), cond the condition that its row
// (alias r) starts in the run, and endP the parameter of end.
type periodSpan struct {
	first, end  civil
	table, cond string
	endP        string
}

// wholePeriods returns the calendar weeks or months that lie whole in the days from loDay (lo
// its first instant, not zero) that the rollup covers, with ok false when there are none.
// Reading them from the period's rollup notes the rollup as read.
func (r *dayReader) wholePeriods(unit Period, lo time.Time, loDay civil) (span periodSpan, ok bool) {
	if lo.IsZero() || !r.usesRollup(true, lo, loDay) {
		return periodSpan{}, false
	}
	first := periodStart(unit, loDay)
	if first.Before(loDay) {
		first = calendar{period: unit, first: first}.start(1)
	}
	end := periodStart(unit, r.cut)
	if !first.Before(end) {
		return periodSpan{}, false
	}
	r.used = true
	endP := r.a.addTyped(end, "date")
	return periodSpan{first: first, end: end, table: periodTable(unit),
		cond: "r.start >= " + r.a.addTyped(first, "date") + " and r.start < " + endP, endP: endP}, true
}

// periodTable is the rollup of unit, PeriodWeek or PeriodMonth: one row per user and period
// (start, user_id, days, events, last_event_at, feature_mask, feature_counts).
func periodTable(unit Period) string {
	if unit == PeriodWeek {
		return "bdc_analytics.user_activity_weekly"
	}
	return "bdc_analytics.user_activity_monthly"
}

// namedFeatures returns a subquery of rows (user_id, feature), repeated at will, of the features
// used from loDay on (lo is its first instant) and before the query's end that the masks of
// activity do not hold: those without a bit on the days the rollup covers, every feature on the
// days read raw.
func (r *dayReader) namedFeatures(lo time.Time, loDay civil) string {
	raw := func(from time.Time, _ string) string {
		return "select x.user_id, x.feature from bdc.user_activities x where " +
			and(r.lower("x.occurred_at", from), "x.occurred_at < "+r.to.String(), "x.feature is not null")
	}
	return r.read(true, lo, loDay, raw, func(days string) string {
		return "select r.user_id, f.feature from bdc_analytics.user_activity_daily r cross join unnest(r.extra_features) as f(feature)" +
			" where r.extra_features is not null and " + days
	})
}

// featuresBeyondMasks returns a subquery of rows (user_id, day, feature, n), one per user,
// calendar day (in the query's zone) and feature used that day that the masks of activity do not
// hold, from loDay on (lo is its first instant) and before the query's end: n is the number of
// activity rows of the feature. On the days the rollup covers these are the features without a
// bit (extra_features, whose counts feature_counts holds); on the days read raw, every feature.
func (r *dayReader) featuresBeyondMasks(lo time.Time, loDay civil) string {
	raw := func(from time.Time, zone string) string {
		return "select x.user_id, (x.occurred_at at time zone " + zone + ")::date as day, x.feature, count(*)::int as n" +
			" from bdc.user_activities x where " + and(r.lower("x.occurred_at", from), "x.occurred_at < "+r.to.String(), "x.feature is not null") +
			" group by 1, 2, 3"
	}
	return r.read(true, lo, loDay, raw, func(days string) string {
		return "select r.user_id, r.day, f.feature, (r.feature_counts ->> f.feature)::int as n from bdc_analytics.user_activity_daily r" +
			" cross join unnest(r.extra_features) as f(feature) where r.extra_features is not null and " + days
	})
}

// rollupRows returns rollup(days), the subquery that reads the rollup for the days it covers
// from loDay on (lo is its first instant) given the condition on those days (alias r), or ""
// when read would read nothing from the rollup: the rollup part alone of read(true, lo, loDay,
// …).
func (r *dayReader) rollupRows(lo time.Time, loDay civil, rollup func(days string) string) string {
	if !r.usesRollup(true, lo, loDay) {
		return ""
	}
	return rollup(r.rollupDays(lo, loDay))
}

// prevDays returns subqueries of rows (user_id, day, prev_day), together one per user and day
// with activity from loDay on and before the query's end, prev_day being the user's previous
// day with activity (null on their first), when e is any activity and the rollup covers loDay;
// nil otherwise. The first reads the rollup's rows, which carry their previous day; a second,
// when the rollup stops before the query's end, reads the days after it raw, each taking the
// one before among them or else the user's last in the rollup (one index lookup per user).
// They are apart so that a statement can aggregate the first in parallel.
func (r *dayReader) prevDays(e Event, loDay civil) []string {
	if e.Kind != EventActivity || e.ActivityType != "" || e.Feature != "" || !r.usesRollup(true, midnight(loDay, platformLocation), loDay) {
		return nil
	}
	end := r.rollupEnd()
	parts := []string{"select r.user_id, r.day, r.prev_day from bdc_analytics.user_activity_daily r where r.day >= " +
		r.a.addTyped(loDay, "date") + " and r.day < " + end}
	if r.cutT.Before(r.toT) {
		parts = append(parts, `select t.user_id, t.day, coalesce(t.prev, l.day) as prev_day
    from (
      select d.user_id, d.day, lag(d.day) over (partition by d.user_id order by d.day) as prev
      from (select distinct x.user_id, (x.occurred_at at time zone `+platformZone+`)::date as day from bdc.user_activities x
        where x.occurred_at >= `+r.a.addTyped(r.cutT, "timestamptz")+` and x.occurred_at < `+r.to.String()+`) d
    ) t
    cross join lateral (select max(o.day) as day from bdc_analytics.user_activity_daily o
      where t.prev is null and o.user_id = t.user_id and o.day < `+end+`) l`)
	}
	return parts
}

// usesRollup reports whether read reads the rollup, given the same arguments.
func (r *dayReader) usesRollup(capable bool, lo time.Time, loDay civil) bool {
	return !r.cut.IsZero() && capable && (lo.IsZero() || r.cut.After(loDay))
}

// daysFromRollup reports whether days(e, lo, loDay) reads the rollup, whose rows come in
// (user_id, day) order without a sort.
func (r *dayReader) daysFromRollup(e Event, lo time.Time, loDay civil) bool {
	return r.usesRollup(rollupCapable(e), lo, loDay)
}

// rollupAlone reports whether read, given the same arguments, reads the rollup and nothing raw:
// the rollup covers every day up to the query's end. Then rollupDays bounds the rollup's days.
func (r *dayReader) rollupAlone(capable bool, lo time.Time, loDay civil) bool {
	return r.usesRollup(capable, lo, loDay) && !r.cutT.Before(r.toT)
}

// rollupEnd is the SQL parameter of the first day the rollup is not read for (the query's end
// or the rollup's coverage), and notes the rollup as read.
func (r *dayReader) rollupEnd() string {
	r.used = true
	return r.a.addTyped(r.cut, "date")
}

// lower is the condition "ts at or after from", or none when from is zero.
func (r *dayReader) lower(ts string, from time.Time) string {
	if from.IsZero() {
		return ""
	}
	return ts + " >= " + r.a.addTyped(from, "timestamptz")
}

// read returns rows from the rollup for the days it covers and from raw rows for the days after:
// rollup writes the rollup's subquery given the condition on its days (alias r), raw the raw
// one from an instant (zero: from the start) with days cut in a zone. capable says whether the
// rollup can answer at all; lo and loDay bound the days as for days.
func (r *dayReader) read(capable bool, lo time.Time, loDay civil, raw func(from time.Time, zone string) string, rollup func(days string) string) string {
	if !r.usesRollup(capable, lo, loDay) {
		return raw(lo, r.tz.String())
	}
	parts := []string{rollup(r.rollupDays(lo, loDay))}
	if r.cutT.Before(r.toT) {
		parts = append(parts, raw(r.cutT, platformZone))
	}
	return strings.Join(parts, "\n    union all\n    ")
}

// rollupDays is the condition on the rollup's days (alias r) that read and rollupRows read, and
// notes the rollup as read.
func (r *dayReader) rollupDays(lo time.Time, loDay civil) string {
	r.used = true
	days := "r.day < " + r.a.addTyped(r.cut, "date")
	if !lo.IsZero() {
		days = "r.day >= " + r.a.addTyped(loDay, "date") + " and " + days
	}
	return days
}
