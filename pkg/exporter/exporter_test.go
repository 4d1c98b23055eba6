package exporter_test

import (
	"context"
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

	"github.com/bdc-analytics/bdc/pkg/exporter"
	"github.com/bdc-analytics/bdc/pkg/store"
	"github.com/bdc-analytics/bdc/pkg/store/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// start serves an exporter on a free loopback port until the test ends.
func start(t *testing.T, db *store.DB, webConfig string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logger := slog.New(slog.DiscardHandler)
	exp := exporter.New(db, logger)
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
	return "http://" + addr
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
