package export

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Op is a predicate's comparison.
type Op string

// Comparisons. Values are compared as the column's type; "like" takes a SQL LIKE pattern (% and _)
// on text columns; "in" and "not in" take a list.
const (
	OpEq      Op = "="
	OpNe      Op = "!="
	OpLt      Op = "<"
	OpLe      Op = "<="
	OpGt      Op = ">"
	OpGe      Op = ">="
	OpIn      Op = "in"
	OpNotIn   Op = "not in"
	OpLike    Op = "like"
	OpIsNull  Op = "is null"
	OpNotNull Op = "is not null"
)

// Ops lists the comparisons in the order error messages show them.
var Ops = []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn, OpNotIn, OpLike, OpIsNull, OpNotNull}

// opAliases are the other spellings accepted in YAML and on the command line.
var opAliases = map[string]Op{
	"==": OpEq, "eq": OpEq, "<>": OpNe, "ne": OpNe, "lt": OpLt, "le": OpLe, "gt": OpGt, "ge": OpGe,
	"not_in": OpNotIn, "is_null": OpIsNull, "not_null": OpNotNull, "is_not_null": OpNotNull,
}

// MaxListValues bounds the values of an in or not in list.
const MaxListValues = 10000

// Predicate keeps the rows whose column compares to the value. It is data, never SQL: the column
// must be one of the source's and the value is bound as a parameter of the column's type.
type Predicate struct {
	Column string `yaml:"column" json:"column"`
	Op     Op     `yaml:"op" json:"op"`
	// Value is a scalar, a list for in and not in, and absent for is null and is not null.
	Value any `yaml:"value,omitempty" json:"value,omitempty"`
}

// normalOp returns the canonical spelling of op.
func normalOp(op Op) (Op, bool) {
	s := strings.Join(strings.Fields(strings.ToLower(string(op))), " ")
	if a, ok := opAliases[s]; ok {
		return a, true
	}
	if slices.Contains(Ops, Op(s)) {
		return Op(s), true
	}
	return op, false
}

func opList() string {
	q := make([]string, len(Ops))
	for i, o := range Ops {
		q[i] = strconv.Quote(string(o))
	}
	return strings.Join(q, ", ")
}

// String renders the predicate in the form ParsePredicate reads, values single-quoted.
func (p Predicate) String() string {
	switch p.Op {
	case OpIsNull, OpNotNull:
		return p.Column + " " + string(p.Op)
	case OpIn, OpNotIn:
		list, _ := p.Value.([]any)
		items := make([]string, len(list))
		for i, v := range list {
			items[i] = quoteValue(v)
		}
		return p.Column + " " + string(p.Op) + " (" + strings.Join(items, ", ") + ")"
	}
	return p.Column + " " + string(p.Op) + " " + quoteValue(p.Value)
}

