// Package deploy holds what docker-compose.yml needs besides the repository's own folders; this
// test loads docker-compose.yml with the compose-spec loader (there is no Docker engine to run
// it here) and checks that every build context, Dockerfile and mounted path exists.
package deploy

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

// buildOutputs are mounted paths that a make target creates, not the repository.
var buildOutputs = map[string]string{"datasource-plugin/dist": "make plugin"}

func TestComposeFile(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv([]string{"BDC_DB_PASSWORD=x", "BDC_EXPORTER_DB_PASSWORD=e", "BDC_REPORTER_DB_PASSWORD=r", "BDC_GRAFANA_DB_PASSWORD=y", "GF_ADMIN_PASSWORD=z"}))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	want := []string{"postgres", "seed", "train", "exporter", "reporter", "prometheus", "alertmanager", "grafana"}
	for _, name := range want {
		if _, err := project.GetService(name); err != nil {
			t.Errorf("service %s missing: %v", name, err)
		}
	}
	for _, svc := range project.Services {
		if svc.Build != nil {
			ctx := svc.Build.Context
			if _, err := os.Stat(filepath.Join(ctx, svc.Build.Dockerfile)); err != nil {
				t.Errorf("%s: build context %s has no %s", svc.Name, ctx, svc.Build.Dockerfile)
			}
		}
		for _, v := range svc.Volumes {
			if v.Type != "bind" {
				continue
			}
			rel, _ := filepath.Rel(root, v.Source)
			if target, ok := buildOutputs[rel]; ok {
				t.Logf("%s mounts %s, made by %s", svc.Name, rel, target)
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s, which does not exist", svc.Name, rel)
			}
		}
	}
	// The exporter and the seed reach the database by the service name, and nothing carries a
	// password in the file itself.
	raw, _ := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if strings.Contains(string(raw), "POSTGRES_HOST_AUTH_METHOD") {
		t.Error("the compose file turns authentication off")
	}
	exp, _ := project.GetService("exporter")
	if url := exp.Environment["DATABASE_URL"]; url == nil || !strings.Contains(*url, "@postgres:5432/") {
		t.Errorf("exporter DATABASE_URL = %v", url)
	}
	// The components connect with the least-privilege roles of roles.sql; only the seed, which
	// migrates, is the owner.
	for svc, role := range map[string]string{"seed": "bdc", "train": "bdc_reporter", "exporter": "bdc_exporter", "reporter": "bdc_reporter"} {
		s, _ := project.GetService(svc)
		if url := s.Environment["DATABASE_URL"]; url == nil || !strings.HasPrefix(*url, "postgres://"+role+":") {
			t.Errorf("%s connects as %v, want role %s", svc, url, role)
		}
	}
	// roles.sh reads its passwords from the postgres service's environment.
	pg, _ := project.GetService("postgres")
	script, err := os.ReadFile(filepath.Join(root, "deploy", "postgres", "roles.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{?([A-Z_]+)`).FindAllStringSubmatch(string(script), -1) {
		if v := pg.Environment[m[1]]; v == nil || *v == "" {
			t.Errorf("roles.sh reads $%s, which the postgres service does not set", m[1])
		}
	}
	graf, _ := project.GetService("grafana")
	if v := graf.Environment["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"]; v == nil || !slices.Contains(strings.Split(*v, ","), "bdc-analytics-datasource") {
		t.Error("grafana does not allow the unsigned plugin")
	}
}
