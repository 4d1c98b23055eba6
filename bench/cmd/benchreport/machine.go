package main

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

// machine describes this machine from /proc and /etc/os-release, and the PostgreSQL server at
// url (the tests' server when empty); what cannot be read is "unknown".
func machine(ctx context.Context, url string) results.Machine {
	m := results.Machine{CPU: "unknown", Cores: runtime.NumCPU(), OS: "unknown", Kernel: "unknown", Go: runtime.Version(), PostgreSQL: "unknown"}
	if v := procField("/proc/cpuinfo", "model name", ":"); v != "" {
		m.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal", ":"); v != "" {
		kib, _ := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64)
		m.MemoryGiB = kib / (1 << 20)
	}
	if v := procField("/etc/os-release", "PRETTY_NAME", "="); v != "" {
		m.OS = strings.Trim(v, `"`)
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if url == "" {
		url = testdb.AdminURL()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, url); err == nil {
		var v string
		if conn.QueryRow(ctx, "show server_version").Scan(&v) == nil {
			m.PostgreSQL = v
		}
		_ = conn.Close(ctx)
	}
	return m
}

// procField returns the value of the first "key<sep>value" line of a file, trimmed.
func procField(path, key, sep string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
