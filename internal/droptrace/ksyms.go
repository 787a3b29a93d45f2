package droptrace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// kallsymsPath is where kernel text symbols come from. Without root (or
// with kptr_restrict) every address in it reads 0.
const kallsymsPath = "/proc/kallsyms"

// maxKallsymsLine bounds one line; real ones are under 300 bytes.
const maxKallsymsLine = 4096

type ksym struct {
	addr   uint64
	name   string // "ip_rcv_finish_core", "ip_vs_leave"
	module string // "ip_vs", "" for vmlinux
}

// ksyms resolves kernel text addresses to "symbol+0xoffset".
type ksyms struct {
	syms []ksym // sorted by addr
}

// loadKsyms reads /proc/kallsyms.
func loadKsyms() (*ksyms, error) {
	f, err := os.Open(kallsymsPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	k, err := parseKallsyms(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kallsymsPath, err)
	}
	return k, nil
}

// parseKallsyms reads the kallsyms format ("ffffffff81ff79f0 t name
// [module]"), keeping text symbols only. It needs at least one non-zero
// address: all zeros means the reader may not see them.
func parseKallsyms(r io.Reader) (*ksyms, error) {
	k := &ksyms{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxKallsymsLine)
	zero := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		switch f[1] {
		case "t", "T", "w", "W":
		default:
			continue
		}
		a, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			continue
		}
		if a == 0 {
			zero++
			continue
		}
		var mod string
		if len(f) > 3 {
			mod = strings.Trim(f[3], "[]")
		}
		k.syms = append(k.syms, ksym{a, f[2], mod})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(k.syms) == 0 {
		if zero > 0 {
			return nil, errors.New("every address is 0: not root, or kernel.kptr_restrict hides them")
		}
		return nil, errors.New("no text symbols")
	}
	sort.SliceStable(k.syms, func(i, j int) bool { return k.syms[i].addr < k.syms[j].addr })
	return k, nil
}

// lookup returns the symbol containing addr and the offset into it.
func (k *ksyms) lookup(addr uint64) (ksym, uint64, bool) {
	if k == nil || addr == 0 {
		return ksym{}, 0, false
	}
	i := sort.Search(len(k.syms), func(i int) bool { return k.syms[i].addr > addr }) - 1
	if i < 0 {
		return ksym{}, 0, false
	}
	return k.syms[i], addr - k.syms[i].addr, true
}

// format renders addr as the kernel's %pS does, "sym+0xoff" or
// "sym+0xoff [module]", or as a bare hex address.
func (k *ksyms) format(addr uint64) string {
	s, off, ok := k.lookup(addr)
	if !ok {
		return fmt.Sprintf("%#x", addr)
	}
	loc := s.name + "+0x" + strconv.FormatUint(off, 16)
	if s.module != "" {
		loc += " [" + s.module + "]"
	}
	return loc
}

// textRange returns [start, end) of a vmlinux function: from its address
// to the next symbol's.
func (k *ksyms) textRange(name string) (uint64, uint64, bool) {
	if k == nil {
		return 0, 0, false
	}
	for i, s := range k.syms {
		if s.name != name || s.module != "" {
			continue
		}
		for j := i + 1; j < len(k.syms); j++ {
			if k.syms[j].addr > s.addr {
				return s.addr, k.syms[j].addr, true
			}
		}
		return 0, 0, false
	}
	return 0, 0, false
}
