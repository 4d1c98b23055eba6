// Package settings reads and validates the configuration of a bdc-analytics-datasource
// instance: the connection (with the password from secure JSON), TLS mode, cache and limits.
package settings

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Defaults of the optional settings.
const (
	DefaultPort         = 5432
	DefaultSSLMode      = "require"
	DefaultCacheTTL     = 60 * time.Second
	DefaultMaxRows      = 10_000
	DefaultQueryTimeout = 30 * time.Second
	MaxMaxRows          = 1_000_000
)

// SSLModes are the TLS modes PostgreSQL clients know.
var SSLModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// Settings of one datasource instance.
type Settings struct {
	Host         string
	Port         int
	Database     string
	User         string
	Password     string
	SSLMode      string
	CacheTTL     time.Duration
	MaxRows      int
	QueryTimeout time.Duration
}

// jsonData is the instance's JSON as the ConfigEditor writes it.
type jsonData struct {
	Host         string `json:"host"`
	Port         any    `json:"port"` // numbers: the editor may store them as strings
	Database     string `json:"database"`
	User         string `json:"user"`
	SSLMode      string `json:"sslmode"`
	CacheTTL     any    `json:"cacheTTL"`
	MaxRows      any    `json:"maxRows"`
	QueryTimeout any    `json:"queryTimeout"`
}

// Error names the setting that is wrong.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("setting %s: %s", e.Field, e.Reason) }

// Load parses and validates an instance's settings. The host field may carry the port
// ("db:6432"); the password comes from the decrypted secure JSON only.
func Load(s backend.DataSourceInstanceSettings) (Settings, error) {
	var j jsonData
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &j); err != nil {
			return Settings{}, &Error{"jsonData", "is not valid JSON: " + err.Error()}
		}
	}
	out := Settings{
		Host: j.Host, Database: j.Database, User: j.User, SSLMode: j.SSLMode,
		Password: s.DecryptedSecureJSONData["password"],
	}
	if out.Database == "" {
		out.Database = s.Database
	}
	if out.User == "" {
		out.User = s.User
	}
	if out.Host == "" {
		out.Host = s.URL
	}
	if out.Host == "" {
		return Settings{}, &Error{"host", "is required"}
	}
	if h, p, err := net.SplitHostPort(out.Host); err == nil {
		out.Host = h
		if j.Port == nil {
			j.Port = p
		}
	}
	var err error
	if out.Port, err = number(j.Port, "port", DefaultPort, 1, 65535); err != nil {
		return Settings{}, err
	}
	if out.Database == "" {
		return Settings{}, &Error{"database", "is required"}
	}
	if out.User == "" {
		return Settings{}, &Error{"user", "is required"}
	}
	if out.SSLMode == "" {
		out.SSLMode = DefaultSSLMode
	}
	valid := false
	for _, m := range SSLModes {
		valid = valid || m == out.SSLMode
	}
	if !valid {
		return Settings{}, &Error{"sslmode", fmt.Sprintf("%q is not one of %v", out.SSLMode, SSLModes)}
	}
	ttl, err := number(j.CacheTTL, "cacheTTL", int(DefaultCacheTTL/time.Second), 0, 86400)
	if err != nil {
		return Settings{}, err
	}
	out.CacheTTL = time.Duration(ttl) * time.Second
	if out.MaxRows, err = number(j.MaxRows, "maxRows", DefaultMaxRows, 1, MaxMaxRows); err != nil {
		return Settings{}, err
	}
	timeout, err := number(j.QueryTimeout, "queryTimeout", int(DefaultQueryTimeout/time.Second), 1, 3600)
	if err != nil {
		return Settings{}, err
	}
	out.QueryTimeout = time.Duration(timeout) * time.Second
	return out, nil
}

func number(n any, field string, def, lo, hi int) (int, error) {
	var v int
	var err error
	switch x := n.(type) {
	case nil:
		return def, nil
	case string:
		if x == "" {
			return def, nil
		}
		v, err = strconv.Atoi(x)
	case float64:
		v = int(x)
		if float64(v) != x {
			err = fmt.Errorf("not whole")
		}
	default:
		err = fmt.Errorf("not a number")
	}
	if err != nil || v < lo || v > hi {
		return 0, &Error{field, fmt.Sprintf("want a whole number from %d to %d, got %v", lo, hi, n)}
	}
	return v, nil
}

// URL is the connection URL, password included: never log it (use Addr).
func (s Settings) URL() string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(s.User, s.Password),
		Host:     net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		Path:     "/" + s.Database,
		RawQuery: url.Values{"sslmode": {s.SSLMode}}.Encode(),
	}
	if s.Password == "" {
		u.User = url.User(s.User)
	}
	return u.String()
}

// Addr is host:port, safe to show.
func (s Settings) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }
