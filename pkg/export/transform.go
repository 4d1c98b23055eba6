package export

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"
)

// PII policies: what happens to the columns a source marks as personal data (users.email).
const (
	// PIIAnonymize replaces each value with its keyed hash (HMAC-SHA-256 under the export hash
	// key, hex): equal values stay equal, so exports still join, but the value cannot be read
	// back or guessed without the key. The default when a key is configured.
	PIIAnonymize = "anonymize"
	// PIIDrop leaves the columns out. The default without a key.
	PIIDrop = "drop"
	// PIIKeep exports them as they are; it has to be asked for.
	PIIKeep = "keep"
)

// Derive adds a column computed from source columns, which need not be exported themselves:
// derive email_domain from email, then drop email.
type Derive struct {
	Name string   `yaml:"name" json:"name"`
	Func string   `yaml:"func" json:"func"`
	Args []string `yaml:"args" json:"args"`
}

// deriveFunc is one function of the derive catalogue.
type deriveFunc struct {
	doc  string
	args [][]Type // accepted types of each argument
	out  Type
	fn   func(args []any, loc *time.Location) any // args are non-nil
}

var timeTypes = []Type{Timestamp, Date}

// DeriveFuncs documents the derive catalogue: name → what it computes.
func DeriveFuncs() map[string]string {
	out := map[string]string{}
	for name, f := range deriveFuncs {
		out[name] = f.doc
	}
	return out
}

var deriveFuncs = map[string]deriveFunc{
	"date": {"the calendar day of a timestamp in the export's time zone", [][]Type{{Timestamp}}, Date,
		func(a []any, loc *time.Location) any {
			t := a[0].(time.Time).In(loc)
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}},
	"year": {"the year, in the export's time zone", [][]Type{timeTypes}, Int,
		func(a []any, loc *time.Location) any { return int64(localTime(a[0], loc).Year()) }},
	"month": {"the month, 1 to 12", [][]Type{timeTypes}, Int,
		func(a []any, loc *time.Location) any { return int64(localTime(a[0], loc).Month()) }},
	"weekday": {"the ISO weekday, 1 (Monday) to 7 (Sunday)", [][]Type{timeTypes}, Int,
		func(a []any, loc *time.Location) any { return int64((int(localTime(a[0], loc).Weekday())+6)%7 + 1) }},
	"hour": {"the hour of day, 0 to 23, in the export's time zone", [][]Type{{Timestamp}}, Int,
		func(a []any, loc *time.Location) any { return int64(localTime(a[0], loc).Hour()) }},
	"email_domain": {"the part of an e-mail address after the @, lower-cased", [][]Type{{String}}, String,
		func(a []any, _ *time.Location) any {
			_, domain, ok := strings.Cut(a[0].(string), "@")
			if !ok {
				return nil
			}
			return strings.ToLower(domain)
		}},
	"lower": {"the text in lower case", [][]Type{{String}}, String,
		func(a []any, _ *time.Location) any { return strings.ToLower(a[0].(string)) }},
	"upper": {"the text in upper case", [][]Type{{String}}, String,
		func(a []any, _ *time.Location) any { return strings.ToUpper(a[0].(string)) }},
	"days_between": {"days from the first timestamp to the second (fractional; negative when earlier)", [][]Type{timeTypes, timeTypes}, Float,
		func(a []any, _ *time.Location) any { return a[1].(time.Time).Sub(a[0].(time.Time)).Hours() / 24 }},
	"minutes_between": {"minutes from the first timestamp to the second", [][]Type{timeTypes, timeTypes}, Float,
		func(a []any, _ *time.Location) any { return a[1].(time.Time).Sub(a[0].(time.Time)).Minutes() }},
}

func localTime(v any, loc *time.Location) time.Time {
	t := v.(time.Time)
	if t.Location() == time.UTC && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t // a date: its day is its own, in no zone
	}
	return t.In(loc)
}

