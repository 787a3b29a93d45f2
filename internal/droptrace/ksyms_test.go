package droptrace

import (
	"io"
	"strings"
	"testing"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func TestParseKallsyms(t *testing.T) {
	k, err := parseKallsyms(stringsReader(`ffffffff81000000 T _text
ffffffff81001000 t ip_rcv_core
ffffffff81001000 t ip_rcv_core_alias
ffffffff81002000 D some_data
ffffffff81003000 T tcp_rcv_state_process
ffffffff81003800 W weak_fn
garbage line
ffffffffc0a00000 t ip_vs_leave	[ip_vs]
`))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[uint64]string{
		0xffffffff81001010: "ip_rcv_core_alias+0x10", // the last of equal addresses wins, like the kernel's own %pS
		0xffffffff81002100: "ip_rcv_core_alias+0x1100",
		0xffffffff81003001: "tcp_rcv_state_process+0x1",
		0xffffffffc0a00020: "ip_vs_leave+0x20 [ip_vs]",
		0x10:               "0x10",
		0:                  "0x0",
	} {
		if got := k.format(addr); got != want {
			t.Errorf("format(%#x) = %q, want %q", addr, got, want)
		}
	}
	lo, hi, ok := k.textRange("tcp_rcv_state_process")
	if !ok || lo != 0xffffffff81003000 || hi != 0xffffffff81003800 {
		t.Errorf("textRange = %#x %#x %v", lo, hi, ok)
	}
	if _, _, ok := k.textRange("ip_vs_leave"); ok {
		t.Error("range of a module symbol found: vmlinux functions only")
	}
}

func TestParseKallsymsHidden(t *testing.T) {
	_, err := parseKallsyms(stringsReader("0000000000000000 T _text\n0000000000000000 t ip_rcv_core\n"))
	if err == nil || !strings.Contains(err.Error(), "kptr_restrict") {
		t.Fatalf("all-zero kallsyms: %v", err)
	}
	if _, err := parseKallsyms(stringsReader("")); err == nil {
		t.Fatal("empty kallsyms accepted")
	}
	if _, err := parseKallsyms(stringsReader(strings.Repeat("x", 10000) + "\n")); err == nil {
		t.Fatal("over-long line accepted")
	}
}

func TestRealKallsyms(t *testing.T) {
	k, err := loadKsyms()
	if err != nil {
		t.Skipf("kallsyms not readable here: %v", err)
	}
	lo, hi, ok := k.textRange("tcp_v4_rcv")
	if !ok || hi <= lo {
		t.Fatalf("tcp_v4_rcv range %#x-%#x %v", lo, hi, ok)
	}
	if got := k.format(lo + 0x91); got != "tcp_v4_rcv+0x91" {
		t.Fatalf("format = %q", got)
	}
}
