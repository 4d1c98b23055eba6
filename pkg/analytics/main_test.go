package analytics_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/demo"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// ownPlatform seeds a platform of the test's own, dropped after it, for tests that add crafted
// rows, and returns it with the user ids of its first n beneficiaries.
func ownPlatform(t *testing.T, prefix string, cfg demo.Config, n int) (*testdb.Database, []int64) {
	t.Helper()
	ctx := t.Context()
	d, err := testdb.Create(ctx, prefix, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Drop(context.WithoutCancel(ctx)) })
	rows, err := d.DB.Pool.Query(ctx, "select user_id from bdc.beneficiaries order by user_id limit $1", n)
	if err != nil {
		t.Fatal(err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(users) < n {
		t.Fatalf("beneficiaries %v: %v", users, err)
	}
	return d, users
}
