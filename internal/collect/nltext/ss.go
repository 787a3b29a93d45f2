package nltext

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Listeners renders `ss -lntup`: listening TCP and unconnected UDP
// sockets of both families, with the processes holding them found the way
// ss -p finds them (a scan of /proc/*/fd for socket inodes).
//
// The sockets come from sock_diag when the kernel already has it (built
// in, or its modules loaded): asking for it otherwise would make the kernel
// load sock_diag, inet_diag, tcp_diag and udp_diag, which a read-only
// collector must not cause. Then they come from /proc/net/{tcp,udp}{,6},
// as ss itself falls back to; that text says "*" for every IPv6 wildcard
// (/proc does not tell IPV6_V6ONLY) and 0 for a listener's Send-Q.
func Listeners() ([]byte, error) {
	var socks []sockEntry
	var err error
	if !forceProcNet && diagLoaded() {
		socks, err = diagSocketsFn()
		if err != nil {
			// The kernel lacks sock_diag for some family and cannot load
			// it (built without CONFIG_INET_DIAG or udp_diag, module
			// loading disabled, as on hardened hosts): /proc/net has
			// every socket, and ss falls back to it too.
			if ps, perr := procSockets(); perr == nil {
				socks, err = ps, nil
			}
		}
	} else {
		socks, err = procSockets()
	}
	if socks == nil && err != nil {
		return nil, err
	}
	var idx linkIndex
	for _, s := range socks {
		if s.iface != 0 {
			links, _ := dumpLinks()
			idx = indexLinks(links)
			break
		}
	}
	users, uerr := scanSocketUsers()
	out, rerr := renderSS(socks, users, idx)
	return out, joinErr(joinErr(err, uerr), rerr)
}

// forceProcNet makes Listeners read /proc/net as it does when sock_diag is
// not in the kernel; tests set it to check that path on a kernel that has
// sock_diag.
var forceProcNet bool

// diagSocketsFn is diagSockets; tests replace it to play a kernel that
// answers no sock_diag request.
var diagSocketsFn = diagSockets

// sockEntry is one socket as ss shows it.
type sockEntry struct {
	proto        string // "tcp", "udp"
	state        uint8  // TCP_* state
	local, peer  netip.Addr
	lport, rport uint16
	iface        uint32
	rq, wq       uint32
	inode        uint32
	v6only       bool
}

// TCP states ss -l asks for: LISTEN for TCP, CLOSE ("UNCONN") for UDP.
const (
	tcpEstablished = 1
	tcpClose       = 7
	tcpListen      = 10
	listenStates   = 1<<tcpListen | 1<<tcpClose
)

// diagModules are what a sock_diag dump of TCP and UDP sockets needs.
var diagModules = []string{"sock_diag", "inet_diag", "tcp_diag", "udp_diag"}

// diagLoaded reports whether asking for sock_diag cannot load a module:
// the kernel cannot load modules at all, or every module it would need is
// loaded or built in.
func diagLoaded() bool {
	var uts unix.Utsname
	release := ""
	if unix.Uname(&uts) == nil {
		release = unix.ByteSliceToString(uts.Release[:])
	}
	return diagLoadedAt(moduleFiles{
		procModules:     "/proc/modules",
		modulesDisabled: "/proc/sys/kernel/modules_disabled",
		builtin:         filepath.Join("/lib/modules", release, "modules.builtin"),
		sysModule:       "/sys/module",
	})
}

// moduleFiles are where the kernel tells which modules it has.
type moduleFiles struct {
	procModules, modulesDisabled, builtin, sysModule string
}

func diagLoadedAt(f moduleFiles) bool {
	mods, err := os.ReadFile(f.procModules)
	if err != nil {
		return true // no CONFIG_MODULES: nothing can be loaded
	}
	if b, err := os.ReadFile(f.modulesDisabled); err == nil && strings.TrimSpace(string(b)) == "1" {
		return true
	}
	loaded := map[string]bool{}
	for _, line := range strings.Split(string(mods), "\n") {
		if fs := strings.Fields(line); len(fs) > 0 {
			loaded[fs[0]] = true
		}
	}
	builtin, _ := os.ReadFile(f.builtin)
	builtin = append([]byte("\n"), builtin...)
	for _, m := range diagModules {
		if loaded[m] || bytes.Contains(builtin, []byte("/"+m+".ko\n")) {
			continue
		}
		// Built-in code with parameters shows here even when
		// modules.builtin is missing.
		if _, err := os.Stat(filepath.Join(f.sysModule, m)); err == nil {
			continue
		}
		return false
	}
	return true
}

