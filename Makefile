# The two commands of the README:
#   make demo   diagnose a bundled example case
#   make test   everything: static checks, unit/fuzz-seed/e2e/privileged tests,
#               the static binary in an old Debian root, the QEMU lab
# Releases: make build (bin/lvsdoctor, static), make dist (dist/), make test-dist.
.PHONY: demo test deps check gotest lab build dist test-static test-dist fuzz bench

# What `lvsdoctor version` reports (internal/cli/version.go). DATE is the
# commit's date in UTC, not the clock, so two builds of one commit are byte
# for byte the same. Each may be given: make dist VERSION=v1.2.3.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE ?= $(shell TZ=UTC0 git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null)
# scripts/dist takes them from its environment (given to it alone: lab and
# test scripts have no use for them).
STAMP = VERSION='$(VERSION)' COMMIT='$(COMMIT)' DATE='$(DATE)'
CLI := github.com/lvsdoctor/lvsdoctor/internal/cli
LDFLAGS := -s -w -X $(CLI).Version=$(VERSION) -X $(CLI).Commit=$(COMMIT) -X $(CLI).Date=$(DATE)

# One static binary (no cgo: no libc to match), so it starts on the old
# userlands LVS directors run (CentOS 7's glibc 2.17); scripts/test-static
# proves it. -trimpath keeps the build machine's paths out of it, and
# -buildvcs=false the toolchain's own VCS stamp (the -X values say it all),
# which a builder's GOFLAGS would otherwise turn on or off.
build:
	CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$(LDFLAGS)" -o bin/lvsdoctor ./cmd/lvsdoctor

# Release artifacts in dist/: tarballs, .deb and .rpm for linux/amd64 and
# linux/arm64, and SHA256SUMS (scripts/dist; packaging/nfpm.yaml).
dist:
	$(STAMP) scripts/dist

# test-static (in `make test`): the static binary runs in the oldest Debian
# root the apt mirror serves, fetched once with debootstrap and cached; ~40 s
# the first time, ~10 s after; skipped without root or the mirror.
# test-dist (not in `make test`: it installs into this machine) builds the
# .deb, installs it with dpkg, runs it, removes it; ~25 s.
test-static:
	scripts/test-static

test-dist:
	$(STAMP) scripts/test-dist

demo:
	go run ./cmd/lvsdoctor diagnose examples/kvm-dr-nwfilter; test $$? -le 1

# deps installs what the tests need (root, Debian; nothing when it is all
# there), so that `make test` alone works on a fresh machine.
test: deps check gotest test-static lab

deps:
	scripts/test-deps

check:
	scripts/check

gotest:
	go test -count=1 ./...

lab:
	lab/run

# Each parser's fuzz target for FUZZTIME (default 60s) each.
fuzz:
	scripts/fuzz $(FUZZTIME)

bench:
	go test -run '^$$' -bench . -benchmem ./internal/...
