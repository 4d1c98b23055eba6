# BDC Analytics: the one test command is `make test`; see README.md.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -X github.com/prometheus/common/version.Version=$(VERSION) \
               -X github.com/prometheus/common/version.Revision=$(REVISION) \
               -X github.com/prometheus/common/version.Branch=$(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
GOLANGCI    = $(shell scripts/tools.sh path golangci-lint)
BENCH_USERS ?= 100000
# make bench: which benchmarks, how many runs (medians), the models' scale, the fuzzing time per
# target and the load test's duration. BENCH_RAW collects the results, BENCH_LOGS the outputs.
BENCH       ?= .
BENCH_COUNT ?= 1
BENCH_APPOINTMENTS ?= 100000
FUZZTIME    ?= 10s
# FUZZ_SLOW are the fuzz targets whose seed corpus alone takes longer than FUZZTIME (the plugin's
# runs 489 queries through PostgreSQL), fuzzed for FUZZTIME_SLOW instead.
FUZZ_SLOW   := FuzzQueryJSON
FUZZTIME_SLOW ?= 60s
BENCH_LOAD_DURATION ?= 30s
# The hardening tests (faults, roles, listeners, personal data) whose checks go into the
# Reliability and Security tables, and how many times each runs (medians of the times to resume).
FAULT_TESTS := TestRecoversFromDatabaseRestart|TestPostgresStoppedDuringQueries|TestBlockedQueryKeepsLastGoodValue|TestConnectionsExhausted|TestOutputNotWritable|TestDiskFull|TestStatementTimeout|TestDatabaseDown|TestDatabaseStoppedMidExport|TestKilledReplicaRunIsPickedUp|TestKilledMidReport|TestTLSFromWebConfig|TestLeastPrivilegeRoles|TestNoPersonalDataInLabelsOrLogs
FAULT_PACKAGES := ./pkg/exporter ./pkg/schedule ./reporter ./datasource-plugin/pkg/plugin ./deploy ./e2e
BENCH_FAULT_COUNT ?= 1
BENCH_RAW   := bench/results.jsonl
BENCH_LOGS  := bench/logs

BENCH_ARGS   = $(strip $(if $(filter-out .,$(BENCH)),BENCH='$(BENCH)') $(if $(filter-out 1,$(BENCH_COUNT)),BENCH_COUNT=$(BENCH_COUNT)) \
               $(if $(filter-out 100000,$(BENCH_USERS)),BENCH_USERS=$(BENCH_USERS)) \
               $(if $(filter-out 100000,$(BENCH_APPOINTMENTS)),BENCH_APPOINTMENTS=$(BENCH_APPOINTMENTS)) \
               $(if $(filter-out 10s,$(FUZZTIME)),FUZZTIME=$(FUZZTIME)) $(if $(filter-out 60s,$(FUZZTIME_SLOW)),FUZZTIME_SLOW=$(FUZZTIME_SLOW)) \
               $(if $(filter-out 30s,$(BENCH_LOAD_DURATION)),BENCH_LOAD_DURATION=$(BENCH_LOAD_DURATION)))
# The benchmarks' own settings taken from the environment, for the report's command line.
BENCH_ENV    = $(strip $(foreach v,BDC_BENCH_DEPTH BDC_BENCH_EXPORT_ROWS BDC_BENCH_RUNS BDC_BENCH_PEER_RUNS BDC_BENCH_ROLLUP,$(if $($(v)),$(v)=$($(v)))))

PLUGIN_DIST := datasource-plugin/dist
PLUGIN_EXE  := gpx_bdc_analytics
PLUGIN_PLATFORMS := linux/amd64 linux/arm64 darwin/arm64

.PHONY: test postgres tools fmt-check vet lint unit build bench bench-go bench-fuzz bench-load bench-faults clean plugin plugin-frontend plugin-frontend-check plugin-backend

## test: everything CI runs: PostgreSQL up, gofmt, go vet, golangci-lint, go test -race.
test: postgres tools fmt-check vet lint unit plugin-frontend-check

## postgres: start the local PostgreSQL if it is installed and down; fail clearly if none.
postgres:
	@scripts/ensure-postgres.sh

## tools: the pinned and packaged tools tests run (golangci-lint, promtool), installed when missing.
tools:
	@scripts/tools.sh install

fmt-check:
	@unformatted=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	if [[ -n "$$unformatted" ]]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi

vet:
	$(GO) vet ./...

## lint: golangci-lint at the version pinned in scripts/tools.sh (installed on first use).
lint:
	$(GOLANGCI) run --allow-parallel-runners ./...

unit: tools
	$(GO) test -race -count=1 -timeout 25m ./...

## build: the binaries, with version information, into bin/.
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/bdc-exporter ./exporter

## plugin: the Grafana plugin, ready to mount: frontend (dist/module.js) then the gpx_ backends.
plugin: plugin-frontend plugin-backend

plugin-frontend:
	cd datasource-plugin && npm ci --prefer-offline --no-audit --no-fund && npm run build

## plugin-frontend-check: the frontend's type check, lint, jest tests and build (part of test).
plugin-frontend-check:
	cd datasource-plugin && npm ci --prefer-offline --no-audit --no-fund && npm run typecheck && npm run lint && npm run test:ci && npm run build
	test -s datasource-plugin/dist/module.js && test -s datasource-plugin/dist/plugin.json

plugin-backend:
	@for platform in $(PLUGIN_PLATFORMS); do \
		os=$${platform%/*}; arch=$${platform#*/}; \
		echo "building $(PLUGIN_DIST)/$(PLUGIN_EXE)_$${os}_$${arch}"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
			-o $(PLUGIN_DIST)/$(PLUGIN_EXE)_$${os}_$${arch} ./datasource-plugin/pkg || exit 1; \
	done

## bench: the side-by-side benchmarks, the fuzz targets, the load test's long form and the
## hardening tests, into bench/results.md and bench/results.json, whose tables also fill the
## README's Performance, Reliability and Security sections. Under 60 minutes at 100,000
## users on 2 cores once the platform is seeded. BENCH=Regexp restricts the benchmarks,
## BENCH_COUNT=3 takes medians of three runs, BENCH_APPOINTMENTS=1000000 the models' large scale.
bench: postgres tools
	@rm -f $(BENCH_RAW) && mkdir -p $(BENCH_LOGS)
	@$(GO) run ./bench/cmd/benchreport -raw $(BENCH_RAW) -start
	@status=0; \
	$(MAKE) --no-print-directory bench-go || status=1; \
	$(MAKE) --no-print-directory bench-fuzz || status=1; \
	$(MAKE) --no-print-directory bench-load || status=1; \
	$(MAKE) --no-print-directory bench-faults || status=1; \
	$(GO) run ./bench/cmd/benchreport -raw $(BENCH_RAW) -out bench -command "$(if $(BENCH_ENV),$(BENCH_ENV) )make bench$(if $(BENCH_ARGS), $(BENCH_ARGS))" \
		-bench-log $(BENCH_LOGS)/bench.log -fuzz-log $(BENCH_LOGS)/fuzz.log -load-log $(BENCH_LOGS)/load.log \
		-faults-log $(BENCH_LOGS)/faults.log -readme README.md || status=1; \
	exit $$status

## bench-go: the Go benchmarks of bench/, recording into $(BENCH_RAW).
bench-go:
	BDC_BENCH_RESULTS=$(CURDIR)/$(BENCH_RAW) BDC_BENCH_USERS=$(BENCH_USERS) BDC_BENCH_APPOINTMENTS=$(BENCH_APPOINTMENTS) \
		$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime 1x -count $(BENCH_COUNT) -timeout 100m ./bench/ 2>&1 | tee $(BENCH_LOGS)/bench.log

## bench-fuzz: every Fuzz target of the repository for FUZZTIME each (one `go test -fuzz` each). A run
## that fails only by the fuzzing engine's deadline race (no failing input written) runs once more.
bench-fuzz:
	@: > $(BENCH_LOGS)/fuzz.log; status=0; \
	for hit in $$(grep -rHoE --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]+' . \
			| sed -E 's|/[^/]*:func |:|' | sort); do \
		dir=$${hit%%:*}; name=$${hit##*:}; \
		echo "=== fuzz $$dir $$name" | tee -a $(BENCH_LOGS)/fuzz.log; \
		fuzztime=$(FUZZTIME); [[ " $(FUZZ_SLOW) " == *" $$name "* ]] && fuzztime=$(FUZZTIME_SLOW); \
		for attempt in 1 2; do \
			rc=0; out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$fuzztime "$$dir" 2>&1) || rc=$$?; \
			if [ $$rc -ne 0 ] && [ $$attempt -eq 1 ] && grep -q 'context deadline exceeded' <<<"$$out" && ! grep -q 'Failing input written' <<<"$$out"; then \
				{ echo "(this run failed only by the fuzzing engine's own deadline race at the end of -fuzztime, golang/go#75804, fixed in Go 1.27, with no failing input written: its output indented, then the run again)"; \
					printf '%s\n' "$$out" | sed 's/^/    /'; } | tee -a $(BENCH_LOGS)/fuzz.log; continue; \
			fi; \
			printf '%s\n' "$$out" | tee -a $(BENCH_LOGS)/fuzz.log; \
			[ $$rc -eq 0 ] || status=1; break; \
		done; \
	done; exit $$status

## bench-load: the load test's long form (wrk on /metrics for BENCH_LOAD_DURATION during refreshes).
bench-load:
	BDC_LOAD_DURATION=$(BENCH_LOAD_DURATION) $(GO) test -count=1 -run '^TestMetricsUnderLoad$$' -v ./e2e/ 2>&1 | tee $(BENCH_LOGS)/load.log

## bench-faults: the hardening tests, BENCH_FAULT_COUNT times each, recording what each saw into
## $(BENCH_RAW) (bench/results.md's Reliability and Security tables).
bench-faults:
	BDC_BENCH_RESULTS=$(CURDIR)/$(BENCH_RAW) $(GO) test -count=$(BENCH_FAULT_COUNT) -p 1 -timeout 30m -v \
		-run '^($(FAULT_TESTS))$$' $(FAULT_PACKAGES) 2>&1 | tee $(BENCH_LOGS)/faults.log

clean:
	rm -rf bin dist
