package export_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// readCase is an export whose output must equal the rows of a reference query.
type readCase struct {
	name  string
	spec  export.Spec
	key   []byte
	query string // the expected output rows, columns in output order
}

var hashKey = []byte("test key: not secret")

func readCases() []readCase {
	return []readCase{
		{
			name: "evaluations",
			spec: export.Spec{Source: "evaluations", Derive: []export.Derive{
				{Name: "started_day", Func: "date", Args: []string{"started_at"}},
				{Name: "days_to_complete", Func: "days_between", Args: []string{"started_at", "completed_at"}},
			}},
			query: `select id, beneficiary_id, assessment, score, max_score, started_at, completed_at,
				(started_at at time zone 'Europe/Paris')::date as started_day,
				(extract(epoch from completed_at - started_at) / 86400)::float8 as days_to_complete
				from bdc.evaluations order by id`,
		},
		{
			name:  "appointments",
			spec:  export.Spec{Source: "appointments", Where: []export.Predicate{{Column: "channel", Op: "in", Value: []any{"video", "phone"}}}},
			query: `select * from bdc.appointments where channel in ('video', 'phone') order by id`,
		},
		{
			name:  "support_tickets",
			spec:  export.Spec{Source: "support_tickets", Rename: map[string]string{"category": "topic"}},
			query: `select id, user_id, category as topic, opened_at, resolved_at from bdc.support_tickets order by id`,
		},
		{
			name: "users",
			spec: export.Spec{Source: "users", Columns: []string{"id", "email", "role", "is_active"},
				Derive: []export.Derive{{Name: "domain", Func: "email_domain", Args: []string{"email"}}}},
			key:   hashKey,
			query: `select id, email, role, is_active, lower(split_part(email, '@', 2)) as domain from bdc.users order by id`,
		},
	}
}

// expected returns the reference rows, with the users' e-mail replaced by its HMAC computed here.
func expected(t *testing.T, c readCase) ([]string, [][]any) {
	names, rows := reference(t, db(t), c.query)
	if c.name == "users" {
		for _, r := range rows {
			mac := hmac.New(sha256.New, c.key)
			mac.Write([]byte(r[1].(string)))
			r[1] = hex.EncodeToString(mac.Sum(nil))
		}
	}
	return names, rows
}

// TestFormatsReadBack exports each case to every format and reads every file back with an
// independent reader: Go's encoding/csv, encoding/json, encoding/xml and yaml.v3 for the text
// formats, LibreOffice (soffice --convert-to csv) for XLSX and hyparquet (JavaScript) for
// Parquet. What they read must equal the reference rows.
func TestFormatsReadBack(t *testing.T) {
	d := db(t)
	soffice := testtools.Path(t, "soffice")
	node, script := hyparquet(t)
	var xlsx []xlsxCheck
	for _, c := range readCases() {
		names, want := expected(t, c)
		if len(want) == 0 {
			t.Fatalf("%s: the reference query returned no rows", c.name)
		}
		for _, format := range export.FormatNames() {
			spec := c.spec
			spec.Format = format
			dir, md := run(t, d, spec, c.key)
			if md.Rows != int64(len(want)) {
				t.Errorf("%s/%s: metadata says %d rows, want %d", c.name, format, md.Rows, len(want))
			}
			if got := md.Schema.Names(); !equalStrings(got, names) {
				t.Fatalf("%s/%s: schema %v, want %v", c.name, format, got, names)
			}
			files := dataFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("%s/%s: files %v, want one", c.name, format, files)
			}
			checkChecksum(t, files[0], md.Files[0])
			if format == "xlsx" {
				xlsx = append(xlsx, xlsxCheck{c.name, files[0], md.Schema, want})
				continue
			}
			var got [][]any
			var err error
			switch format {
			case "csv":
				got, err = readCSV(files[0], md.Schema, parseText)
			case "json":
				got, err = readJSON(files[0], md.Schema, false)
			case "jsonl":
				got, err = readJSON(files[0], md.Schema, true)
			case "xml":
				got, err = readXML(files[0], md.Schema)
			case "yaml":
				got, err = readYAML(files[0], md.Schema)
			case "parquet":
				got, err = readParquet(node, script, files[0], md.Schema)
			default:
				t.Fatalf("no reader for %s", format)
			}
			if err != nil {
				t.Fatalf("%s/%s: reading back %s: %v", c.name, format, files[0], err)
			}
			if format == "csv" {
				compareRows(t, c.name+"/"+format, md.Schema, got, csvNormalized(want))
				continue
			}
			compareRows(t, c.name+"/"+format, md.Schema, got, want)
		}
	}
	checkXLSX(t, soffice, xlsx)
}

type xlsxCheck struct {
	name   string
	file   string
	schema export.Schema
	want   [][]any
}