// checkName refuses names that some format cannot carry as a column name: an identifier of
// letters, digits and underscores, starting with a letter or an underscore, at most 63 bytes
// (PostgreSQL's limit).
func checkName(name string) error {
	if name == "" || len(name) > 63 {
		return fmt.Errorf("%q is not a column name (1 to 63 letters, digits or underscores)", name)
	}
	for i := range len(name) {
		if !isIdentByte(name[i], i == 0) {
			return fmt.Errorf("%q is not a column name (letters, digits and underscores, not starting with a digit)", name)
		}
	}
	return nil
}

// output says how one output column is made from a read row.
type output struct {
	read int  // the read column copied or anonymized; -1 for derived columns
	hash bool // anonymize
	fn   *deriveFunc
	args []int // read columns of the derive function
}

// pipeline applies the transforms to a read row.
type pipeline struct {
	outputs []output
	mac     hash.Hash
	loc     *time.Location
	out     Row
	sum     []byte
	hexbuf  []byte
}

func newPipeline(outputs []output, key []byte, loc *time.Location) *pipeline {
	p := &pipeline{outputs: outputs, loc: loc, out: make(Row, len(outputs))}
	if len(key) > 0 {
		p.mac = hmac.New(sha256.New, key)
	}
	return p
}

// apply returns the output row for a read row; it is reused by the next call.
func (p *pipeline) apply(in Row) Row {
	for i, o := range p.outputs {
		switch {
		case o.fn != nil:
			args := make([]any, len(o.args))
			var null bool
			for j, a := range o.args {
				args[j] = in[a]
				null = null || in[a] == nil
			}
			if null {
				p.out[i] = nil
			} else {
				p.out[i] = o.fn.fn(args, p.loc)
			}
		case o.hash:
			p.out[i] = p.anonymize(in[o.read])
		default:
			p.out[i] = in[o.read]
		}
	}
	return p.out
}

// anonymize returns the keyed hash of a value's text (nulls stay null).
func (p *pipeline) anonymize(v any) any {
	if v == nil {
		return nil
	}
	p.mac.Reset()
	switch x := v.(type) {
	case string:
		p.mac.Write([]byte(x))
	case time.Time:
		p.mac.Write([]byte(x.UTC().Format(time.RFC3339Nano)))
	default:
		fmt.Fprint(p.mac, x)
	}
	p.sum = p.mac.Sum(p.sum[:0])
	p.hexbuf = hex.AppendEncode(p.hexbuf[:0], p.sum)
	return string(p.hexbuf)
}

// Anonymize returns the keyed hash an export writes for a text value under key, so that an
// analyst holding the key can find a known address in an anonymized export.
func Anonymize(key []byte, value string) string {
	p := newPipeline(nil, key, time.UTC)
	return p.anonymize(value).(string)
}