const (
	sockDiagByFamily  = 20 // SOCK_DIAG_BY_FAMILY
	inetDiagReqLen    = 56 // struct inet_diag_req_v2
	inetDiagMsgLen    = 72 // struct inet_diag_msg
	inetDiagSKV6Only  = 11 // INET_DIAG_SKV6ONLY
	netlinkSockDiag   = 4  // NETLINK_SOCK_DIAG
	procNetLineMaxLen = 4096
)

// diagSockets dumps UDP then TCP, IPv4 then IPv6, in the order ss does.
func diagSockets() ([]sockEntry, error) {
	var out []sockEntry
	var errs error
	for _, p := range []struct {
		name  string
		proto uint8
	}{{"udp", unix.IPPROTO_UDP}, {"tcp", unix.IPPROTO_TCP}} {
		for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
			req := make([]byte, inetDiagReqLen)
			req[0], req[1] = fam, p.proto
			binary.NativeEndian.PutUint32(req[4:], listenStates)
			msgs, err := dump(netlinkSockDiag, sockDiagByFamily, sockDiagByFamily, req)
			if err != nil {
				errs = joinErr(errs, fmt.Errorf("sock_diag %s family %d: %w", p.name, fam, err))
			}
			for _, m := range msgs {
				if e, ok := parseDiagMsg(m, p.name); ok {
					out = append(out, e)
				}
			}
		}
	}
	return out, errs
}

func parseDiagMsg(m []byte, proto string) (sockEntry, bool) {
	if len(m) < inetDiagMsgLen {
		return sockEntry{}, false
	}
	e := sockEntry{proto: proto, state: m[1]}
	fam := m[0]
	id := m[4:52]
	e.lport = binary.BigEndian.Uint16(id[0:])
	e.rport = binary.BigEndian.Uint16(id[2:])
	if fam == unix.AF_INET {
		e.local = netip.AddrFrom4([4]byte(id[4:8]))
		e.peer = netip.AddrFrom4([4]byte(id[20:24]))
	} else {
		e.local = netip.AddrFrom16([16]byte(id[4:20]))
		e.peer = netip.AddrFrom16([16]byte(id[20:36]))
	}
	e.iface = binary.NativeEndian.Uint32(id[36:])
	e.rq = binary.NativeEndian.Uint32(m[56:])
	e.wq = binary.NativeEndian.Uint32(m[60:])
	e.inode = binary.NativeEndian.Uint32(m[68:])
	if v, ok := parseAttrs(m[inetDiagMsgLen:]).u8(inetDiagSKV6Only); ok {
		e.v6only = v != 0
	}
	return e, e.state == tcpListen || e.state == tcpClose
}

// procSockets reads /proc/net/{udp,udp6,tcp,tcp6} as ss does without
// sock_diag.
func procSockets() ([]sockEntry, error) {
	var out []sockEntry
	var errs error
	for _, f := range []struct{ file, proto string }{
		{"udp", "udp"}, {"udp6", "udp"}, {"tcp", "tcp"}, {"tcp6", "tcp"},
	} {
		path := procNetDir() + f.file
		fh, err := os.Open(path)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = joinErr(errs, err)
			}
			continue
		}
		sc := bufio.NewScanner(io.LimitReader(fh, MaxOutput))
		sc.Buffer(make([]byte, procNetLineMaxLen), procNetLineMaxLen)
		first := true
		for sc.Scan() {
			if first {
				first = false
				continue
			}
			if e, ok := parseProcNetLine(sc.Text(), f.proto); ok {
				out = append(out, e)
			}
			if len(out) >= MaxMessages {
				break
			}
		}
		if err := sc.Err(); err != nil {
			errs = joinErr(errs, fmt.Errorf("%s: %w", path, err))
		}
		fh.Close()
	}
	return out, errs
}

// procNetDir is /proc/net of the calling thread's namespace: /proc/net
// itself follows the process's main thread, which may be elsewhere.
func procNetDir() string {
	if _, err := os.Stat("/proc/thread-self/net"); err == nil {
		return "/proc/thread-self/net/"
	}
	return "/proc/net/"
}