func quoteValue(v any) string {
	var s string
	switch x := v.(type) {
	case time.Time:
		s = x.Format(time.RFC3339Nano)
	default:
		s = fmt.Sprint(x)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ParsePredicate reads a predicate written on the command line:
//
//	status = completed
//	score >= 4
//	status in (completed, no_show)
//	email like '%@example.org'
//	completed_at is null
//
// A value is a bare word (no spaces, commas, parentheses or quotes) or a single-quoted string in
// which ” stands for a quote. Values are text here; they are checked against the column's type
// when the spec is compiled.
func ParsePredicate(s string) (Predicate, error) {
	p := &predicateParser{s: s}
	pred, err := p.parse()
	if err != nil {
		return Predicate{}, fmt.Errorf("predicate %q: %w", s, err)
	}
	return pred, nil
}

type predicateParser struct {
	s   string
	pos int
}

func (p *predicateParser) parse() (Predicate, error) {
	if !utf8.ValidString(p.s) {
		return Predicate{}, errors.New("not valid UTF-8")
	}
	p.space()
	column := p.ident()
	if column == "" {
		return Predicate{}, errors.New("want a column name first")
	}
	if err := checkName(column); err != nil {
		return Predicate{}, err
	}
	p.space()
	op, err := p.op()
	if err != nil {
		return Predicate{}, err
	}
	pred := Predicate{Column: column, Op: op}
	p.space()
	switch op {
	case OpIsNull, OpNotNull:
	case OpIn, OpNotIn:
		if pred.Value, err = p.list(); err != nil {
			return Predicate{}, err
		}
	default:
		v, err := p.scalar()
		if err != nil {
			return Predicate{}, err
		}
		pred.Value = v
	}
	p.space()
	if p.pos < len(p.s) {
		return Predicate{}, fmt.Errorf("unexpected %q after the predicate", p.s[p.pos:])
	}
	return pred, nil
}

func (p *predicateParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

func (p *predicateParser) ident() string {
	start := p.pos
	for p.pos < len(p.s) && isIdentByte(p.s[p.pos], p.pos == start) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *predicateParser) op() (Op, error) {
	rest := p.s[p.pos:]
	for _, sym := range []string{"<=", ">=", "!=", "<>", "==", "=", "<", ">"} {
		if strings.HasPrefix(rest, sym) {
			p.pos += len(sym)
			op, _ := normalOp(Op(sym))
			return op, nil
		}
	}
	// Word operators: the longest that matches, followed by a space, "(" or the end.
	words := []struct {
		text string
		op   Op
	}{{"is not null", OpNotNull}, {"is null", OpIsNull}, {"not in", OpNotIn}, {"in", OpIn}, {"like", OpLike}}
	for _, w := range words {
		n, ok := matchWords(rest, w.text)
		if ok {
			p.pos += n
			return w.op, nil
		}
	}
	return "", fmt.Errorf("want an operator (%s)", opList())
}

// matchWords matches the space-separated words of want at the start of s, case-insensitively
// and with any run of spaces between them, and returns the length matched.
func matchWords(s, want string) (int, bool) {
	pos := 0
	for i, w := range strings.Fields(want) {
		if i > 0 {
			start := pos
			for pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') {
				pos++
			}
			if pos == start {
				return 0, false
			}
		}
		if len(s)-pos < len(w) || !strings.EqualFold(s[pos:pos+len(w)], w) {
			return 0, false
		}
		pos += len(w)
	}
	if pos < len(s) && s[pos] != ' ' && s[pos] != '\t' && s[pos] != '(' && s[pos] != '\'' {
		return 0, false
	}
	return pos, true
}

func (p *predicateParser) scalar() (string, error) {
	if p.pos >= len(p.s) {
		return "", errors.New("want a value")
	}
	if p.s[p.pos] == '\'' {
		var b strings.Builder
		p.pos++
		for {
			i := strings.IndexByte(p.s[p.pos:], '\'')
			if i < 0 {
				return "", errors.New("unterminated quoted value")
			}
			b.WriteString(p.s[p.pos : p.pos+i])
			p.pos += i + 1
			if p.pos < len(p.s) && p.s[p.pos] == '\'' {
				b.WriteByte('\'')
				p.pos++
				continue
			}
			return b.String(), nil
		}
	}
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune(" \t,()'", rune(p.s[p.pos])) {
		p.pos++
	}
	if p.pos == start {
		return "", fmt.Errorf("want a value, got %q", p.s[p.pos:])
	}
	return p.s[start:p.pos], nil
}

func (p *predicateParser) list() ([]any, error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '(' {
		return nil, errors.New("want a list in parentheses, like (a, b)")
	}
	p.pos++
	var out []any
	for {
		p.space()
		v, err := p.scalar()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if len(out) > MaxListValues {
			return nil, fmt.Errorf("more than %d values in the list", MaxListValues)
		}
		p.space()
		if p.pos >= len(p.s) {
			return nil, errors.New("unterminated list: want )")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return out, nil
		default:
			return nil, fmt.Errorf("want , or ) in the list, got %q", p.s[p.pos:])
		}
	}
}

// resolvedPredicate is a predicate checked against a source: the column's index and the values
// converted to its type.
type resolvedPredicate struct {
	column int
	op     Op
	value  any // scalar ops
	list   any // in, not in: []int64, []float64, []string, []bool or []time.Time
	items  []any
}

// resolve checks p against src and converts its value; path locates p for errors.
func (p Predicate) resolve(src *Source, lines Lines, path string) (resolvedPredicate, error) {
	c := src.column(p.Column)
	if c < 0 {
		return resolvedPredicate{}, lines.Errorf(Join(path, "column"), "%s has no column %q (it has %s)", src.Name, p.Column, src.columnNames())
	}
	op, ok := normalOp(p.Op)
	if !ok {
		return resolvedPredicate{}, lines.Errorf(Join(path, "op"), "unknown operator %q (want one of %s)", string(p.Op), opList())
	}
	t := src.Columns[c].Type
	r := resolvedPredicate{column: c, op: op}
	valuePath := Join(path, "value")
	switch op {
	case OpIsNull, OpNotNull:
		if p.Value != nil {
			return r, lines.Errorf(valuePath, "%q takes no value", string(op))
		}
		return r, nil
	case OpIn, OpNotIn:
		list, ok := p.Value.([]any)
		if !ok {
			return r, lines.Errorf(valuePath, "%q takes a list of values", string(op))
		}
		if len(list) == 0 || len(list) > MaxListValues {
			return r, lines.Errorf(valuePath, "want 1 to %d values, got %d", MaxListValues, len(list))
		}
		for i, v := range list {
			cv, err := coerce(t, v)
			if err != nil {
				return r, lines.Errorf(Index(valuePath, i), "%v", err)
			}
			r.items = append(r.items, cv)
		}
		r.list = typedList(t, r.items)
		return r, nil
	case OpLike:
		if t != String {
			return r, lines.Errorf(Join(path, "op"), "like compares text, and %s is a %s column", p.Column, t)
		}
	case OpLt, OpLe, OpGt, OpGe:
		if t == Bool {
			return r, lines.Errorf(Join(path, "op"), "%q does not order booleans; use = or !=", string(op))
		}
	}
	if p.Value == nil {
		return r, lines.Errorf(valuePath, "%q needs a value (use \"is null\" to match nulls)", string(op))
	}
	v, err := coerce(t, p.Value)
	if err != nil {
		return r, lines.Errorf(valuePath, "%v", err)
	}
	r.value = v
	return r, nil
}

func typedList(t Type, items []any) any {
	switch t {
	case Int:
		return castList[int64](items)
	case Float:
		return castList[float64](items)
	case Bool:
		return castList[bool](items)
	case Timestamp, Date:
		return castList[time.Time](items)
	}
	return castList[string](items)
}

func castList[T any](items []any) []T {
	out := make([]T, len(items))
	for i, v := range items {
		out[i] = v.(T)
	}
	return out
}

// coerce converts a value from YAML, JSON or the command line to the Go type of t.
func coerce(t Type, v any) (any, error) {
	bad := func() error { return fmt.Errorf("%v (%T) is not a %s", v, v, t) }
	switch t {
	case Int:
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case uint64:
			if x > math.MaxInt64 {
				return nil, bad()
			}
			return int64(x), nil
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, bad()
			}
			return int64(x), nil
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, bad()
			}
			return n, nil
		}
	case Float:
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case uint64:
			return float64(x), nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, bad()
			}
			return x, nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, bad()
			}
			return f, nil
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, bad()
			}
			return b, nil
		}
	case String:
		switch x := v.(type) {
		case string:
			if !utf8.ValidString(x) || strings.ContainsRune(x, 0) {
				return nil, errors.New("text values must be valid UTF-8 without NUL")
			}
			return x, nil
		case int, int64, uint64, float64, bool:
			return fmt.Sprint(x), nil
		}
	case Timestamp, Date:
		switch x := v.(type) {
		case time.Time:
			if t == Date {
				return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC), nil
			}
			return x, nil
		case string:
			tm, err := parseInstant(x, time.UTC)
			if err != nil {
				return nil, err
			}
			if t == Date {
				return time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC), nil
			}
			return tm, nil
		}
	}
	return nil, bad()
}

