# proxmox_backup_exporter

GO        ?= go
BINARY    := proxmox_backup_exporter
VERSION   ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILDDATE ?= $(shell date -u +%Y%m%d-%H:%M:%S)
BUILDUSER ?= $(shell whoami 2>/dev/null || echo unknown)@$(shell hostname 2>/dev/null || echo unknown)
VPKG      := github.com/prometheus/common/version
# Recursive (=): the release builds set their own BUILDDATE.
LDFLAGS    = -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) \
             -X $(VPKG).Branch=$(BRANCH) -X $(VPKG).BuildUser=$(BUILDUSER) -X $(VPKG).BuildDate=$(BUILDDATE)

.PHONY: all build check test lint unit e2e tools generate demo simulator bench mutation clean package release image FORCE

# Releases: both architectures, dated by the last commit so that the same
# commit builds the same files (SOURCE_DATE_EPOCH, as Debian's builds do).
ARCHES     := amd64 arm64
HOSTARCH   := $(shell $(GO) env GOARCH)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
DISTDATE   := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y%m%d-%H:%M:%S)
MAINTAINER ?= proxmox_backup_exporter maintainers <maintainers@proxmox-backup-exporter.invalid>
# The image's org.opencontainers.image.source label: where the sources are.
SOURCE_URL ?= $(shell git config --get remote.origin.url 2>/dev/null || echo unknown)
IMAGE      ?= proxmox_backup_exporter:$(VERSION)
# DIST: where package, release and image write (the tests use their own).
DIST       ?= dist
DISTBIN    := $(foreach a,$(ARCHES),$(DIST)/build/linux-$(a)/$(BINARY))

all: build

# OUT: where the binary goes.
OUT ?= $(BINARY)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(OUT) .

# The release binaries: the same flags as build, cross-compiled (static, so
# GOARCH is all it takes). Always rebuilt; Go's cache makes that quick. The
# Dockerfile builds with this target too: given the same REVISION, BRANCH,
# BUILDUSER and SOURCE_DATE_EPOCH (and Go release), the same binary.
$(DIST)/build/%: BUILDDATE = $(DISTDATE)
$(DIST)/build/linux-%/$(BINARY): FORCE
	CGO_ENABLED=0 GOOS=linux GOARCH=$* $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ .

$(DIST)/build/$(BINARY).1.gz: $(DIST)/build/linux-$(HOSTARCH)/$(BINARY) scripts/man-page.sh
	scripts/man-page.sh $< '$(VERSION)' $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%d) | gzip -9n >$@

$(DIST)/build/changelog.gz: packaging/changelog
	@mkdir -p $(@D)
	gzip -9n <$< >$@

$(DIST)/build/README.md.gz: README.md
	@mkdir -p $(@D)
	gzip -9n <$< >$@

## package: the Debian packages, dist/proxmox-backup-exporter_VERSION_ARCH.deb
## (nfpm, a Go tool pinned in go.mod; packaging/).
package: $(DISTBIN) $(DIST)/build/$(BINARY).1.gz $(DIST)/build/changelog.gz $(DIST)/build/README.md.gz
	rm -f $(DIST)/proxmox-backup-exporter_*.deb
	for arch in $(ARCHES); do \
		ARCH=$$arch VERSION='$(VERSION)' DIST='$(DIST)' MAINTAINER='$(MAINTAINER)' SOURCE_DATE_EPOCH='$(SOURCE_DATE_EPOCH)' \
			$(GO) tool nfpm package --config packaging/nfpm.yaml --packager deb --target '$(DIST)/' || exit 1; \
	done

## release: the packages, plus dist/proxmox_backup_exporter-VERSION.linux-ARCH.tar.gz
## (binary, README, licence, examples, alerts, dashboards) and dist/SHA256SUMS.
release: package
	rm -rf $(DIST)/build/archive $(DIST)/*.tar.gz $(DIST)/SHA256SUMS
	for arch in $(ARCHES); do \
		name=$(BINARY)-$(VERSION).linux-$$arch; dir=$(DIST)/build/archive/$$name; \
		mkdir -p $$dir && cp $(DIST)/build/linux-$$arch/$(BINARY) README.md LICENSE $$dir/ && \
		cp -R examples alerts dashboards $$dir/ && \
		tar --sort=name --owner=0 --group=0 --numeric-owner --mode=u+w,go-w,a+rX --mtime=@$(SOURCE_DATE_EPOCH) \
			-C $(DIST)/build/archive -cf - $$name | gzip -9n >$(DIST)/$$name.tar.gz || exit 1; \
	done
	cd '$(DIST)' && sha256sum *.tar.gz *.deb >SHA256SUMS

## image: the container image, built with buildah from the release binary
## (scripts/build-image.sh; no base image, nothing pulled).
image: $(DIST)/build/linux-$(HOSTARCH)/$(BINARY)
	VERSION='$(VERSION)' REVISION='$(REVISION)' SOURCE_URL='$(SOURCE_URL)' SOURCE_DATE_EPOCH='$(SOURCE_DATE_EPOCH)' \
		scripts/build-image.sh $(DIST)/build/linux-$(HOSTARCH)/$(BINARY) '$(IMAGE)'

FORCE:

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

# -timeout: on a new machine packaging/ first compiles the release binaries
# for both architectures and nfpm, which can take minutes on two cores.
unit:
	$(GO) test -race -count=1 -timeout 20m ./...

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
	rm -rf $(DIST)
