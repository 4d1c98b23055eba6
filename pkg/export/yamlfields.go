package export

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError locates a problem in a configuration: the line (0 when the input was not YAML, for
// example command-line flags) and the field's path, such as "jobs[2].export[0].where[1].op".
type FieldError struct {
	Line   int
	Field  string
	Reason string
}

// Error says where and why.
func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Reason)
	}
	return e.Field + ": " + e.Reason
}

// Lines maps a field's path to the line of its value in the YAML input, so that checks made
// after decoding can still name the line. A nil Lines answers 0 for every path.
type Lines map[string]int

// Of returns the line of path, or of its nearest parent that has one.
func (l Lines) Of(path string) int {
	for path != "" {
		if n, ok := l[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return l[""]
}

// Errorf returns a *FieldError for path with its line.
func (l Lines) Errorf(path, format string, args ...any) *FieldError {
	return &FieldError{Line: l.Of(path), Field: path, Reason: fmt.Sprintf(format, args...)}
}

// Join returns the path of a field of the struct at path.
func Join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// Index returns the path of the i-th element of the list at path.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// DecodeStrict decodes a YAML node into v, a pointer to a struct, refusing keys that the struct
// has no `yaml` tag for, and records the line of every field it meets into lines under path.
// Nested structs, pointers to structs and lists of structs are decoded the same way; other values
// (and types that decode themselves) go through yaml.v3. Errors are *FieldError.
func DecodeStrict(node *yaml.Node, path string, v any, lines Lines) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("DecodeStrict needs a non-nil pointer, got %T", v)
	}
	d := &decoder{lines: lines, budget: maxValues}
	return d.value(node, path, rv.Elem())
}

// maxValues bounds the values one document may decode to: aliases could otherwise expand a short
// file into billions of them.
const maxValues = 100_000

type decoder struct {
	lines  Lines
	budget int
}

var (
	unmarshalerType    = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteType       = reflect.TypeFor[interface{ UnmarshalYAML(func(any) error) error }]()
	textUnmarshalerTyp = reflect.TypeFor[encoding.TextUnmarshaler]()
	nodeType           = reflect.TypeFor[yaml.Node]()
)

// decodesItself reports whether yaml.v3 must decode t as a whole (time.Time, durations, ...).
func decodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(obsoleteType) || pt.Implements(textUnmarshalerTyp)
}

func (d *decoder) value(node *yaml.Node, path string, v reflect.Value) error {
	if d.budget--; d.budget < 0 {
		return &FieldError{Line: node.Line, Field: orTop(path), Reason: fmt.Sprintf("the document expands to more than %d values (aliases)", maxValues)}
	}
	if d.lines != nil {
		d.lines[path] = node.Line
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	t := v.Type()
	switch {
	case t == nodeType:
		v.Set(reflect.ValueOf(*node)) // kept whole, for whoever knows its shape
		return nil
	case decodesItself(t):
		return decodeLeaf(node, path, v)
	case t.Kind() == reflect.Struct:
		return d.structure(node, path, v)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && !decodesItself(t.Elem()):
		if node.Tag == "!!null" {
			v.SetZero()
			return nil
		}
		p := reflect.New(t.Elem())
		if err := d.structure(node, path, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case t.Kind() == reflect.Slice && structLike(t.Elem()):
		if node.Tag == "!!null" {
			v.SetZero()
			return nil
		}
		if node.Kind != yaml.SequenceNode {
			return &FieldError{Line: node.Line, Field: path, Reason: "want a list"}
		}
		s := reflect.MakeSlice(t, len(node.Content), len(node.Content))
		for i, item := range node.Content {
			if err := d.value(item, Index(path, i), s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	return decodeLeaf(node, path, v)
}

// structLike reports whether t is a struct, or a pointer to one, that DecodeStrict walks field by
// field.
func structLike(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t != nodeType && !decodesItself(t)
}

func decodeLeaf(node *yaml.Node, path string, v reflect.Value) error {
	p := reflect.New(v.Type())
	if err := node.Decode(p.Interface()); err != nil {
		return &FieldError{Line: node.Line, Field: path, Reason: yamlReason(err)}
	}
	v.Set(p.Elem())
	return nil
}

// yamlReason turns yaml.v3's messages ("yaml: unmarshal errors:\n  line 3: cannot unmarshal
// !!str `x` into int") into the reason alone.
func yamlReason(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
			msg = rest
		}
		return msg
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

func (d *decoder) structure(node *yaml.Node, path string, v reflect.Value) error {
	if node.Tag == "!!null" {
		return nil
	}
	if node.Kind != yaml.MappingNode {
		return &FieldError{Line: node.Line, Field: orTop(path), Reason: "want a mapping"}
	}
	fields := map[string]int{}
	var known []string
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		fields[name] = i
		known = append(known, name)
	}
	seen := map[string]bool{}
	for k := 0; k+1 < len(node.Content); k += 2 {
		key, val := node.Content[k], node.Content[k+1]
		i, ok := fields[key.Value]
		if !ok {
			return &FieldError{Line: key.Line, Field: Join(path, key.Value),
				Reason: "unknown field (want one of " + strings.Join(sorted(known), ", ") + ")"}
		}
		if seen[key.Value] {
			return &FieldError{Line: key.Line, Field: Join(path, key.Value), Reason: "given twice"}
		}
		seen[key.Value] = true
		if err := d.value(val, Join(path, key.Value), v.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
