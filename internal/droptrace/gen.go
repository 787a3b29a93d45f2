package droptrace

// The BPF objects and their Go bindings are generated from bpf/*.c and
// committed, so `go build` needs no C toolchain. scripts/bpf-generate
// reruns these lines with clang-14 (Debian 12: apt-get install clang-14
// llvm-14); scripts/bpf-generate --check verifies that the committed files
// are what the sources compile to. The kprobe object is per architecture
// (pt_regs differ); the tracepoint object is not.
//
//go:generate go tool bpf2go -go-package droptrace -cflags "-O2 -g -Wall -Werror" -target bpfel -type event drops bpf/drops.bpf.c -- -I./bpf -I./bpf/headers
//go:generate go tool bpf2go -go-package droptrace -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 ipvsProbes bpf/ipvs_probes.bpf.c -- -I./bpf -I./bpf/headers
