# The two commands of the README:
#   make demo   diagnose a bundled example case
#   make test   everything: static checks, unit/fuzz-seed/e2e/privileged tests, the QEMU lab
.PHONY: demo test check gotest lab build fuzz bench

build:
	go build -o bin/lvsdoctor ./cmd/lvsdoctor

demo:
	go run ./cmd/lvsdoctor diagnose examples/kvm-dr-nwfilter; test $$? -le 1

test: check gotest lab

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
