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

PLUGIN_DIST := datasource-plugin/dist
PLUGIN_EXE  := gpx_bdc_analytics
PLUGIN_PLATFORMS := linux/amd64 linux/arm64 darwin/arm64

.PHONY: test postgres tools fmt-check vet lint unit build bench clean plugin plugin-frontend plugin-frontend-check plugin-backend

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

## bench: side-by-side benchmarks at a documented scale (BENCH_USERS users for seeding).
bench: postgres
	BDC_BENCH_USERS=$(BENCH_USERS) $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./bench/...

clean:
	rm -rf bin dist
