package report_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/bdc-analytics/bdc/pkg/export"
	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/report"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

// render writes doc in every format into a new folder and returns the files by format.
func render(t *testing.T, doc *report.Document, name string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	st, err := export.NewStaging(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := report.ParseFormats(report.FormatNames())
	if err != nil {
		t.Fatal(err)
	}
	files, err := report.Write(doc, fs, st, report.FileStem(name, doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Publish(); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, f := range fs {
		out[f.Name] = filepath.Join(dir, files[i].Name)
	}
	return out
}

// TestExecutiveSummaryReadBack builds the executive summary (with a promoted no-show model) and
// reads every format back with an independent reader: pdftotext for the PDF, LibreOffice for the
// XLSX, an HTML5 parser for the HTML, archive/zip and encoding/csv for the CSV, encoding/json
// for the JSON. Each shows the KPI values the brute-force reference computes.
func TestExecutiveSummaryReadBack(t *testing.T) {
	promoteNoShow(t)
	tmpl, err := report.LookupTemplate("executive_summary")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := builder(t).Build(t.Context(), tmpl, report.Params{At: at})
	if err != nil {
		t.Fatal(err)
	}
	files := render(t, doc, "executive_summary")
	if filepath.Base(files["pdf"]) != "executive_summary_2026-05-25.pdf" {
		t.Errorf("PDF named %s", files["pdf"])
	}
	// The KPI table's values are the reference's.
	kpis := doc.Sections[0].Table
	var shown []string
	for _, row := range kpis.Rows {
		metric := row[column(t, kpis, "metric")].Text
		want := expectedKPI(t, metric, kpi.Params{At: doc.Period.To})
		cur := row[column(t, kpis, "current")]
		if !sameFloat(cur.Float(), want) {
			t.Errorf("%s = %v, reference %v", metric, cur.Float(), want)
		}
		shown = append(shown, cur.Text)
	}
	if len(shown) < 9 {
		t.Fatalf("%d KPI rows, want at least 9", len(shown))
	}
	predictions := doc.Sections[len(doc.Sections)-1]
	if predictions.Table == nil || len(predictions.Table.Rows) == 0 {
		t.Fatalf("no appointment at risk listed: %+v", predictions)
	}

	checkPDF(t, files["pdf"], doc, shown)
	checkHTML(t, files["html"], doc, shown)
	checkCSVZip(t, files["csv"], doc)
	checkJSON(t, files["json"], doc)
	checkXLSX(t, files["xlsx"], doc)
}

func checkPDF(t *testing.T, path string, doc *report.Document, values []string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), testtools.Path(t, "pdftotext"), "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := string(out)
	want := []string{doc.Title, doc.Period.Label, "Page 1 of"}
	for _, s := range doc.Sections {
		want = append(want, s.Title)
	}
	want = append(want, values...)
	// The riskiest appointment's id and risk, as the predictions table lists it.
	risk := doc.Sections[len(doc.Sections)-1].Table.Rows[0]
	want = append(want, risk[0].Text, risk[3].Text)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("pdftotext does not find %q", w)
		}
	}
	if t.Failed() {
		t.Logf("pdftotext:\n%s", text)
	}
}

func checkHTML(t *testing.T, path string, doc *report.Document, values []string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	root, err := html.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the HTML does not parse: %v", err)
	}
	svgs, charts := 0, 0
	var text strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "svg":
				svgs++
			case "script", "link", "img", "iframe", "object", "embed":
				t.Errorf("the HTML has a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if (a.Key == "href" || a.Key == "src" || strings.HasSuffix(a.Key, ":href")) && !strings.HasPrefix(v, "#") {
					t.Errorf("<%s %s=%q> refers outside the file", n.Data, a.Key, a.Val)
				}
				if strings.Contains(v, "url(") && !strings.Contains(v, "url(#") && !strings.Contains(v, "url(data:") {
					t.Errorf("<%s %s=%q> loads a resource", n.Data, a.Key, a.Val)
				}
			}
		}
		if n.Type == html.TextNode {
			if strings.Contains(n.Data, "@import") || strings.Contains(n.Data, "http://") && n.Parent != nil && n.Parent.Data == "style" {
				t.Errorf("a style loads a resource: %q", n.Data)
			}
			text.WriteString(n.Data)
			text.WriteString("\n")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	for _, s := range doc.Sections {
		charts += len(s.Charts)
	}
	if svgs != charts || charts == 0 {
		t.Errorf("%d inline <svg>, want one per chart (%d)", svgs, charts)
	}
	for _, w := range append([]string{doc.Title, doc.Period.Label}, values...) {
		if !strings.Contains(text.String(), w) {
			t.Errorf("the HTML does not show %q", w)
		}
	}
}