// match evaluates the predicate on a value of its column, for sources computed in memory. It
// follows SQL: a null matches only is null.
func (r *resolvedPredicate) match(v any) bool {
	switch r.op {
	case OpIsNull:
		return v == nil
	case OpNotNull:
		return v != nil
	}
	if v == nil {
		return false
	}
	switch r.op {
	case OpIn, OpNotIn:
		found := slices.ContainsFunc(r.items, func(x any) bool { return compare(v, x) == 0 })
		return found == (r.op == OpIn)
	case OpLike:
		s, _ := v.(string)
		p, _ := r.value.(string)
		return likeMatch(s, p)
	}
	c := compare(v, r.value)
	switch r.op {
	case OpEq:
		return c == 0
	case OpNe:
		return c != 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	}
	return false
}

// compare orders two values of the same column type.
func compare(a, b any) int {
	switch x := a.(type) {
	case int64:
		return cmpOrdered(x, b.(int64))
	case float64:
		return cmpOrdered(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	return 0
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// likeMatch implements SQL LIKE with % and _ and backslash as the escape, as PostgreSQL does.
func likeMatch(s, pattern string) bool {
	sr, pr := []rune(s), []rune(pattern)
	var match func(i, j int) bool
	memo := map[[2]int]bool{}
	match = func(i, j int) bool {
		key := [2]int{i, j}
		if v, ok := memo[key]; ok {
			return v
		}
		var ok bool
		switch {
		case j == len(pr):
			ok = i == len(sr)
		case pr[j] == '%':
			ok = match(i, j+1) || (i < len(sr) && match(i+1, j))
		case pr[j] == '\\' && j+1 < len(pr):
			ok = i < len(sr) && sr[i] == pr[j+1] && match(i+1, j+2)
		case pr[j] == '_':
			ok = i < len(sr) && match(i+1, j+1)
		default:
			ok = i < len(sr) && sr[i] == pr[j] && match(i+1, j+1)
		}
		memo[key] = ok
		return ok
	}
	return match(0, 0)
}
