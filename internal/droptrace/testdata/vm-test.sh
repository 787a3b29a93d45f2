#!/bin/bash
# Runs this package's tests as root in the project's lab VM (lab/lib/vm.sh:
# Debian's 6.1 kernel with kprobes, loadable ip_vs and BTF), where the
# IPVS probes can attach, and where the drop scenarios meet an older kernel
# (no kfree_skb rx_sk argument, other reason numbers, nf_hook_slow drops).
# ip_vs is loaded in the throw-away guest before the tests run; the tests
# themselves never load a module.
#
# usage: internal/droptrace/testdata/vm-test.sh [go test -run regexp]
#   default: every test. LAB_TIMEOUT (s) bounds the VM (default 900).
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUN=${1:-.}
[ -f lab/.cache/build/initramfs.gz ] || lab/lib/prepare.sh
# The guest sees the host's root read-only: a test binary built here runs
# there as is.
BIN=$(mktemp -d /tmp/droptrace-vm.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
go test -c -o "$BIN/droptrace.test" ./internal/droptrace
lab/lib/vm.sh -m 1024 -t "${LAB_TIMEOUT:-900}" -- bash -c "
    modprobe ip_vs && echo 'guest: kernel' \$(uname -r), ip_vs loaded &&
    cd '$BIN' && ./droptrace.test -test.count=1 -test.v -test.run '$RUN' 2>&1 |
        grep -vE '^=== (RUN|PAUSE|CONT)'; exit \${PIPESTATUS[0]}"
