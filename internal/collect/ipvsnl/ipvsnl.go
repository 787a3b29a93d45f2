// Package ipvsnl reads the kernel's IPVS table over generic netlink, the
// way ipvsadm does, and prints it as ipvsadm 1.31 prints it (`ipvsadm -Ln`,
// `-Ln --stats`, `-Ln --rate`, `-Ln --timeout`), so that hosts without
// ipvsadm (keepalived alone programs IPVS) still give per-service and
// per-real-server evidence that reads like the command's output.
//
// Read-only, and it never loads a module: resolving the "IPVS" generic
// netlink family makes the kernel request_module(ip_vs) when the family is
// not registered yet, so nothing here opens a netlink socket before
// /proc/net/ip_vs is seen to exist (ErrNotLoaded otherwise). Every request
// is a GET (IPVS_CMD_GET_INFO, _GET_SERVICE dump, _GET_DEST dump per
// service, _GET_CONFIG). The kernel answers them only to CAP_NET_ADMIN.
//
// Every function works in the network namespace of the calling OS thread.
//
// The text is ipvsadm 1.31's (print_service_entry, print_largenum,
// list_timeout of ipvsadm.c, and libipvs's parsing of the replies),
// including its quirks, so the files compare byte for byte with the real
// command on the same table:
//   - services and real servers are sorted with ipvsadm's comparators
//     (whose int subtraction wraps, e.g. 10.0.0.1 sorts after 192.0.2.1)
//     by glibc's merge sort, which is what qsort runs;
//   - a real server's counters other than bytes are read from the 64-bit
//     statistics with a 32-bit getter (libipvs ipvs_dests_parse_entry), so
//     past 2^32 they wrap as ipvsadm shows them; Dest.Stats keeps the
//     kernel's values;
//   - forwarding method 5 prints as the FULLNAT forks' ipvsadm prints it
//     ("FullNat"); any other unknown method as glibc prints a NULL string.
//
// Connections have no genetlink command: ipvsadm -Lnc reads
// /proc/net/ip_vs_conn, which the collector copies as is.
package ipvsnl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Bounds on one read: a director with this many services or real servers
// is far beyond any real one, and the text of it is still bounded.
const (
	MaxServices = 1 << 16
	MaxDests    = 1 << 20
)

var (
	// ErrNotLoaded: ip_vs is not loaded, and asking genetlink for it would
	// load it. Nothing was sent.
	ErrNotLoaded = errors.New("ip_vs is not loaded (no /proc/net/ip_vs): IPVS genetlink not asked, since resolving its family would load the module")
	// ErrTruncated is returned (wrapped, with what was read) past
	// MaxServices or MaxDests.
	ErrTruncated = errors.New("IPVS table truncated")
)

// A Table is what `ipvsadm -Ln` lists.
type Table struct {
	Info     Info
	Services []Service
}

// Info is IPVS_CMD_GET_INFO's answer.
type Info struct {
	Version     uint32 // 0x010201 is 1.2.1
	ConnTabSize uint32
}

// Config is IPVS_CMD_GET_CONFIG's answer: the connection timeouts in
// seconds (0 when the kernel has no TCP or UDP support in IPVS).
type Config struct {
	TCP, TCPFin, UDP uint32
}

// A Service is one virtual service. Values are as the kernel sends them
// (native byte order unless said).
type Service struct {
	AF       uint16
	Protocol uint16
	Addr     [16]byte // IPv4 in the first 4 bytes
	Port     uint16   // host order (the kernel sends it big-endian)
	FWMark   uint32
	Sched    string
	PE       string // persistence engine, "" when none
	Flags    uint32 // IP_VS_SVC_F_*: flags & mask as sent
	Timeout  uint32 // persistence, seconds
	// Netmask is the persistence granularity: for IPv4 the mask's bytes
	// in memory order (0xffffffff = /32), for IPv6 the prefix length.
	Netmask uint32
	Stats   Stats
	Dests   []Dest
}

