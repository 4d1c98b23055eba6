package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvHashKey names the environment variable that may hold the export hash key itself.
const EnvHashKey = "BDC_EXPORT_HASH_KEY"

// MinHashKeyLength is the shortest hash key accepted, in bytes: a short key can be found by
// trying keys against a known address.
const MinHashKeyLength = 16

// LoadHashKey returns the key PII is anonymized with: the content of file (surrounding blanks
// trimmed) when file is given, else the value of BDC_EXPORT_HASH_KEY, else nil (no key: PII
// columns are dropped unless a spec keeps them).
func LoadHashKey(file string, getenv func(string) string) ([]byte, error) {
	var key []byte
	switch {
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("couldn't read the export hash key: %w", err)
		}
		key = bytes.TrimSpace(data)
	case getenv(EnvHashKey) != "":
		key = []byte(strings.TrimSpace(getenv(EnvHashKey)))
	default:
		return nil, nil
	}
	if len(key) < MinHashKeyLength {
		return nil, fmt.Errorf("the export hash key is %d bytes long: want at least %d", len(key), MinHashKeyLength)
	}
	return key, nil
}

// ParseDerive reads a derived column written on the command line: name=func(column, ...).
func ParseDerive(s string) (Derive, error) {
	name, call, ok := strings.Cut(s, "=")
	lp, rp := strings.IndexByte(call, '('), strings.LastIndexByte(call, ')')
	if !ok || lp <= 0 || rp != len(call)-1 || rp < lp {
		return Derive{}, fmt.Errorf("derive %q: want name=function(column, ...), like lead_days=days_between(booked_at, scheduled_at)", s)
	}
	d := Derive{Name: strings.TrimSpace(name), Func: strings.TrimSpace(call[:lp])}
	if err := checkName(d.Name); err != nil {
		return Derive{}, fmt.Errorf("derive %q: %w", s, err)
	}
	if args := strings.TrimSpace(call[lp+1 : rp]); args != "" {
		for _, a := range strings.Split(args, ",") {
			a = strings.TrimSpace(a)
			if err := checkName(a); err != nil {
				return Derive{}, fmt.Errorf("derive %q: %w", s, err)
			}
			d.Args = append(d.Args, a)
		}
	}
	return d, nil
}

// ParseParams reads an analytics source's parameters given as a JSON object on the command line.
func ParseParams(s string) (map[string]any, error) {
	var params map[string]any
	if err := json.Unmarshal([]byte(s), &params); err != nil {
		return nil, fmt.Errorf("want a JSON object like {\"period\": \"week\"}: %w", err)
	}
	return params, nil
}

// ParseRename reads renames written on the command line: old=new.
func ParseRename(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, p := range pairs {
		from, to, ok := strings.Cut(p, "=")
		if !ok || from == "" || to == "" {
			return nil, fmt.Errorf("rename %q: want old=new", p)
		}
		if _, dup := out[from]; dup {
			return nil, errors.New("rename: " + from + " is renamed twice")
		}
		out[from] = to
	}
	return out, nil
}