func checkCSVZip(t *testing.T, path string, doc *report.Document) {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	byName := map[string]*zip.File{}
	for _, f := range z.File {
		byName[f.Name] = f
	}
	for _, s := range doc.Sections {
		if s.Table == nil {
			continue
		}
		f := byName[s.Name+".csv"]
		if f == nil {
			t.Errorf("the zip has no %s.csv (it has %v)", s.Name, byName)
			continue
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(r).ReadAll()
		r.Close()
		if err != nil {
			t.Fatalf("%s.csv: %v", s.Name, err)
		}
		if len(recs) != len(s.Table.Rows)+1 {
			t.Errorf("%s.csv: %d records, want the header and %d rows", s.Name, len(recs), len(s.Table.Rows))
			continue
		}
		for j, c := range s.Table.Columns {
			if recs[0][j] != c.Title {
				t.Errorf("%s.csv: header %q, want %q", s.Name, recs[0][j], c.Title)
			}
		}
		for i, row := range s.Table.Rows {
			for j, c := range row {
				compareCell(t, fmt.Sprintf("%s.csv row %d col %d", s.Name, i, j), recs[i+1][j], c, doc)
			}
		}
	}
}

// compareCell checks a value read back as text against the document's cell.
func compareCell(t *testing.T, what, got string, c report.Cell, doc *report.Document) {
	t.Helper()
	switch v := c.Value.(type) {
	case nil:
		if got != "" {
			t.Errorf("%s: %q, want empty", what, got)
		}
	case float64, int64:
		// LibreOffice keeps a percentage's sign even when writing raw values.
		f, err := strconv.ParseFloat(strings.TrimSuffix(got, "%"), 64)
		if strings.HasSuffix(got, "%") {
			f /= 100
		}
		if err != nil || !sameFloat(f, c.Float()) {
			t.Errorf("%s: %q, want %v", what, got, v)
		}
	case string:
		if got != v {
			t.Errorf("%s: %q, want %q", what, got, v)
		}
	case time.Time:
		layout := time.RFC3339
		if c.Unit == report.UnitDate {
			layout = time.DateOnly
		}
		if got != v.In(doc.Location()).Format(layout) {
			t.Errorf("%s: %q, want %s", what, got, v)
		}
	}
}

func checkJSON(t *testing.T, path string, doc *report.Document) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Document
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("the JSON does not decode: %v", err)
	}
	if back.Title != doc.Title || back.Period.Label != doc.Period.Label || len(back.Sections) != len(doc.Sections) ||
		!back.GeneratedAt.Equal(doc.GeneratedAt) {
		t.Fatalf("JSON document %q %q with %d sections", back.Title, back.Period.Label, len(back.Sections))
	}
	for k, s := range doc.Sections {
		if s.Table == nil {
			continue
		}
		bt := back.Sections[k].Table
		for i, row := range s.Table.Rows {
			for j, c := range row {
				g := bt.Rows[i][j]
				if g.Text != c.Text {
					t.Errorf("JSON %s row %d col %d: %q, want %q", s.Name, i, j, g.Text, c.Text)
				}
				if _, num := c.Value.(float64); num && !sameFloat(g.Float(), c.Float()) {
					t.Errorf("JSON %s row %d col %d: %v, want %v", s.Name, i, j, g.Value, c.Value)
				}
			}
		}
	}
}

// checkXLSX converts every sheet to CSV with LibreOffice (raw values, not as shown) and compares
// the tables' cells with the document's.
func checkXLSX(t *testing.T, path string, doc *report.Document) {
	t.Helper()
	soffice := testtools.Path(t, "soffice")
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), soffice, "-env:UserInstallation=file://"+filepath.Join(out, "profile"), "--headless",
		"--convert-to", `csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1`, "--outdir", out, path)
	cmd.Env = append(os.Environ(), "HOME="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice --convert-to csv: %v\n%s", err, b)
	}
	base := strings.TrimSuffix(filepath.Base(path), ".xlsx")
	entries, _ := os.ReadDir(out)
	var sheets []string
	for _, e := range entries {
		sheets = append(sheets, e.Name())
	}
	for k, s := range doc.Sections {
		if s.Table == nil {
			continue
		}
		prefix := fmt.Sprintf("%s-%d ", base, k+1)
		var file string
		for _, name := range sheets {
			if strings.HasPrefix(name, prefix) && strings.HasSuffix(name, ".csv") {
				file = filepath.Join(out, name)
			}
		}
		if file == "" {
			t.Errorf("LibreOffice wrote no sheet for section %d (%s): %v", k+1, s.Title, sheets)
			continue
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		const header = 3 // the table's header row, 0-based (row 4 of the sheet)
		if len(recs) < header+1+len(s.Table.Rows) || recs[0][0] != s.Title {
			t.Errorf("%s: %d records, first %q", file, len(recs), recs[0])
			continue
		}
		for j, c := range s.Table.Columns {
			if recs[header][j] != c.Title {
				t.Errorf("%s: header %q, want %q", file, recs[header][j], c.Title)
			}
		}
		for i, row := range s.Table.Rows {
			for j, c := range row {
				if _, isTime := c.Value.(time.Time); isTime {
					continue // a date's raw value is a serial day number
				}
				compareCell(t, fmt.Sprintf("%s row %d col %d", filepath.Base(file), i, j), recs[header+1+i][j], c, doc)
			}
		}
	}
}
