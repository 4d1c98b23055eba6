package exporter_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/crypto/bcrypt"

	"github.com/bdc-analytics/bdc/bench/cmd/benchreport/results"
	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
	"github.com/bdc-analytics/bdc/pkg/testtools"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// start serves an exporter on a free loopback port until the test ends.
func start(t *testing.T, db *store.DB, webConfig string) string {
	t.Helper()
	base, _ := startWith(t, db, webConfig, exporter.Options{})
	return base
}

// startWith serves an exporter with opts and returns its base URL and the exporter.
func startWith(t *testing.T, db *store.DB, webConfig string, opts exporter.Options) (string, *exporter.Exporter) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logger := slog.New(slog.DiscardHandler)
	exp, err := exporter.New(db, logger, opts)
	if err != nil {
		t.Fatal(err)
	}
	handler, err := exp.Handler("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go exp.Run(ctx)
	go func() {
		done <- exporter.Serve(ctx, handler, &web.FlagConfig{
			WebListenAddresses: &[]string{addr}, WebSystemdSocket: new(bool), WebConfigFile: &webConfig,
		}, logger)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + addr, exp
}

func get(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	for range 100 { // the listener comes up asynchronously
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	t.Fatalf("GET %s: no answer", url)
	return 0, ""
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal(what)
}

func TestServesWhileDatabaseIsDown(t *testing.T) {
	db, err := store.Open(t.Context(), store.Config{URL: "postgres://postgres@127.0.0.1:1/x?sslmode=disable", ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := start(t, db, "")
	code, body := get(t, base+"/metrics", "", "")
	if code != http.StatusOK || !strings.Contains(body, "bdc_exporter_database_up 0") || !strings.Contains(body, "bdc_exporter_build_info{") {
		t.Errorf("/metrics %d:\n%s", code, body)
	}
	if code, _ := get(t, base+"/-/ready", "", ""); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready = %d with the database down, want 503", code)
	}
	if code, _ := get(t, base+"/-/healthy", "", ""); code != http.StatusOK {
		t.Errorf("/-/healthy = %d, want 200", code)
	}
}

func TestReadyAndLandingPage(t *testing.T) {
	base := start(t, testdb.Get(t).DB, "")
	eventually(t, "never ready", func() bool { code, _ := get(t, base+"/-/ready", "", ""); return code == http.StatusOK })
	if _, body := get(t, base+"/metrics", "", ""); !strings.Contains(body, "bdc_exporter_database_up 1") {
		t.Errorf("database_up not 1:\n%s", body)
	}
	if code, body := get(t, base+"/", "", ""); code != http.StatusOK || !strings.Contains(body, `href="/metrics"`) {
		t.Errorf("landing page %d:\n%s", code, body)
	}
}

func TestBasicAuthFromWebConfig(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "basic_auth_users:\n  prometheus: %s\n", hash), 0o600); err != nil {
		t.Fatal(err)
	}
	base := start(t, testdb.Get(t).DB, cfg)
	if code, _ := get(t, base+"/metrics", "", ""); code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want 401", code)
	}
	if code, _ := get(t, base+"/metrics", "prometheus", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code, body := get(t, base+"/metrics", "prometheus", "s3cret"); code != http.StatusOK || !strings.Contains(body, "bdc_exporter_build_info") {
		t.Errorf("with credentials: %d", code)
	}
}

type response struct {
	code int
	body string
}

func httpPost(url string) (response, error) {
	resp, err := http.Post(url, "text/plain", nil)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(body)}, err
}

// TestTLSFromWebConfig serves over TLS with a certificate of the test's own, and checks that a
// client trusting it gets the metrics while a client that does not trust it is refused.
func TestTLSFromWebConfig(t *testing.T) {
	cfg, pool := testtools.TLSWebConfig(t, "prometheus", "s3cret")
	base := strings.Replace(start(t, testdb.Get(t).DB, cfg), "http://", "https://", 1)
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	var code int
	var body []byte
	var overTLS bool
	eventually(t, "TLS listener never answered", func() bool {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
		req.SetBasicAuth("prometheus", "s3cret")
		resp, err := trusting.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		code, overTLS = resp.StatusCode, resp.TLS != nil
		body, _ = io.ReadAll(resp.Body)
		return true
	})
	if code != http.StatusOK || !strings.Contains(string(body), "bdc_exporter_build_info") || !overTLS {
		t.Errorf("over TLS: %d, TLS %v", code, overTLS)
	}
	if resp, err := http.Get(base + "/metrics"); err == nil {
		resp.Body.Close()
		t.Error("a client that does not trust the certificate was served")
	}
	if resp, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/metrics"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served metrics on the TLS port")
		}
		resp.Body.Close()
	}
	testtools.RecordCheck(t, results.Check{Area: "Security", Case: "exporter listener: TLS and basic auth from an exporter-toolkit web config",
		Sees:    "a client trusting the certificate, with the password, gets /metrics; one not trusting it, or speaking plain HTTP, is refused; without or with a wrong password, 401",
		Outcome: "the same web config file format serves the reporter's API (tested in reporter/)"})
}
