package testtools

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// SyncBuffer collects output written from several goroutines (a process's, a logger's), for
// the test to read.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ServeReporter builds bdc-reporter from this module and runs it as a daemon on the database at
// dbURL with the configuration file config, writing its files into a temporary folder, until the
// test ends. Once /-/ready answers it runs each job of runJobs once through the API, waiting for
// the run to end, so that the metrics of finished runs exist; it returns the reporter's address.
func ServeReporter(tb testing.TB, dbURL, config string, runJobs ...string) string {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("testtools: %v", err)
	}
	dir := tb.TempDir()
	bin := filepath.Join(dir, "bdc-reporter")
	build := exec.Command("go", "build", "-o", bin, "./reporter")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building bdc-reporter: %v\n%s", err, out)
	}
	addr := FreeAddr(tb)
	out := &SyncBuffer{}
	cmd := exec.Command(bin, "--config.file="+config, "--output.dir="+filepath.Join(dir, "output"), "--web.listen-address="+addr)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	base := "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r, err := http.Get(base + "/-/ready")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			tb.Fatalf("bdc-reporter exited before it was ready:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("bdc-reporter at %s was not ready within 2 minutes:\n%s", addr, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, job := range runJobs {
		r, err := http.Post(base+"/api/v1/jobs/"+job+"/run?wait=true", "", nil)
		if err != nil {
			tb.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			tb.Fatalf("running job %s: %s: %s\n%s", job, r.Status, body, out)
		}
	}
	return addr
}
