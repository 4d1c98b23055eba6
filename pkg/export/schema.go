package export

// Type is the type of a column's values, which every format needs to know to encode them.
type Type string

// Column types and the Go type of their values in a Row (nil is a null of any type).
const (
	// Int values are int64.
	Int Type = "int"
	// Float values are float64.
	Float Type = "float"
	// String values are string.
	String Type = "string"
	// Bool values are bool.
	Bool Type = "bool"
	// Timestamp values are time.Time instants, written in the export's time zone.
	Timestamp Type = "timestamp"
	// Date values are time.Time at midnight UTC: a calendar day, without a zone.
	Date Type = "date"
)

// Column describes a column of an export's output.
type Column struct {
	Name     string `json:"name"`
	Type     Type   `json:"type"`
	Nullable bool   `json:"nullable"`
	// From says how the column was made when it is not the source column of the same name:
	// "email" for a renamed column, "hmac-sha256(email)", "days_between(booked_at, scheduled_at)".
	From string `json:"from,omitempty"`
}

// Schema is the ordered list of an export's columns.
type Schema []Column

// Names returns the column names in order.
func (s Schema) Names() []string {
	names := make([]string, len(s))
	for i, c := range s {
		names[i] = c.Name
	}
	return names
}

// Index returns the position of the named column, or -1.
func (s Schema) Index(name string) int {
	for i, c := range s {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Row holds one value per column of a Schema, of the Go type its column's Type names. Rows handed
// to writers and callbacks are reused: copy what must outlive the call.
type Row []any