// A Dest is one real server.
type Dest struct {
	AF           uint16 // the service's when the kernel does not say
	Addr         [16]byte
	Port         uint16 // host order
	FwdMethod    uint32 // IP_VS_CONN_F_FWD_MASK bits: 0 Masq, 1 Local, 2 Tunnel, 3 Route
	Weight       uint32
	UThresh      uint32
	LThresh      uint32
	ActiveConns  uint32
	InactConns   uint32
	PersistConns uint32
	TunType      uint8
	TunPort      uint16 // host order
	TunFlags     uint16
	Stats        Stats
}

// Stats are IPVS counters and rates (per second, as estimated).
type Stats struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
	CPS, InPPS, OutPPS, InBPS, OutBPS         uint64
}

// Test hooks: where ip_vs shows, what opens the socket, and a recorder of
// the raw answers (the lab capture's real dumps).
var (
	procIPVS              = "/proc/net/ip_vs"
	maxServices, maxDests = MaxServices, MaxDests
	dialGenl              = dial
	rawAnswer             func(cmd uint8, req, answer []byte)
)

// Loaded reports whether IPVS can be asked without loading a module.
func Loaded() error {
	if _, err := os.Stat(procIPVS); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ErrNotLoaded
		}
		return fmt.Errorf("ipvsnl: %w", err)
	}
	return nil
}

// Read dumps the services, their real servers and the IPVS version.
func Read(ctx context.Context) (*Table, error) {
	c, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	t := &Table{}
	if t.Info, err = c.info(); err != nil {
		return nil, err
	}
	svcs, err := c.services()
	if err != nil && !errors.Is(err, ErrTruncated) {
		return nil, err
	}
	truncErr := err
	ndests := 0
	for _, s := range svcs {
		s.Dests, err = c.dests(s, maxDests-ndests)
		switch {
		case errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT):
			continue // deleted since the services were listed
		case errors.Is(err, ErrTruncated):
			truncErr = err
		case err != nil:
			return nil, err
		}
		ndests += len(s.Dests)
		t.Services = append(t.Services, s)
		if truncErr != nil && ndests >= maxDests {
			break
		}
	}
	return t, truncErr
}

// ReadConfig asks for the connection timeouts.
func ReadConfig(ctx context.Context) (Config, error) {
	c, err := open(ctx)
	if err != nil {
		return Config{}, err
	}
	defer c.close()
	var cfg Config
	err = c.request(cmdGetConfig, nil, false, func(b []byte) error {
		var derr error
		cfg, derr = DecodeConfig(b)
		return derr
	})
	return cfg, err
}

// Show reads what format f lists and returns it as ipvsadm prints it.
func Show(ctx context.Context, f Format) ([]byte, error) {
	if f == FormatTimeout {
		cfg, err := ReadConfig(ctx)
		if err != nil {
			return nil, err
		}
		return cfg.Text(), nil
	}
	t, err := Read(ctx)
	if t == nil {
		return nil, err
	}
	return t.Text(f), err
}

type conn struct {
	nc     *netlink.Conn
	gc     *genetlink.Conn
	family uint16
}

func open(ctx context.Context) (*conn, error) {
	// the guard comes first: see the package comment
	if err := Loaded(); err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	nc, err := dialGenl(deadline)
	if err != nil {
		return nil, fmt.Errorf("ipvsnl: generic netlink socket: %w", err)
	}
	c := &conn{nc: nc, gc: genetlink.NewConn(nc)}
	fam, err := c.gc.GetFamily(familyName)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("ipvsnl: resolving the IPVS genetlink family: %w", explain(err))
	}
	c.family = fam.ID
	return c, nil
}

// dial opens a generic netlink socket whose reads and writes give up at
// deadline: a collection must not hang on a kernel that does not answer.
func dial(deadline time.Time) (*netlink.Conn, error) {
	nc, err := netlink.Dial(unix.NETLINK_GENERIC, nil)
	if err != nil {
		return nil, err
	}
	if err := nc.SetDeadline(deadline); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

func (c *conn) close() { _ = c.gc.Close() }

// explain names the usual cause of a refusal.
func explain(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%w (the kernel answers IPVS requests only to CAP_NET_ADMIN)", err)
	}
	return err
}

