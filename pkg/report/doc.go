// Package report makes the reporter's reports: a template (built in, or custom in YAML) lists
// sections from a catalogue (KPI table, trend chart, cohort matrix, funnel, journeys, segments,
// forecast, predictions, insights, text); a Builder turns it, for a period, a time zone and
// filters, into a Document read from the database; renderers write that document as PDF (built
// natively with fpdf, charts drawn by gonum/plot), one self-contained HTML file (inline SVG
// charts), XLSX (one sheet per section, native Excel charts), CSV (one file per section, zipped)
// and JSON (the document itself).
//
// The document is the boundary: building reads the database (and Prometheus for KPI history when
// asked) and nothing else; rendering is pure, from the document alone, so every format shows the
// same figures. Each data section holds one table, and its charts are drawn from that table's
// columns, so the XLSX charts are native charts over the very cells of the sheet and the CSV of a
// section is the data behind its charts.
//
// The package reads only: the platform's data through pkg/kpi, pkg/analytics and pkg/predict's
// read functions, insights through their store. Reports carry no personal data: appointments and
// beneficiaries appear by id, never by name or e-mail. Files go into the export.Staging the
// caller gives, which publishes them atomically.
package report
