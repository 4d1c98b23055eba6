package analytics_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bdc-analytics/bdc/pkg/analytics"
	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

type rollupRow struct {
	events, sessions int
	types, features  map[string]int
	first, last      time.Time
	prev             string // the user's previous day with activity, "" on the first
	mask             int64  // feature_mask and extra_features, checked against features
	extra            []string
}

type rollupKey struct {
	user int64
	day  string
}

// wantRollup aggregates the raw activity in Go: per user and Paris day before until.
func wantRollup(t *testing.T, conn *pgx.Conn, until time.Time) map[rollupKey]*rollupRow {
	t.Helper()
	rows, err := conn.Query(t.Context(), "select user_id, occurred_at, activity_type, feature, session_id from bdc.user_activities")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[rollupKey]*rollupRow{}
	sessions := map[rollupKey]map[string]bool{}
	for rows.Next() {
		var (
			uid     int64
			at      time.Time
			typ     string
			feature *string
			session *string
		)
		if err := rows.Scan(&uid, &at, &typ, &feature, &session); err != nil {
			t.Fatal(err)
		}
		local := at.In(paris)
		if !local.Before(until) {
			continue
		}
		k := rollupKey{uid, local.Format(time.DateOnly)}
		r := out[k]
		if r == nil {
			r = &rollupRow{types: map[string]int{}, features: map[string]int{}, first: at, last: at}
			out[k] = r
			sessions[k] = map[string]bool{}
		}
		r.events++
		r.types[typ]++
		if feature != nil {
			r.features[*feature]++
		}
		if session != nil {
			sessions[k][*session] = true
		}
		if at.Before(r.first) {
			r.first = at
		}
		if at.After(r.last) {
			r.last = at
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for k, s := range sessions {
		out[k].sessions = len(s)
	}
	byUser := map[int64][]string{}
	for k := range out {
		byUser[k.user] = append(byUser[k.user], k.day)
	}
	for user, days := range byUser {
		slices.Sort(days)
		for i := 1; i < len(days); i++ {
			out[rollupKey{user, days[i]}].prev = days[i-1]
		}
	}
	return out
}

func gotRollup(t *testing.T, conn *pgx.Conn) map[rollupKey]*rollupRow {
	t.Helper()
	rows, err := conn.Query(t.Context(), `select user_id, day, event_count, session_count, type_counts, feature_counts,
		first_event_at, last_event_at, coalesce(prev_day::text, ''), feature_mask, extra_features from bdc_analytics.user_activity_daily`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[rollupKey]*rollupRow{}
	for rows.Next() {
		var (
			uid          int64
			d            time.Time
			r            rollupRow
			types, feats []byte
		)
		if err := rows.Scan(&uid, &d, &r.events, &r.sessions, &types, &feats, &r.first, &r.last, &r.prev, &r.mask, &r.extra); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(types, &r.types); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(feats, &r.features); err != nil {
			t.Fatal(err)
		}
		out[rollupKey{uid, d.Format(time.DateOnly)}] = &r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkRollup(t *testing.T, conn *pgx.Conn, until time.Time) {
	t.Helper()
	want, got := wantRollup(t, conn, until), gotRollup(t, conn)
	if len(got) != len(want) {
		t.Fatalf("rollup has %d user-days, want %d", len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if g == nil {
			t.Fatalf("rollup lacks user %d on %s", k.user, k.day)
		}
		if g.events != w.events || g.sessions != w.sessions || !maps.Equal(g.types, w.types) || !maps.Equal(g.features, w.features) ||
			!g.first.Equal(w.first) || !g.last.Equal(w.last) || g.prev != w.prev {
			t.Fatalf("rollup of user %d on %s = %+v, want %+v", k.user, k.day, g, w)
		}
	}
	bits := checkFeatureBits(t, conn, got)
	checkPeriods(t, conn, want, bits)
	checkHourly(t, conn, until)
	checkSessions(t, conn, until)
	checkInstants(t, conn, until)
}

// checkInstants compares the instants rollup with the raw rows of the Europe/Paris days before
// until: per activity type and per feature, month and user, every instant in ascending order.
func checkInstants(t *testing.T, conn *pgx.Conn, until time.Time) {
	t.Helper()
	type key struct {
		dim, name, month string
		user             int64
	}
	want := map[key][]time.Time{}
	rows, err := conn.Query(t.Context(), "select user_id, occurred_at, activity_type, coalesce(feature, '') from bdc.user_activities")
	if err != nil {
		t.Fatal(err)
	}
	var (
		user         int64
		at           time.Time
		typ, feature string
		end          = until.Format(time.DateOnly)
	)
	if _, err := pgx.ForEachRow(rows, []any{&user, &at, &typ, &feature}, func() error {
		local := at.In(paris)
		if local.Format(time.DateOnly) >= end {
			return nil
		}
		month := local.Format("2006-01") + "-01"
		for _, k := range []key{{"t", typ, month, user}, {"f", feature, month, user}} {
			if k.dim == "t" || k.name != "" { // a feature only when the row has one
				want[k] = append(want[k], at)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := map[key][]time.Time{}
	rows, err = conn.Query(t.Context(), "select dimension::text, name, month::text, user_id, instants from bdc_analytics.user_activity_instants")
	if err != nil {
		t.Fatal(err)
	}
	var (
		k  key
		ts []time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.dim, &k.name, &k.month, &k.user, &ts}, func() error {
		got[k] = ts
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("instants rollup has %d rows, want %d", len(got), len(want))
	}
	for k, w := range want {
		slices.SortFunc(w, time.Time.Compare)
		if g, ok := got[k]; !ok || !slices.EqualFunc(g, w, time.Time.Equal) {
			t.Fatalf("instants rollup of %+v = %v, want %v", k, g, w)
		}
	}
}

// checkFeatureBits checks that each rollup row's features are those of its mask, by the bits
// of bdc_analytics.feature_bits, and of its extra_features, those without a bit, in order. It
// returns the bits.
func checkFeatureBits(t *testing.T, conn *pgx.Conn, got map[rollupKey]*rollupRow) map[string]int {
	t.Helper()
	rows, err := conn.Query(t.Context(), "select feature, bit from bdc_analytics.feature_bits")
	if err != nil {
		t.Fatal(err)
	}
	bits := map[string]int{}
	for rows.Next() {
		var (
			f string
			b int
		)
		if err := rows.Scan(&f, &b); err != nil {
			t.Fatal(err)
		}
		bits[f] = b
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for k, r := range got {
		var mask int64
		var extra []string
		for f := range r.features {
			if b, ok := bits[f]; ok {
				mask |= 1 << b
			} else {
				extra = append(extra, f)
			}
		}
		slices.Sort(extra)
		if r.mask != mask || !slices.Equal(r.extra, extra) {
			t.Fatalf("rollup of user %d on %s: feature mask %b and extra features %q, want %b and %q for %v",
				k.user, k.day, r.mask, r.extra, mask, extra, r.features)
		}
	}
	return bits
}

// checkPeriods compares the weekly and monthly rollups with the user-days of want (from the raw
// rows) summed per user and Monday week or month in Go: days, events, last event, the bits of the
// features used and the feature counts.
func checkPeriods(t *testing.T, conn *pgx.Conn, want map[rollupKey]*rollupRow, bits map[string]int) {
	t.Helper()
	type period struct {
		days, events int
		last         time.Time
		mask         int64
		features     map[string]int
	}
	for _, unit := range []struct {
		table string
		start func(day time.Time) time.Time
	}{
		{"user_activity_weekly", func(d time.Time) time.Time { return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) }},
		{"user_activity_monthly", func(d time.Time) time.Time { return d.AddDate(0, 0, 1-d.Day()) }},
	} {
		wantP := map[rollupKey]*period{}
		for k, r := range want {
			d, err := time.Parse(time.DateOnly, k.day)
			if err != nil {
				t.Fatal(err)
			}
			pk := rollupKey{k.user, unit.start(d).Format(time.DateOnly)}
			p := wantP[pk]
			if p == nil {
				p = &period{last: r.last, features: map[string]int{}}
				wantP[pk] = p
			}
			p.days++
			p.events += r.events
			if r.last.After(p.last) {
				p.last = r.last
			}
			for f, n := range r.features {
				p.features[f] += n
				if b, ok := bits[f]; ok {
					p.mask |= 1 << b
				}
			}
		}
		rows, err := conn.Query(t.Context(), "select user_id, start::text, days, events, last_event_at, feature_mask, feature_counts from bdc_analytics."+unit.table)
		if err != nil {
			t.Fatal(err)
		}
		got := map[rollupKey]period{}
		var (
			k rollupKey
			p period
		)
		if _, err := pgx.ForEachRow(rows, []any{&k.user, &k.day, &p.days, &p.events, &p.last, &p.mask, &p.features}, func() error {
			got[k] = p
			p.features = nil
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(wantP) {
			t.Fatalf("%s has %d rows, want %d", unit.table, len(got), len(wantP))
		}
		for k, w := range wantP {
			g, ok := got[k]
			if !ok || g.days != w.days || g.events != w.events || !g.last.Equal(w.last) || g.mask != w.mask || !maps.Equal(g.features, w.features) {
				t.Fatalf("%s of user %d from %s = %+v (present %v), want %+v", unit.table, k.user, k.day, g, ok, *w)
			}
		}
	}
}

// checkSessions compares the session rollup with the raw rows of the Europe/Paris days before
// until, cut into runs in Go: per user, day and session, events in order of time, activity type
// (bytes) and id, consecutive events of one type making one run.
func checkSessions(t *testing.T, conn *pgx.Conn, until time.Time) {
	t.Helper()
	type key struct {
		user         int64
		day, session string
	}
	type event struct {
		at  time.Time
		typ string
		id  int64
	}
	type row struct {
		first, last time.Time
		labels      []string
		starts      []time.Time
		runs        []int32
		codes       string
		gaps        []float64
	}
	events := map[key][]event{}
	rows, err := conn.Query(t.Context(), "select id, user_id, occurred_at, activity_type, session_id from bdc.user_activities where session_id is not null")
	if err != nil {
		t.Fatal(err)
	}
	var (
		k  key
		ev event
	)
	end := until.Format(time.DateOnly)
	if _, err := pgx.ForEachRow(rows, []any{&ev.id, &k.user, &ev.at, &ev.typ, &k.session}, func() error {
		if k.day = ev.at.In(paris).Format(time.DateOnly); k.day < end {
			events[k] = append(events[k], ev)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[key]row{}
	for k, evs := range events {
		slices.SortFunc(evs, func(a, b event) int {
			return cmp.Or(a.at.Compare(b.at), strings.Compare(a.typ, b.typ), cmp.Compare(a.id, b.id))
		})
		r := row{first: evs[0].at, last: evs[len(evs)-1].at}
		for i, e := range evs {
			if i > 0 && e.typ == evs[i-1].typ {
				r.runs[len(r.runs)-1]++
				continue
			}
			r.labels, r.starts, r.runs = append(r.labels, e.typ), append(r.starts, e.at), append(r.runs, 1)
		}
		want[k] = r
	}
	codes := map[string]string{} // activity type by code
	rows, err = conn.Query(t.Context(), "select code, activity_type from bdc_analytics.activity_type_codes")
	if err != nil {
		t.Fatal(err)
	}
	var code, typ string
	if _, err := pgx.ForEachRow(rows, []any{&code, &typ}, func() error {
		codes[code] = typ
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := map[key]row{}
	rows, err = conn.Query(t.Context(), `select user_id, day::text, session_id, first_event_at, last_event_at, labels, starts, runs, codes, gaps
		from bdc_analytics.user_session_daily`)
	if err != nil {
		t.Fatal(err)
	}
	var r row
	if _, err := pgx.ForEachRow(rows, []any{&k.user, &k.day, &k.session, &r.first, &r.last, &r.labels, &r.starts, &r.runs, &r.codes, &r.gaps}, func() error {
		got[k] = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("session rollup has %d rows, want %d", len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || !g.first.Equal(w.first) || !g.last.Equal(w.last) || !slices.Equal(g.labels, w.labels) || !slices.Equal(g.runs, w.runs) ||
			!slices.EqualFunc(g.starts, w.starts, time.Time.Equal) {
			t.Fatalf("session rollup of %+v = %+v, want %+v", k, g, w)
		}
		// The codes name the labels, one character each; the gaps are the seconds between the
		// runs' starts.
		var named []string
		for _, c := range g.codes {
			named = append(named, codes[string(c)])
		}
		gaps := []float64{}
		for i := 1; i < len(w.starts); i++ {
			gaps = append(gaps, w.starts[i].Sub(w.starts[i-1]).Seconds())
		}
		if !slices.Equal(named, w.labels) || !slices.EqualFunc(g.gaps, gaps, closeEnough) {
			t.Fatalf("session rollup of %+v: codes %q (%q) and gaps %v, want %q and %v", k, g.codes, named, g.gaps, w.labels, gaps)
		}
	}
}

// checkHourly compares the hourly rollup with the raw rows of the Europe/Paris days before
// until, counted per user and UTC hour in Go.
func checkHourly(t *testing.T, conn *pgx.Conn, until time.Time) {
	t.Helper()
	type key struct {
		user int64
		hour time.Time
	}
	type row struct {
		day    string
		events int
	}
	want := map[key]row{}
	rows, err := conn.Query(t.Context(), "select user_id, occurred_at from bdc.user_activities")
	if err != nil {
		t.Fatal(err)
	}
	var user int64
	var at time.Time
	end := until.Format(time.DateOnly)
	if _, err := pgx.ForEachRow(rows, []any{&user, &at}, func() error {
		d := at.In(paris).Format(time.DateOnly)
		if d >= end {
			return nil
		}
		k := key{user, at.UTC().Truncate(time.Hour)}
		w := want[k]
		w.day, w.events = d, w.events+1
		want[k] = w
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := map[key]row{}
	rows, err = conn.Query(t.Context(), "select user_id, hour, day::text, events from bdc_analytics.user_activity_hourly")
	if err != nil {
		t.Fatal(err)
	}
	var k key
	var r row
	if _, err := pgx.ForEachRow(rows, []any{&k.user, &k.hour, &r.day, &r.events}, func() error {
		k.hour = k.hour.UTC()
		got[k] = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("hourly rollup has %d user-hours, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("hourly rollup of user %d at %s = %+v, want %+v", k.user, k.hour, got[k], w)
		}
	}
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertActivityErr(ctx context.Context, conn execer, user int64, at time.Time, typ, feature string) error {
	_, err := conn.Exec(ctx, `insert into bdc.user_activities (user_id, occurred_at, activity_type, feature, session_id)
		values ($1, $2, $3, $4, $5)`, user, at, typ, feature, fmt.Sprintf("late-%d-%d", user, at.Unix()))
	return err
}

func insertActivity(t *testing.T, conn execer, user int64, at time.Time, typ, feature string) {
	t.Helper()
	if err := insertActivityErr(t.Context(), conn, user, at, typ, feature); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshRollupsIncrementalAndExact(t *testing.T) {
	ctx := t.Context()
	d, err := testdb.Create(ctx, "rollup", demo.Config{Users: 120, Days: 40, Seed: 3, End: day(2026, 6, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.Background()) })
	conn, err := pgx.Connect(ctx, d.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	var user int64
	if err := conn.QueryRow(ctx, "select user_id from bdc.beneficiaries order by id limit 1").Scan(&user); err != nil {
		t.Fatal(err)
	}

	// First refresh: every day before May 20 is new.
	st, err := analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: day(2026, 5, 20)})
	if err != nil {
		t.Fatal(err)
	}
	if st.NewDays < 15 || st.TouchedDays != 0 || st.Rows == 0 || !st.CoveredUntil.Equal(time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("first refresh: %+v", st)
	}
	checkRollup(t, conn, day(2026, 5, 20))

	// The same refresh again finds nothing to do.
	st, err = analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: day(2026, 5, 20)})
	if err != nil || st.NewDays != 0 || st.TouchedDays != 0 || st.Rows != 0 {
		t.Fatalf("idle refresh: %+v, %v", st, err)
	}
	checkRollup(t, conn, day(2026, 5, 20))

	// Late rows for two covered days (one for a user-day that had no activity) and one beyond
	// the coverage: only the two covered days are recomputed.
	insertActivity(t, conn, user, time.Date(2026, 5, 10, 23, 30, 0, 0, paris), "login", "dashboard")
	insertActivity(t, conn, user, time.Date(2026, 5, 2, 0, 10, 0, 0, paris), "message", "messaging")
	insertActivity(t, conn, user, time.Date(2026, 5, 25, 9, 0, 0, 0, paris), "login", "dashboard")
	st, err = analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: day(2026, 5, 20)})
	if err != nil || st.TouchedDays != 2 || st.NewDays != 0 {
		t.Fatalf("late-rows refresh: %+v, %v", st, err)
	}
	checkRollup(t, conn, day(2026, 5, 20))

	// Extending the coverage rolls up the new days, the late row of May 25 with them; an
	// earlier Until never shrinks it.
	st, err = analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: day(2026, 6, 2)})
	if err != nil || st.NewDays != 13 {
		t.Fatalf("extending refresh: %+v, %v", st, err)
	}
	checkRollup(t, conn, day(2026, 6, 2))
	st, err = analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: day(2026, 5, 1)})
	if err != nil || !st.CoveredUntil.Equal(time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("refresh with an earlier Until: %+v, %v", st, err)
	}
	checkRollup(t, conn, day(2026, 6, 2))

	// A writer in flight when the refresh starts, holding a lower id than a row already
	// committed: the refresh waits for it, so its row is not left below the new watermark.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insertActivity(t, tx, user, time.Date(2026, 5, 12, 12, 0, 0, 0, paris), "assessment", "assessments")
	insertActivity(t, d.DB.Pool, user, time.Date(2026, 5, 13, 12, 0, 0, 0, paris), "resource_view", "resources")
	done := make(chan error, 1)
	go func() {
		_, err := analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: day(2026, 6, 2)})
		done <- err
	}()
	waitForLockWait(t, d)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkRollup(t, conn, day(2026, 6, 2))

	// Migration 009 creates the hourly rollup on a database whose daily rollup already covers
	// days: it fills those days from the same rows. Taking it down and up again here must give
	// back the hourly rows the refreshes wrote. Migration 010's session rollup starts empty, with
	// no coverage of its own; the next refresh builds it whole, and only it (with the instants
	// rollup of migration 016, likewise). Migration 011 gives
	// the rows in place their previous days, and 014 the weekly and monthly rows of the days in place
	// (checkRollup compares them).
	if err := d.DB.MigrateTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := d.DB.MigrateTo(ctx, store.LatestSchemaVersion()); err != nil {
		t.Fatal(err)
	}
	checkHourly(t, conn, day(2026, 6, 2))
	st, err = analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Until: day(2026, 6, 2)})
	if err != nil || st.NewDays != 0 || st.Rows != 0 || st.SessionRows == 0 || st.InstantRows == 0 {
		t.Fatalf("refresh after migration 010: %+v, %v", st, err)
	}
	checkRollup(t, conn, day(2026, 6, 2))

	// Concurrent refreshes (with the default Until: today by the database clock, after all of
	// this history) serialise on the advisory lock and agree.
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 4 {
		wg.Go(func() {
			_, err := analytics.RefreshRollups(ctx, d.DB)
			errs <- err
		})
	}
	wg.Go(func() {
		errs <- insertActivityErr(ctx, d.DB.Pool, user, time.Date(2026, 5, 3, 8, 0, 0, 0, paris), "login", "profile")
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	last, err := analytics.RefreshRollups(ctx, d.DB) // the insert may have landed after the others
	if err != nil {
		t.Fatal(err)
	}
	var today time.Time
	if err := conn.QueryRow(ctx, "select (now() at time zone 'Europe/Paris')::date").Scan(&today); err != nil {
		t.Fatal(err)
	}
	todayParis := day(today.Year(), int(today.Month()), today.Day())
	checkRollup(t, conn, todayParis)
	// A full rebuild gives the same, and keeps the coverage even when asked for less.
	st, err = analytics.RefreshRollupsWith(ctx, d.DB, analytics.RefreshOptions{Full: true, Until: day(2026, 5, 1)})
	if err != nil || !st.CoveredUntil.Equal(last.CoveredUntil) {
		t.Fatalf("full refresh: %+v, %v", st, err)
	}
	checkRollup(t, conn, todayParis)

	// A platform with more features than bits: the refresh gives the features it meets the bits
	// left and keeps the others by name, and engagement counts them all, with the rollup or not.
	for i := range 70 {
		insertActivity(t, conn, user, time.Date(2026, 5, 28, 9, i, 0, 0, paris), "page_view", fmt.Sprintf("feature_%02d", i))
	}
	if _, err := analytics.RefreshRollups(ctx, d.DB); err != nil {
		t.Fatal(err)
	}
	checkRollup(t, conn, todayParis)
	var extra int
	if err := conn.QueryRow(ctx, "select count(*) from bdc_analytics.user_activity_daily where extra_features is not null").Scan(&extra); err != nil || extra != 1 {
		t.Fatalf("%d rows with extra features (%v), want 1", extra, err)
	}
	eq := analytics.EngagementQuery{Query: analytics.Query{From: day(2026, 5, 1), To: day(2026, 6, 2)}, IncludeScores: true, Limit: 5}
	withE, withoutE := withAndWithoutRollup(t, d, func(e *analytics.Engine) (*analytics.EngagementResult, error) {
		return e.Engagement(ctx, eq)
	})
	if !withE.Executed.Rollup || withE.FeaturesInUse < 70 || withE.FeaturesInUse != withoutE.FeaturesInUse ||
		!slices.EqualFunc(withE.Scores, withoutE.Scores, func(a, b analytics.EngagementScore) bool {
			return a.UserID == b.UserID && a.Features == b.Features && a.ActiveDays == b.ActiveDays && a.Events == b.Events
		}) {
		t.Fatalf("engagement with the rollup (%d features in use) differs from without (%d)", withE.FeaturesInUse, withoutE.FeaturesInUse)
	}
	fq := analytics.FeatureUsageQuery{Query: eq.Query, Period: analytics.PeriodWeek}
	withF, withoutF := withAndWithoutRollup(t, d, func(e *analytics.Engine) (*analytics.FeatureUsageResult, error) {
		return e.FeatureUsage(ctx, fq)
	})
	if !withF.Executed.Rollup || len(withF.Features) < 70 || withF.ActiveUsers != withoutF.ActiveUsers || !slices.Equal(withF.Features, withoutF.Features) {
		t.Fatalf("feature usage with the rollup (%d features, %d active) differs from without (%d, %d):\n%+v\n%+v",
			len(withF.Features), withF.ActiveUsers, len(withoutF.Features), withoutF.ActiveUsers, withF.Features, withoutF.Features)
	}

	// And queries agree with and without the rollup on this changed history.
	q := analytics.RetentionQuery{Query: analytics.Query{From: day(2026, 4, 25), To: day(2026, 6, 1)}, Period: "day",
		TotalIntervals: 10, RetentionType: "retention_recurring", TargetEntity: ev("activity:login"), ReturningEntity: ev("activity")}
	with, without := withAndWithoutRollup(t, d, func(e *analytics.Engine) (*analytics.RetentionResult, error) {
		return e.Retention(ctx, q)
	})
	if !with.Executed.Rollup || without.Executed.Rollup {
		t.Fatalf("rollup use: with %v, without %v", with.Executed.Rollup, without.Executed.Rollup)
	}
	compareRetention(t, with, without.Cohorts)
}

// withAndWithoutRollup runs a query with an engine that reads the rollups and with one that
// does not.
func withAndWithoutRollup[R any](t *testing.T, d *testdb.Database, run func(*analytics.Engine) (R, error)) (with, without R) {
	t.Helper()
	with, err := run(analytics.NewEngine(d.DB))
	if err != nil {
		t.Fatal(err)
	}
	without, err = run(&analytics.Engine{DB: d.DB, NoRollup: true})
	if err != nil {
		t.Fatal(err)
	}
	return with, without
}

// waitForLockWait returns once a session of the database waits for a lock on
// bdc.user_activities (the refresh behind the open writer).
func waitForLockWait(t *testing.T, d *testdb.Database) {
	t.Helper()
	for range 1500 {
		var waiting bool
		if err := d.DB.Pool.QueryRow(t.Context(), `select exists (select 1 from pg_locks
			where not granted and relation = 'bdc.user_activities'::regclass)`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the refresh never waited for the open writer")
}
