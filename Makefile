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

.PHONY: test postgres tools fmt-check vet lint unit build bench clean

## test: everything CI runs: PostgreSQL up, gofmt, go vet, golangci-lint, go test -race.
test: postgres tools fmt-check vet lint unit

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
	$(GOLANGCI) run ./...

unit: tools
	$(GO) test -race -count=1 -timeout 25m ./...

## build: the binaries, with version information, into bin/.
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/bdc-exporter ./exporter

## bench: side-by-side benchmarks at a documented scale (BENCH_USERS users for seeding).
bench: postgres
	BDC_BENCH_USERS=$(BENCH_USERS) $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 60m ./bench/...

clean:
	rm -rf bin dist
