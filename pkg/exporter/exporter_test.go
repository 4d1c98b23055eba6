package exporter_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
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
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	writeFile(t, filepath.Join(dir, "tls.crt"), certPEM)
	writeFile(t, filepath.Join(dir, "tls.key"), keyPEM)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "web.yml")
	writeFile(t, cfg, fmt.Appendf(nil, "tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n",
		filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), hash))
	base := strings.Replace(start(t, testdb.Get(t).DB, cfg), "http://", "https://", 1)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
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
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// selfSigned makes a certificate for 127.0.0.1, valid for an hour.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bdc-exporter test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