// checkXLSX converts every XLSX file with one LibreOffice run and compares the CSV it writes.
func checkXLSX(t *testing.T, soffice string, checks []xlsxCheck) {
	out := t.TempDir()
	args := []string{"-env:UserInstallation=file://" + filepath.Join(out, "profile"), "--headless",
		"--convert-to", `csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true`, "--outdir", out}
	for _, c := range checks {
		args = append(args, c.file)
	}
	cmd := exec.CommandContext(t.Context(), soffice, args...)
	cmd.Env = append(os.Environ(), "HOME="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice --convert-to csv: %v\n%s", err, b)
	}
	for _, c := range checks {
		converted := filepath.Join(out, strings.TrimSuffix(filepath.Base(c.file), ".xlsx")+".csv")
		got, err := readCSV(converted, c.schema, parseXLSXText)
		if err != nil {
			t.Fatalf("%s/xlsx: reading LibreOffice's CSV: %v", c.name, err)
		}
		compareRows(t, c.name+"/xlsx", c.schema, got, csvNormalized(c.want))
	}
}

// csvNormalized returns want with CRLF inside texts turned into LF, as encoding/csv reads a
// quoted CRLF ("carriage returns before newline characters are silently removed").
func csvNormalized(want [][]any) [][]any {
	out := make([][]any, len(want))
	for i, r := range want {
		out[i] = make([]any, len(r))
		for j, v := range r {
			if s, ok := v.(string); ok {
				v = strings.ReplaceAll(s, "\r\n", "\n")
			}
			out[i][j] = v
		}
	}
	return out
}