// parseProcNetLine reads "sl local rem st tx:rx tr:when retrnsmt uid
// timeout inode ..." from /proc/net/tcp and friends.
func parseProcNetLine(line, proto string) (sockEntry, bool) {
	f := strings.Fields(line)
	if len(f) < 10 {
		return sockEntry{}, false
	}
	e := sockEntry{proto: proto}
	var ok bool
	if e.local, e.lport, ok = procAddr(f[1]); !ok {
		return e, false
	}
	if e.peer, e.rport, ok = procAddr(f[2]); !ok {
		return e, false
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return e, false
	}
	e.state = uint8(st)
	if e.state != tcpListen && e.state != tcpClose {
		return e, false
	}
	tx, rx, _ := strings.Cut(f[4], ":")
	w, _ := strconv.ParseUint(tx, 16, 32)
	r, _ := strconv.ParseUint(rx, 16, 32)
	e.wq, e.rq = uint32(w), uint32(r)
	ino, err := strconv.ParseUint(f[9], 10, 32)
	if err != nil {
		return e, false
	}
	e.inode = uint32(ino)
	return e, true
}

// procAddr reads "0100007F:0050" or the 32-hex-digit IPv6 form; each
// 32-bit word is in host byte order.
func procAddr(s string) (netip.Addr, uint16, bool) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.Addr{}, 0, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil || (len(h) != 8 && len(h) != 32) {
		return netip.Addr{}, 0, false
	}
	var b [16]byte
	for i := 0; i < len(h)/8; i++ {
		w, err := strconv.ParseUint(h[i*8:i*8+8], 16, 32)
		if err != nil {
			return netip.Addr{}, 0, false
		}
		binary.NativeEndian.PutUint32(b[i*4:], uint32(w))
	}
	if len(h) == 8 {
		return netip.AddrFrom4([4]byte(b[:4])), uint16(port), true
	}
	return netip.AddrFrom16(b), uint16(port), true
}

// sockUser is one file descriptor that holds a socket.
type sockUser struct {
	comm    string
	pid, fd int
}

// Bounds on the /proc scan: a host with millions of descriptors still
// answers in bounded memory.
const (
	maxScanFDs   = 4_000_000
	maxUsersKept = 1_000_000
)

// scanSocketUsers maps socket inodes to the descriptors that hold them,
// each list newest-scanned first, which is the order ss prints.
func scanSocketUsers() (map[uint32][]sockUser, error) {
	users := map[uint32][]sockUser{}
	d, err := os.Open("/proc")
	if err != nil {
		return users, fmt.Errorf("ss -p: %w", err)
	}
	defer d.Close()
	pids, err := d.Readdirnames(-1) // directory order, as ss's readdir
	if err != nil {
		return users, fmt.Errorf("ss -p: reading /proc: %w", err)
	}
	seen, kept := 0, 0
	for _, p := range pids {
		pid, err := strconv.Atoi(p)
		if err != nil || pid <= 0 {
			continue
		}
		fdDir := "/proc/" + p + "/fd"
		fh, err := os.Open(fdDir)
		if err != nil {
			continue // gone, or not ours to see
		}
		fds, _ := fh.Readdirnames(-1)
		fh.Close()
		comm := ""
		for _, fdName := range fds {
			if seen++; seen > maxScanFDs {
				return users, fmt.Errorf("ss -p: more than %d descriptors: %w", maxScanFDs, ErrTruncated)
			}
			fd, err := strconv.Atoi(fdName)
			if err != nil {
				continue
			}
			target, err := os.Readlink(fdDir + "/" + fdName)
			if err != nil || !strings.HasPrefix(target, "socket:[") {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]"), 10, 32)
			if err != nil {
				continue
			}
			if comm == "" {
				comm = procComm(p)
			}
			if kept++; kept > maxUsersKept {
				return users, fmt.Errorf("ss -p: more than %d sockets: %w", maxUsersKept, ErrTruncated)
			}
			users[uint32(ino)] = append([]sockUser{{comm, pid, fd}}, users[uint32(ino)]...)
		}
	}
	return users, nil
}

