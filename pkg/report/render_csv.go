package report

import (
	"archive/zip"
	"encoding/csv"
	"io"
)

// writeCSVZip writes one CSV file per section that has a table, named after the section
// (01_kpis.csv), zipped. Headers are the columns' titles; values are plain (plainValue).
func writeCSVZip(doc *Document, w io.Writer) error {
	z := zip.NewWriter(w)
	loc := doc.Location()
	for _, s := range doc.Sections {
		if s.Table == nil {
			continue
		}
		f, err := z.CreateHeader(&zip.FileHeader{Name: s.Name + ".csv", Method: zip.Deflate, Modified: doc.GeneratedAt})
		if err != nil {
			return err
		}
		cw := csv.NewWriter(f)
		header := make([]string, len(s.Table.Columns))
		for i, c := range s.Table.Columns {
			header[i] = c.Title
		}
		if err := cw.Write(header); err != nil {
			return err
		}
		for _, row := range s.Table.Rows {
			rec := make([]string, len(row))
			for i, c := range row {
				rec[i] = plainValue(c, loc)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	}
	return z.Close()
}