// transformsOf builds the outputs and the output schema of a spec whose columns and filter are
// resolved: selected are the selected source columns, readIndex maps a source column to its
// place in the read row.
func (c *compiler) transforms(selected []int) ([]output, Schema, error) {
	s, src, lines, path := c.spec, c.src, c.lines, c.path
	type out struct {
		output
		col Column
	}
	var outs []out
	policy := s.PII
	switch policy {
	case "":
		policy = PIIDrop
		if len(c.key) > 0 {
			policy = PIIAnonymize
		}
	case PIIAnonymize:
		if len(c.key) == 0 {
			return nil, nil, lines.Errorf(Join(path, "pii"), "anonymize needs the export hash key (hash_key_file in reporter.yml, --export.hash-key-file, or BDC_EXPORT_HASH_KEY)")
		}
	case PIIDrop, PIIKeep:
	default:
		return nil, nil, lines.Errorf(Join(path, "pii"), "unknown policy %q (want anonymize, drop or keep)", s.PII)
	}
	c.policy = policy
	for i, name := range s.Anonymize {
		p := Index(Join(path, "anonymize"), i)
		if len(c.key) == 0 {
			return nil, nil, lines.Errorf(p, "anonymize needs the export hash key (hash_key_file in reporter.yml, --export.hash-key-file, or BDC_EXPORT_HASH_KEY)")
		}
		if k := src.column(name); k < 0 || !slices.Contains(selected, k) {
			return nil, nil, lines.Errorf(p, "%q is not an exported column of %s", name, src.Name)
		}
	}
	for i, name := range s.Drop {
		if k := src.column(name); k < 0 || !slices.Contains(selected, k) {
			return nil, nil, lines.Errorf(Index(Join(path, "drop"), i), "%q is not an exported column of %s", name, src.Name)
		}
	}
	for _, k := range selected {
		sc := src.Columns[k]
		if slices.Contains(s.Drop, sc.Name) || (sc.PII && policy == PIIDrop && !slices.Contains(s.Anonymize, sc.Name)) {
			c.dropped = append(c.dropped, sc.Name)
			continue
		}
		o := out{output: output{read: c.readIndex(k)}, col: sc.Column}
		if slices.Contains(s.Anonymize, sc.Name) || (sc.PII && policy == PIIAnonymize) {
			o.hash = true
			o.col = Column{Name: sc.Name, Type: String, Nullable: sc.Nullable, From: "hmac-sha256(" + sc.Name + ")"}
			c.anonymized = append(c.anonymized, sc.Name)
		}
		outs = append(outs, o)
	}
	for i, d := range s.Derive {
		p := Index(Join(path, "derive"), i)
		if err := checkName(d.Name); err != nil {
			return nil, nil, lines.Errorf(Join(p, "name"), "%v", err)
		}
		f, ok := deriveFuncs[d.Func]
		if !ok {
			names := make([]string, 0, len(deriveFuncs))
			for n := range deriveFuncs {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, nil, lines.Errorf(Join(p, "func"), "unknown function %q (want one of %s)", d.Func, strings.Join(names, ", "))
		}
		if len(d.Args) != len(f.args) {
			return nil, nil, lines.Errorf(Join(p, "args"), "%s takes %d column(s), got %d", d.Func, len(f.args), len(d.Args))
		}
		o := out{output: output{read: -1, fn: &f}, col: Column{Name: d.Name, Type: f.out, Nullable: true,
			From: d.Func + "(" + strings.Join(d.Args, ", ") + ")"}}
		for j, a := range d.Args {
			k := src.column(a)
			if k < 0 {
				return nil, nil, lines.Errorf(Index(Join(p, "args"), j), "%s has no column %q (it has %s)", src.Name, a, src.columnNames())
			}
			if t := src.Columns[k].Type; !slices.Contains(f.args[j], t) {
				return nil, nil, lines.Errorf(Index(Join(p, "args"), j), "%s takes a %s, and %s is a %s column", d.Func, f.args[j][0], a, t)
			}
			o.args = append(o.args, c.readIndex(k))
		}
		outs = append(outs, o)
	}
	// Renames apply to output names, derived ones included, each matched on its name before any
	// rename, so that the order of the mapping does not matter.
	original := make([]string, len(outs))
	for i, o := range outs {
		original[i] = o.col.Name
	}
	for from, to := range s.Rename {
		p := Join(Join(path, "rename"), from)
		i := slices.Index(original, from)
		if i < 0 {
			return nil, nil, lines.Errorf(p, "%q is not an output column", from)
		}
		if err := checkName(to); err != nil {
			return nil, nil, lines.Errorf(p, "%v", err)
		}
		if outs[i].col.From == "" {
			outs[i].col.From = from
		}
		outs[i].col.Name = to
	}
	outputs := make([]output, len(outs))
	schema := make(Schema, len(outs))
	seen := map[string]bool{}
	for i, o := range outs {
		if seen[o.col.Name] {
			return nil, nil, lines.Errorf(path, "two output columns are named %q: rename one", o.col.Name)
		}
		seen[o.col.Name] = true
		outputs[i], schema[i] = o.output, o.col
	}
	if len(schema) == 0 {
		return nil, nil, lines.Errorf(path, "no column left to export")
	}
	return outputs, schema, nil
}