func checkChecksum(t *testing.T, path string, fi export.FileInfo) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != fi.SHA256 || int64(len(data)) != fi.Bytes || filepath.Base(path) != fi.Name {
		t.Errorf("%s: metadata %+v does not match the file (%d bytes, sha256 %x)", path, fi, len(data), sum)
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

// compareRows checks got against want cell by cell: timestamps as instants, floats to 1e-12
// relative (a derived float is computed by Go on one side and PostgreSQL on the other).
func compareRows(t *testing.T, what string, schema export.Schema, got, want [][]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows read back, want %d", what, len(got), len(want))
		return
	}
	bad := 0
	for i := range want {
		for j, col := range schema {
			if !sameValue(col.Type, got[i][j], want[i][j]) {
				if bad++; bad <= 5 {
					t.Errorf("%s: row %d column %s: read %#v, want %#v", what, i, col.Name, got[i][j], want[i][j])
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d cells differ", what, bad)
	}
}

func sameValue(typ export.Type, got, want any) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	switch typ {
	case export.Float:
		g, w := got.(float64), want.(float64)
		return g == w || math.Abs(g-w) <= 1e-12*math.Max(1, math.Abs(w))
	case export.Timestamp:
		return got.(time.Time).Equal(want.(time.Time))
	case export.Date:
		g, w := got.(time.Time), want.(time.Time)
		return g.Year() == w.Year() && g.YearDay() == w.YearDay()
	}
	return got == want
}

// parseText reads a cell of the text formats (CSV, XML): the forms the package documents.
func parseText(t export.Type, s string, present bool) (any, error) {
	if !present {
		return nil, nil
	}
	switch t {
	case export.String:
		return s, nil
	case export.Int:
		return strconv.ParseInt(s, 10, 64)
	case export.Float:
		return strconv.ParseFloat(s, 64)
	case export.Bool:
		return strconv.ParseBool(s)
	case export.Timestamp:
		return time.Parse(time.RFC3339Nano, s)
	case export.Date:
		return time.Parse(time.DateOnly, s)
	}
	return nil, fmt.Errorf("unknown type %s", t)
}

// parseXLSXText reads a cell of LibreOffice's CSV of an XLSX sheet: timestamps are wall-clock
// times in Europe/Paris as the sheet's number format shows them, booleans TRUE and FALSE.
func parseXLSXText(t export.Type, s string, present bool) (any, error) {
	switch t {
	case export.Timestamp:
		if !present {
			return nil, nil
		}
		return time.ParseInLocation(time.DateTime, s, paris)
	case export.Bool:
		if !present {
			return nil, nil
		}
		return strconv.ParseBool(strings.ToLower(s))
	}
	return parseText(t, s, present)
}

// readCSV reads a CSV file: an empty field is a null, except in text columns (CSV cannot tell
// an empty text from a null; the package quotes empty texts, which encoding/csv does not report).
func readCSV(path string, schema export.Schema, parse func(export.Type, string, bool) (any, error)) ([][]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(records) == 0 || !equalStrings(records[0], schema.Names()) {
		return nil, fmt.Errorf("header %v, want %v", records[:min(1, len(records))], schema.Names())
	}
	var out [][]any
	for _, rec := range records[1:] {
		row := make([]any, len(schema))
		for j, col := range schema {
			v, err := parse(col.Type, rec[j], rec[j] != "" || col.Type == export.String)
			if err != nil {
				return nil, fmt.Errorf("row %d column %s: %w", len(out), col.Name, err)
			}
			row[j] = v
		}
		out = append(out, row)
	}
	return out, nil
}

func readJSON(path string, schema export.Schema, lines bool) ([][]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objects []map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if lines {
		for {
			var o map[string]any
			if err := dec.Decode(&o); err == io.EOF {
				break
			} else if err != nil {
				return nil, err
			}
			objects = append(objects, o)
		}
		if n := bytes.Count(data, []byte("\n")); n != len(objects) {
			return nil, fmt.Errorf("%d lines for %d objects", n, len(objects))
		}
	} else if err := dec.Decode(&objects); err != nil {
		return nil, err
	}
	var out [][]any
	for _, o := range objects {
		if len(o) != len(schema) {
			return nil, fmt.Errorf("object with %d keys, want %d", len(o), len(schema))
		}
		row := make([]any, len(schema))
		for j, col := range schema {
			var err error
			switch v := o[col.Name].(type) {
			case nil:
			case json.Number:
				row[j], err = parseText(col.Type, v.String(), true)
			case string:
				row[j], err = parseText(col.Type, v, true)
			case bool:
				row[j] = v
			default:
				err = fmt.Errorf("unexpected %T", v)
			}
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", col.Name, err)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func readXML(path string, schema export.Schema) ([][]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type cell struct {
		XMLName xml.Name
		Nil     string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
		Text    string `xml:",chardata"`
	}
	var doc struct {
		XMLName xml.Name `xml:"export"`
		Source  string   `xml:"source,attr"`
		Rows    []struct {
			Cells []cell `xml:",any"`
		} `xml:"row"`
	}
	if err := xml.NewDecoder(f).Decode(&doc); err != nil {
		return nil, err
	}
	var out [][]any
	for _, r := range doc.Rows {
		if len(r.Cells) != len(schema) {
			return nil, fmt.Errorf("row with %d elements, want %d", len(r.Cells), len(schema))
		}
		row := make([]any, len(schema))
		for j, col := range schema {
			c := r.Cells[j]
			if c.XMLName.Local != col.Name {
				return nil, fmt.Errorf("element %s where %s was expected", c.XMLName.Local, col.Name)
			}
			v, err := parseText(col.Type, c.Text, c.Nil != "true")
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", col.Name, err)
			}
			row[j] = v
		}
		out = append(out, row)
	}
	return out, nil
}

func readYAML(path string, schema export.Schema) ([][]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objects []map[string]any
	if err := yaml.Unmarshal(data, &objects); err != nil {
		return nil, err
	}
	var out [][]any
	for _, o := range objects {
		row := make([]any, len(schema))
		for j, col := range schema {
			v, ok := o[col.Name]
			if !ok {
				return nil, fmt.Errorf("no key %s", col.Name)
			}
			switch x := v.(type) {
			case nil:
			case int:
				if col.Type == export.Float {
					row[j] = float64(x)
				} else {
					row[j] = int64(x)
				}
			case float64, bool, time.Time:
				row[j] = x
			case string:
				if col.Type != export.String {
					if row[j], err = parseText(col.Type, x, true); err != nil {
						return nil, fmt.Errorf("column %s: %w", col.Name, err)
					}
				} else {
					row[j] = x
				}
			default:
				return nil, fmt.Errorf("column %s: unexpected %T", col.Name, v)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func readParquet(node, script, path string, schema export.Schema) ([][]any, error) {
	cmd := exec.Command(node, script, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("hyparquet: %w\n%s", err, stderr.String())
	}
	var res struct {
		Columns []struct {
			Name    string `json:"name"`
			Logical string `json:"logical"`
		} `json:"columns"`
		Rows []map[string]any `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return nil, err
	}
	if len(res.Columns) != len(schema) {
		return nil, fmt.Errorf("%d columns, want %d", len(res.Columns), len(schema))
	}
	for j, c := range res.Columns {
		if c.Name != schema[j].Name {
			return nil, fmt.Errorf("column %d is %s, want %s (order kept)", j, c.Name, schema[j].Name)
		}
	}
	var out [][]any
	for _, o := range res.Rows {
		row := make([]any, len(schema))
		for j, col := range schema {
			switch v := o[col.Name].(type) {
			case nil:
			case bool:
				row[j] = v
			case json.Number:
				row[j], err = parseText(col.Type, v.String(), true)
			case string:
				switch {
				case strings.HasPrefix(v, "us:"):
					var us int64
					us, err = strconv.ParseInt(v[3:], 10, 64)
					row[j] = time.UnixMicro(us)
				case strings.HasPrefix(v, "days:"):
					var days int64
					days, err = strconv.ParseInt(v[5:], 10, 64)
					row[j] = time.Unix(days*86400, 0).UTC()
				default:
					row[j], err = parseText(col.Type, v, true)
				}
			default:
				err = fmt.Errorf("unexpected %T", v)
			}
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", col.Name, err)
			}
		}
		out = append(out, row)
	}
	return out, nil
}
