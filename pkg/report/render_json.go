package report

import (
	"encoding/json"
	"io"
)

// writeJSON writes the document model itself, indented.
func writeJSON(doc *Document, w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
