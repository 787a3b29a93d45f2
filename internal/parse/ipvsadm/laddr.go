package ipvsadm

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// laddrHeadRE is the title of `ipvsadm -G` of Alibaba's LVS (and DPVS,
// which kept it): tools/ipvsadm/ipvsadm.c list_laddrs_print_title,
// "%-20s %-8s %-20s %-10s %-10s" of VIP:VPORT TOTAL SNAT_IP CONFLICTS CONNS.
var laddrHeadRE = regexp.MustCompile(`^VIP:VPORT\s+TOTAL\s+SNAT_IP\s+CONFLICTS\s+CONNS\s*$`)

// LocalAddrFormat reads `ipvsadm -G` (--get-laddr): each FULLNAT
// service with its local addresses. It comes before the ipvsadm format,
// whose command pattern takes every ipvsadm command.
func LocalAddrFormat() format.Format {
	return format.Format{
		Name:     "ipvsadm-laddr",
		Commands: format.Patterns(`^(?:\S*/)?ipvsadm\s+(?:\S+\s+)*?(?:-G|--get-laddr)\b`),
		Files:    format.Patterns(`^ipvsadm[-_](?:G|laddr|get-laddr)` + format.FileTail),
		Sniff: func(head string) bool {
			l := format.FirstLines(head, 1)
			return len(l) == 1 && laddrHeadRE.MatchString(strings.TrimSpace(l[0]))
		},
		Apply: format.LimitedLines(applyLocalAddrs),
	}
}

// ParseLocalAddrs reads `ipvsadm -G`: a service line (VIP:VPORT and the
// count of its local addresses) followed by a line per local address
// (its address, port conflicts and connections), all in fixed columns.
func ParseLocalAddrs(doc evidence.Doc) ([]*evidence.FNATLocalAddrs, []evidence.Problem) {
	var out []*evidence.FNATLocalAddrs
	var probs []evidence.Problem
	var cur *evidence.FNATLocalAddrs
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" || laddrHeadRE.MatchString(t) {
			continue
		}
		f := strings.Fields(t)
		indented := line != "" && (line[0] == ' ' || line[0] == '\t')
		switch {
		case !indented && len(f) == 2:
			vip, err := netip.ParseAddrPort(f[0])
			n, err2 := strconv.Atoi(f[1])
			if err != nil || err2 != nil {
				probs = append(probs, doc.Problemf(i, "ipvsadm -G: not a service line: %q", evidence.Clip(t, 80)))
				cur = nil
				continue
			}
			cur = &evidence.FNATLocalAddrs{VIP: vip, Total: n, Ref: doc.Ref(i, line)}
			out = append(out, cur)
		case indented && len(f) == 3 && cur != nil:
			a, err := netip.ParseAddr(f[0])
			conflicts, err2 := strconv.ParseUint(f[1], 10, 64)
			conns, err3 := strconv.ParseUint(f[2], 10, 64)
			if err != nil || err2 != nil || err3 != nil {
				probs = append(probs, doc.Problemf(i, "ipvsadm -G: not a local address line: %q", evidence.Clip(t, 80)))
				continue
			}
			cur.Addrs = append(cur.Addrs, evidence.FNATLocalAddr{Addr: a, Conflicts: conflicts, Conns: conns, Ref: doc.Ref(i, line)})
		default:
			probs = append(probs, doc.Problemf(i, "ipvsadm -G: line not understood: %q", evidence.Clip(t, 80)))
		}
	}
	return out, probs
}

func applyLocalAddrs(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	groups, probs := ParseLocalAddrs(doc)
	if len(groups) == 0 {
		return probs
	}
	h.IPVS = Merge(h.IPVS, &evidence.IPVS{LocalAddrs: groups})
	return probs
}
