package export_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// at is the instant the tests export at: the end of the seeded history.
var at = testdb.Scale.End

var paris, _ = time.LoadLocation("Europe/Paris")

// nastyCategories are support-ticket categories that every format must carry unchanged.
var nastyCategories = []string{
	"a,b", `quote"d`, "line\nbreak", "cr\r\nlf", "ünïcödé ✓ 日本", "  leading space", "", "<xml>&amp;</xml>",
	"true", "null", "0012", "'single'", "tab\there", "- dash", "# hash", "key: value", "\u2028sep", "é\u00a0nbsp",
}

var (
	nastyOnce sync.Once
	nastyErr  error
)

// db returns the package's database, with the nasty support tickets inserted once.
func db(t *testing.T) *testdb.Database {
	t.Helper()
	d := testdb.Get(t)
	nastyOnce.Do(func() {
		ctx := context.Background()
		for _, c := range nastyCategories {
			if _, err := d.DB.Pool.Exec(ctx, `insert into bdc.support_tickets (user_id, category, opened_at)
				values ((select min(id) from bdc.users), $1, $2)`, c, at.Add(-time.Hour)); err != nil {
				nastyErr = err
				return
			}
		}
	})
	if nastyErr != nil {
		t.Fatal(nastyErr)
	}
	return d
}

// run compiles spec and exports it at `at` into a fresh folder, publishing the files; it returns
// the folder and the metadata.
func run(t *testing.T, d *testdb.Database, spec export.Spec, key []byte) (string, *export.Metadata) {
	t.Helper()
	plan, err := export.Compile(spec, key, nil, "")
	if err != nil {
		t.Fatalf("compile %+v: %v", spec, err)
	}
	dir := t.TempDir()
	st, err := export.NewStaging(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	ex := &export.Exporter{DB: d.DB}
	md, err := ex.Run(t.Context(), plan, at, st, export.FileStem(plan, at))
	if err != nil {
		_ = st.Discard()
		t.Fatalf("export %s as %s: %v", spec.Source, spec.Format, err)
	}
	if _, err := st.Publish(); err != nil {
		t.Fatal(err)
	}
	return dir, md
}

// reference reads a query with plain pgx, converting values to the export's Go types: the rows an
// export must hold, computed without the package.
func reference(t *testing.T, d *testdb.Database, query string, args ...any) ([]string, [][]any) {
	t.Helper()
	rows, err := d.DB.Pool.Query(t.Context(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for _, f := range rows.FieldDescriptions() {
		names = append(names, f.Name)
	}
	var out [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			switch x := v.(type) {
			case int16:
				vals[i] = int64(x)
			case int32:
				vals[i] = int64(x)
			}
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names, out
}

var (
	hyparquetOnce sync.Once
	hyparquetDir  string
	hyparquetErr  error
)

// hyparquetVersion is the pinned version of the independent Parquet reader.
const hyparquetVersion = "1.33.0"

// hyparquet returns a folder holding node_modules/hyparquet and the reading script, installing
// the npm package into the tools cache (BDC_TOOLS_DIR, as scripts/tools.sh) when it is missing.
func hyparquet(t *testing.T) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the Parquet read-back needs Node.js (node) on PATH: %v", err)
	}
	hyparquetOnce.Do(func() {
		cache := os.Getenv("BDC_TOOLS_DIR")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "bdc-tools")
		}
		dir := filepath.Join(cache, "npm", "hyparquet-"+hyparquetVersion)
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "hyparquet", "package.json")); err != nil {
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				hyparquetErr = err
				return
			}
			tmp, err := os.MkdirTemp(filepath.Dir(dir), ".install-")
			if err != nil {
				hyparquetErr = err
				return
			}
			defer os.RemoveAll(tmp)
			out, err := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", tmp, "hyparquet@"+hyparquetVersion).CombinedOutput()
			if err != nil {
				hyparquetErr = errors.New("npm install hyparquet: " + err.Error() + "\n" + string(out))
				return
			}
			_ = os.RemoveAll(dir)
			if err := os.Rename(tmp, dir); err != nil {
				hyparquetErr = err
				return
			}
		}
		src, err := os.ReadFile(filepath.Join("testdata", "read_parquet.mjs"))
		if err == nil {
			// The script sits next to node_modules so that Node resolves 'hyparquet' there.
			err = os.WriteFile(filepath.Join(dir, "read_parquet.mjs"), src, 0o644)
		}
		hyparquetDir, hyparquetErr = dir, err
	})
	if hyparquetErr != nil {
		t.Fatalf("couldn't install the Parquet reader: %v", hyparquetErr)
	}
	return node, filepath.Join(hyparquetDir, "read_parquet.mjs")
}

// dataFiles lists the published export files of a folder (not the sidecars), sorted.
func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), export.MetadataSuffix) && !export.IsStaged(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}
