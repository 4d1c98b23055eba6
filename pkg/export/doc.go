// Package export turns a source of the platform's data (a canonical table or an analytics
// result) into files an analyst opens: CSV, JSON, JSON Lines, XLSX, Parquet, XML or YAML.
//
// An export is described by a Spec: the source, a filter (columns, a time range, predicates as
// structured {column, op, value} triples whose values are always bound parameters, never SQL
// text), transforms (anonymize PII with a keyed hash, drop, rename, derive) and a format. Rows
// stream from a PostgreSQL cursor in a read-only transaction through the transforms to the
// format's writer, so memory does not grow with the row count; a file is split into numbered
// parts before a format's row limit (XLSX: 1,048,576 rows per sheet, header included). Every
// export also writes a sidecar metadata file with the row count, the schema, the SHA-256 of
// each part and a data-quality score (see Quality).
//
// Files are written under temporary names in their final folder and published together by
// renaming (Staging), so a reader never sees a partial file, whatever happens to the process.
//
// The package only reads the platform's data; it never writes to the database, and it never
// builds SQL from user text: column names come from the source catalogue and values are bound.
package export
