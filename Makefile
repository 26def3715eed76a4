# proxmox_backup_exporter

GO        ?= go
BINARY    := proxmox_backup_exporter
VERSION   ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILDDATE ?= $(shell date -u +%Y%m%d-%H:%M:%S)
BUILDUSER ?= $(shell whoami 2>/dev/null || echo unknown)@$(shell hostname 2>/dev/null || echo unknown)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) \
             -X $(VPKG).Branch=$(BRANCH) -X $(VPKG).BuildUser=$(BUILDUSER) -X $(VPKG).BuildDate=$(BUILDDATE)

.PHONY: all build check test lint unit e2e tools generate demo simulator bench mutation clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BINARY) .

## check: every test, as CI runs it: fetches the tools into .tools/ (no root),
## then formatting, vet, unit tests with the race detector (fuzz seed corpora,
## golden files, the mixin's rules on both promtools), the end-to-end test on
## both Prometheus/Alertmanager sets, and the status page in Chromium.
check: tools lint unit e2e

## test: the quick part of check: formatting, vet and the unit tests.
test: lint unit

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

## demo: the simulator and the exporter together (Ctrl-C stops both).
demo:
	scripts/demo.sh

simulator:
	CGO_ENABLED=0 $(GO) build -trimpath -o proxmox-simulator ./cmd/proxmox-simulator

## bench: Go benchmarks of the hot paths, then the scale benchmark of the
## exporter binary against the simulator (docs/performance.md).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./proxmox/... ./collector/
	$(GO) run ./cmd/scalebench --exporter ./$(BINARY)
	$(GO) run ./cmd/scalebench --exporter ./$(BINARY) --throughput 20s

## mutation: plant small faults in the decision code one at a time and run
## its tests against each (slow; not part of check). docs/testing.md keeps
## the figures. MUTANTS sets the sample per package (0: all).
MUTANTS ?= 60
mutation:
	$(GO) run ./cmd/mutate -max $(MUTANTS) ./proxmox/calendar ./proxmox/tasklog ./collector ./exporter ./config
	$(GO) run ./cmd/mutate -max $(MUTANTS) -also ./exporter ./verdict

## e2e: simulator, exporter, Prometheus and Alertmanager end to end.
e2e:
	E2E=1 $(GO) test -count=1 -v -run . ./e2e/

## tools: fetch promtool, prometheus, alertmanager and amtool into .tools/:
## Debian's (the oldest supported) and the current releases built from source.
tools:
	scripts/fetch-tools.sh

## generate: rewrite alerts/ and dashboards/ from the mixin.
generate:
	scripts/generate-mixin.sh

clean:
	rm -f $(BINARY)
