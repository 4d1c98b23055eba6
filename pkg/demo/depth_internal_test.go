package demo

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestDeeperSessionsChangeNothingElse generates a platform at the default session depth and at
// depth 8: every table but the activity log is identical, the default activity rows come in
// the same order within the deeper log, and the log grows as the depth says.
func TestDeeperSessionsChangeNothingElse(t *testing.T) {
	base := Config{Users: 400, Days: 200, Seed: 3, End: time.Date(2026, 6, 1, 0, 0, 0, 0, Location)}
	deep := base
	deep.SessionDepth = 8
	for _, c := range []*Config{&base, &deep} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	pb, pd := newPlan(base), newPlan(deep)
	blocks := [][2]*block{
		{pb.staffBlock(0, pb.trainers+pb.admins), pd.staffBlock(0, pd.trainers+pd.admins)},
		{pb.beneficiaryBlock(0, pb.beneficiaries), pd.beneficiaryBlock(0, pd.beneficiaries)},
	}
	var logins, baseEvents, deepEvents int
	for _, b := range blocks {
		for tb := range numTables {
			if tb == tActivities {
				continue
			}
			if !reflect.DeepEqual(b[0].rows[tb], b[1].rows[tb]) {
				t.Errorf("%s differs with deeper sessions", tableSpecs[tb].name.Sanitize())
			}
		}
		// The default rows, ids aside (they are block-local indexes), are a subsequence of the
		// deeper ones.
		key := func(row []any) string { return fmt.Sprint(row[1:]) }
		deeper := b[1].rows[tActivities]
		j := 0
		for _, row := range b[0].rows[tActivities] {
			for j < len(deeper) && key(deeper[j]) != key(row) {
				j++
			}
			if j == len(deeper) {
				t.Fatalf("default activity %v is missing from the deeper log", row[1:])
			}
			j++
			if row[3] == ActivityLogin {
				logins++
			}
		}
		baseEvents += len(b[0].rows[tActivities])
		deepEvents += len(deeper)
	}
	// Visits capped at one action (bookings, attendances) do not deepen; the others gain
	// depth-2 actions on average: the log grows by about 6 per uncapped visit.
	gained := float64(deepEvents-baseEvents) / float64(logins)
	t.Logf("%d events at depth 2, %d at depth 8 (%d visits, %.2f more actions per visit)", baseEvents, deepEvents, logins, gained)
	if gained < 3 || gained > 6.5 {
		t.Errorf("%.2f more actions per visit at depth 8, want about 6 per uncapped visit", gained)
	}
	if err := (&Config{Users: 400, Days: 200, SessionDepth: 1.5}).Validate(); err == nil {
		t.Error("a session depth below the default validated")
	}
}
