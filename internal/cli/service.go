package cli

import (
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/intake"
)

// serviceFlags are the flags naming the service, as diagnose and trace
// take them.
type serviceFlags struct {
	vip   string // VIP or VIP:PORT
	port  int
	proto string
	mode  string
}

// service reads the flags: a usage error names the flag at fault.
func (f serviceFlags) service() (vip netip.Addr, port uint16, proto, mode string, err error) {
	if f.vip != "" {
		if vip, port, err = intake.ParseVIP(f.vip); err != nil {
			return vip, 0, "", "", usageErr("--vip: %v", err)
		}
	}
	if f.port != 0 {
		if f.port < 0 || f.port > 65535 {
			return vip, 0, "", "", usageErr("--port %d: not a port number", f.port)
		}
		port = uint16(f.port)
	}
	switch proto = strings.ToLower(f.proto); proto {
	case "", "tcp", "udp", "sctp":
	default:
		return vip, 0, "", "", usageErr("--proto %q: want tcp, udp or sctp", f.proto)
	}
	if f.mode != "" {
		switch mode = intake.NormalizeMode(f.mode); mode {
		case "dr", "tun", "nat", "fnat":
		default:
			return vip, 0, "", "", usageErr("--mode %q: want dr, tun, nat or fnat", f.mode)
		}
	}
	return vip, port, proto, mode, nil
}