// procComm reads the command name from /proc/PID/stat the way ss does:
// the text between the first "(" and the first ")" after it.
func procComm(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return ""
	}
	i := bytes.IndexByte(b, '(')
	if i < 0 {
		return ""
	}
	b = b[i+1:]
	if j := bytes.IndexByte(b, ')'); j >= 0 {
		b = b[:j]
	}
	return string(b)
}

var ssStateNames = map[uint8]string{1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
	6: "TIME-WAIT", 7: "UNCONN", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING"}

// ss's columns for `ss -lntup` (Netid..Process; the extra-info column
// is off without -e/-i/-m).
type ssColumn struct {
	header     string
	ldelim     string
	alignRight bool
}

var ssColumns = []ssColumn{
	{"Netid", "", false}, {"State", " ", false}, {"Recv-Q", " ", false}, {"Send-Q", " ", false},
	{"Local Address:", " ", true}, {"Port", "", false}, {"Peer Address:", " ", true}, {"Port", "", false},
	{"Process", "", false},
}

// ssAddr prints an address as ss's inet_addr_print: IPv6 in brackets, the
// IPv6 wildcard as "*" unless the socket is IPV6_V6ONLY.
func ssAddr(a netip.Addr, v6only bool, ifname string) string {
	s := ""
	switch {
	case a.Is4():
		s = a.String()
	case !v6only && a == netip.IPv6Unspecified():
		s = "*"
	default:
		s = "[" + fmtAddr(a) + "]"
	}
	if ifname != "" {
		s += "%" + ifname
	}
	return s + ":"
}

func ssPort(p uint16) string {
	if p == 0 {
		return "*"
	}
	return strconv.Itoa(int(p))
}

// renderSS lays the table out as ss does when its output is not a
// terminal: each column as wide as its widest cell, plus its delimiter.
func renderSS(socks []sockEntry, users map[uint32][]sockUser, idx linkIndex) ([]byte, error) {
	rows := make([][]string, 0, len(socks)+1)
	head := make([]string, len(ssColumns))
	for i, c := range ssColumns {
		head[i] = c.header
	}
	rows = append(rows, head)
	for _, s := range socks {
		ifname := ""
		if s.iface != 0 {
			ifname = idx.name(int32(s.iface))
		}
		proc := ""
		if us := users[s.inode]; len(us) > 0 && s.inode != 0 {
			parts := make([]string, len(us))
			for i, u := range us {
				parts[i] = fmt.Sprintf("(\"%s\",pid=%d,fd=%d)", u.comm, u.pid, u.fd)
			}
			proc = " users:(" + strings.Join(parts, ",") + ")"
		}
		rows = append(rows, []string{
			s.proto, ssStateNames[s.state], fmt.Sprintf("%-6d", int32(s.rq)), fmt.Sprintf("%-6d", int32(s.wq)),
			ssAddr(s.local, s.v6only, ifname), ssPort(s.lport), ssAddr(s.peer, s.v6only, ""), ssPort(s.rport), proc,
		})
	}
	widths := make([]int, len(ssColumns))
	for r, row := range rows {
		for i, cell := range row {
			// ss measures a cell when it moves past it; the last row's
			// last cell is never moved past, so never measured.
			if r == len(rows)-1 && r > 0 && i == len(row)-1 {
				continue
			}
			widths[i] = max(widths[i], len(cell))
		}
	}
	first := true
	for i := range widths {
		if !first && widths[i] > 0 {
			widths[i] += len(ssColumns[i].ldelim)
		}
		if widths[i] > 0 {
			first = false
		}
	}
	var o outBuf
	for _, row := range rows {
		var line strings.Builder
		for i, cell := range row {
			printed := 0
			if i > 0 {
				line.WriteString(ssColumns[i].ldelim)
				printed = len(ssColumns[i].ldelim)
			}
			if ssColumns[i].alignRight {
				if pad := widths[i] - len(cell) - printed; pad > 0 {
					line.WriteString(strings.Repeat(" ", pad))
					printed += pad
				}
			}
			line.WriteString(cell)
			printed += len(cell)
			if !ssColumns[i].alignRight {
				if pad := widths[i] - printed; pad > 0 {
					line.WriteString(strings.Repeat(" ", pad))
				}
			}
		}
		line.WriteByte('\n')
		o.str(line.String())
	}
	return o.result("ss -lntup", nil)
}