// request sends cmd (a dump when dump is set) and hands each answer's
// attributes to each; an error from each stops the reading.
func (c *conn) request(cmd uint8, attrs []byte, dump bool, each func([]byte) error) error {
	flags := netlink.Request
	if dump {
		flags |= netlink.Dump
	}
	req, err := c.gc.Send(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: genlVersion}, Data: attrs}, c.family, flags)
	if err != nil {
		return fmt.Errorf("ipvsnl: sending %s: %w", cmdName(cmd), explain(err))
	}
	var stop error
	for m, err := range c.nc.ReceiveIter() {
		if err != nil {
			return fmt.Errorf("ipvsnl: %s: %w", cmdName(cmd), explain(err))
		}
		if m.Header.Sequence != req.Header.Sequence || m.Header.Type != netlink.HeaderType(c.family) {
			continue
		}
		var gm genetlink.Message
		if err := gm.UnmarshalBinary(m.Data); err != nil {
			return fmt.Errorf("ipvsnl: %s: %w", cmdName(cmd), err)
		}
		if rawAnswer != nil {
			rawAnswer(cmd, attrs, gm.Data)
		}
		if stop = each(gm.Data); stop != nil {
			break
		}
	}
	if stop != nil && !errors.Is(stop, ErrTruncated) {
		return fmt.Errorf("ipvsnl: %s: %w", cmdName(cmd), stop)
	}
	return stop
}

func (c *conn) info() (Info, error) {
	var info Info
	got := false
	err := c.request(cmdGetInfo, nil, false, func(b []byte) error {
		var derr error
		info, derr = DecodeInfo(b)
		got = derr == nil
		return derr
	})
	if err == nil && !got {
		err = fmt.Errorf("ipvsnl: %s: no answer", cmdName(cmdGetInfo))
	}
	return info, err
}

func (c *conn) services() ([]Service, error) {
	var svcs []Service
	err := c.request(cmdGetService, nil, true, func(b []byte) error {
		if len(svcs) >= maxServices {
			return fmt.Errorf("more than %d services: %w", maxServices, ErrTruncated)
		}
		s, err := DecodeService(b)
		if err != nil {
			return err
		}
		svcs = append(svcs, s)
		return nil
	})
	return svcs, err
}

// destRequest names service s in a GET_DEST request, as libipvs does.
func destRequest(s Service) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
		n.Uint16(svcAttrAF, s.AF)
		if s.FWMark != 0 {
			n.Uint32(svcAttrFWMark, s.FWMark)
		} else {
			n.Uint16(svcAttrProtocol, s.Protocol)
			n.Bytes(svcAttrAddr, s.Addr[:])
			n.Bytes(svcAttrPort, []byte{byte(s.Port >> 8), byte(s.Port)})
		}
		return nil
	})
	return ae.Encode()
}

func (c *conn) dests(s Service, max int) ([]Dest, error) {
	attrs, err := destRequest(s)
	if err != nil {
		return nil, fmt.Errorf("ipvsnl: %w", err)
	}
	var ds []Dest
	err = c.request(cmdGetDest, attrs, true, func(b []byte) error {
		if len(ds) >= max {
			return fmt.Errorf("more than %d real servers: %w", maxDests, ErrTruncated)
		}
		d, err := DecodeDest(b, s.AF)
		if err != nil {
			return err
		}
		ds = append(ds, d)
		return nil
	})
	return ds, err
}

func cmdName(cmd uint8) string {
	switch cmd {
	case cmdGetService:
		return "IPVS_CMD_GET_SERVICE"
	case cmdGetDest:
		return "IPVS_CMD_GET_DEST"
	case cmdGetConfig:
		return "IPVS_CMD_GET_CONFIG"
	case cmdGetInfo:
		return "IPVS_CMD_GET_INFO"
	}
	return fmt.Sprintf("IPVS command %d", cmd)
}
