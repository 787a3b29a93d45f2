package ipvsadm

import (
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// ParseSave parses `ipvsadm -S[n]` (the rules form: -A/-a lines), which is
// also what /etc/sysconfig/ipvsadm and `ipvsadm-save` hold.
func ParseSave(doc evidence.Doc) (*evidence.IPVS, []evidence.Problem) {
	ipvs := &evidence.IPVS{}
	probs := problems{doc: doc}
	index := map[string]*evidence.VirtualService{}
	lines := doc.Lines()
	var streak []pending
	flush := func() {
		for _, b := range streak {
			probs.add(b.line, "not an ipvsadm rule: %q", b.text)
		}
		streak = streak[:0]
	}
	for i, line := range lines {
		s := strings.TrimSpace(line)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if f := strings.Fields(s); f[0] != "-A" && f[0] != "-a" && f[0] != "-E" && f[0] != "-e" && f[0] != "ipvsadm" && !strings.HasPrefix(f[0], "--") {
			if _, bad := unavailableLine(line); !bad {
				streak = append(streak, pending{i, evidence.Clip(s, 80)})
				if len(ipvs.Services) > 0 && len(streak) >= 3 {
					probs.add(streak[0].line, "%d more lines from here on not understood (text pasted after the output?)", len(lines)-streak[0].line)
					streak = nil
					break
				}
				continue
			}
		}
		flush()
		t := strings.Fields(s)
		if t[0] == "ipvsadm" { // a script of ipvsadm commands
			t = t[1:]
			if len(t) == 0 {
				continue
			}
		}
		switch t[0] {
		case "-A", "--add-service", "-E", "--edit-service":
			svc, ok := saveService(doc, &probs, i, line, t[1:])
			if !ok {
				continue
			}
			if old, dup := index[keyOf(svc)]; dup {
				old.Scheduler, old.Flags, old.Persistent, old.Ref = svc.Scheduler, svc.Flags, svc.Persistent, svc.Ref
				continue
			}
			index[keyOf(svc)] = svc
			ipvs.Services = append(ipvs.Services, svc)
		case "-a", "--add-server", "-e", "--edit-server":
			saveDest(doc, &probs, i, line, t[1:], ipvs, index)
		default:
			if _, bad := unavailableLine(line); bad {
				probs.add(i, "ipvsadm could not read the IPVS table: %s", strings.TrimSpace(line))
				continue
			}
			probs.add(i, "not an ipvsadm rule: %q", evidence.Clip(s, 80))
		}
	}
	flush()
	return ipvs, probs.done()
}

// svcSpec reads the virtual service option (-t/-u/--sctp-service/-f) at
// t[k], returning the service skeleton and how many tokens it used.
func svcSpec(t []string, k int) (*evidence.VirtualService, int, string) {
	switch t[k] {
	case "-t", "--tcp-service", "-u", "--udp-service", "--sctp-service", "-f", "--fwmark-service":
	default:
		return nil, 0, ""
	}
	if k+1 >= len(t) {
		return nil, 0, "missing virtual service address"
	}
	svc := &evidence.VirtualService{}
	switch t[k] {
	case "-t", "--tcp-service":
		svc.Proto = "TCP"
	case "-u", "--udp-service":
		svc.Proto = "UDP"
	case "--sctp-service":
		svc.Proto = "SCTP"
	case "-f", "--fwmark-service":
		svc.Proto = "FWM"
		m, err := strconv.ParseUint(t[k+1], 10, 32)
		if err != nil {
			return nil, 0, "bad firewall mark " + strconv.Quote(evidence.Clip(t[k+1], 80))
		}
		svc.FWMark = uint32(m)
		return svc, 2, ""
	default:
		return nil, 0, ""
	}
	a, p, kind := parseAddrPort(t[k+1], false)
	switch kind {
	case addrInvalid:
		return nil, 0, "bad virtual service address " + strconv.Quote(evidence.Clip(t[k+1], 80))
	case addrName:
		return svc, 2, "virtual service address " + strconv.Quote(evidence.Clip(t[k+1], 80)) + " is a host name (ipvsadm -S without -n)"
	}
	svc.Addr, svc.Port = a, p
	return svc, 2, ""
}

func saveService(doc evidence.Doc, probs *problems, i int, line string, t []string) (*evidence.VirtualService, bool) {
	var svc *evidence.VirtualService
	for k := 0; k < len(t); k++ {
		if s, used, msg := svcSpec(t, k); used > 0 || msg != "" {
			if msg != "" {
				probs.add(i, "%s", msg)
			}
			if s == nil {
				return nil, false
			}
			svc = s
			k += used - 1
			continue
		}
		if svc == nil {
			continue
		}
		switch t[k] {
		case "-s", "--scheduler":
			if k+1 < len(t) {
				svc.Scheduler = strings.Clone(t[k+1])
				k++
			}
		case "-p", "--persistent":
			svc.Flags = append(svc.Flags, "persistent")
			svc.Persistent = 300 // ipvsadm's default when -p has no timeout
			if k+1 < len(t) {
				if n, ok := atoi(t[k+1]); ok {
					svc.Persistent = n
					svc.Flags = append(svc.Flags, t[k+1])
					k++
				}
			}
		case "-M", "--netmask", "-b", "--sched-flags", "--pe":
			if k+1 < len(t) {
				svc.Flags = append(svc.Flags, flagName(t[k]), strings.Clone(t[k+1]))
				k++
			}
		case "pe":
			if k+1 < len(t) {
				svc.Flags = append(svc.Flags, "pe", strings.Clone(t[k+1]))
				k++
			}
		case "-o", "--ops", "ops":
			svc.Flags = append(svc.Flags, "ops")
		case "-6", "--ipv6":
		default:
			svc.Flags = append(svc.Flags, strings.Clone(t[k]))
		}
	}
	if svc == nil {
		probs.add(i, "service rule without -t, -u, --sctp-service or -f")
		return nil, false
	}
	svc.Ref = doc.Ref(i, line)
	return svc, true
}

func flagName(opt string) string {
	switch opt {
	case "-M", "--netmask":
		return "mask"
	case "-b", "--sched-flags":
		return "flags"
	case "--pe":
		return "pe"
	}
	return opt
}

func saveDest(doc evidence.Doc, probs *problems, i int, line string, t []string, ipvs *evidence.IPVS, index map[string]*evidence.VirtualService) {
	var svc *evidence.VirtualService
	rs := &evidence.RealServer{Ref: doc.Ref(i, line), Method: evidence.MethodRoute, Weight: 1}
	haveAddr := false
	for k := 0; k < len(t); k++ {
		if s, used, msg := svcSpec(t, k); used > 0 || msg != "" {
			if s == nil {
				probs.add(i, "%s", msg)
				return
			}
			svc = s
			k += used - 1
			continue
		}
		switch t[k] {
		case "-r", "--real-server":
			if k+1 >= len(t) {
				probs.add(i, "-r without an address")
				return
			}
			a, p, kind := parseAddrPort(t[k+1], false)
			if kind == addrInvalid {
				// DR/TUN rules may omit the port: "-r 192.0.2.11"
				if ad, ak := parseAddr(t[k+1], false); ak == addrOK {
					a, kind = ad, addrOK
				}
			}
			switch kind {
			case addrInvalid:
				probs.add(i, "bad real server address %q", evidence.Clip(t[k+1], 80))
				return
			case addrName:
				probs.add(i, "real server %q is a host name (ipvsadm -S without -n)", evidence.Clip(t[k+1], 80))
			}
			rs.Addr, rs.Port = a, p
			haveAddr = true
			k++
		case "-g", "--gatewaying":
			rs.Method = evidence.MethodRoute
		case "-i", "--ipip":
			rs.Method = evidence.MethodTunnel
		case "-m", "--masquerading":
			rs.Method = evidence.MethodMasq
		case "-w", "--weight":
			if k+1 < len(t) {
				w, err := strconv.Atoi(t[k+1])
				if err != nil {
					probs.add(i, "bad weight %q", evidence.Clip(t[k+1], 80))
				}
				rs.Weight = w
				k++
			}
		case "-x", "--u-threshold", "-y", "--l-threshold", "--tun-type", "--tun-port", "--tun-nocsum", "--tun-csum", "--tun-remcsum":
			if !strings.HasPrefix(t[k], "--tun-no") && t[k] != "--tun-csum" && t[k] != "--tun-remcsum" {
				k++
			}
		}
	}
	if svc == nil || !haveAddr {
		probs.add(i, "real server rule without a virtual service or -r address")
		return
	}
	if rs.Port == 0 && svc.Proto != "FWM" {
		rs.Port = svc.Port // ipvsadm takes the virtual port when -r has none
	}
	parent, ok := index[keyOf(svc)]
	if !ok {
		probs.add(i, "real server for %s, which no -A rule before it added", svc.Key())
		svc.Ref = rs.Ref
		index[keyOf(svc)] = svc
		ipvs.Services = append(ipvs.Services, svc)
		parent = svc
	}
	for _, d := range parent.Dests {
		if d.Addr == rs.Addr && d.Port == rs.Port {
			*d = *rs
			return
		}
	}
	parent.Dests = append(parent.Dests, rs)
}

// ParseProcStats parses /proc/net/ip_vs_stats (and _percpu, whose total
// row is marked "~"): hexadecimal table-wide counters and rates.
func ParseProcStats(doc evidence.Doc) (*evidence.IPVS, []evidence.Problem) {
	ipvs := &evidence.IPVS{}
	probs := problems{doc: doc}
	lines := doc.Lines()
	section := 0 // 1: totals, 2: rates
	for i, line := range lines {
		t := strings.Fields(line)
		if len(t) == 0 {
			continue
		}
		switch {
		case containsField(t, "Conns/s"):
			section = 2
			continue
		case containsField(t, "Total") || containsField(t, "Conns"):
			section = 1
			continue
		}
		// percpu rows start with the CPU number; the sum row with "~".
		if len(t) == 6 {
			if t[0] != "~" {
				continue
			}
			t = t[1:]
		}
		if len(t) != 5 {
			probs.add(i, "not an ip_vs_stats row: %q", evidence.Clip(strings.TrimSpace(line), 80))
			continue
		}
		var n [5]uint64
		ok := true
		for k := range n {
			v, err := strconv.ParseUint(t[k], 16, 64)
			if err != nil {
				ok = false
				break
			}
			n[k] = v
		}
		if !ok {
			probs.add(i, "bad hexadecimal counter in %q", evidence.Clip(strings.TrimSpace(line), 80))
			continue
		}
		switch section {
		case 1:
			ipvs.Totals = &evidence.Stats{Conns: n[0], InPkts: n[1], OutPkts: n[2], InBytes: n[3], OutBytes: n[4]}
			ipvs.TotalsRef = doc.Ref(i, line)
		case 2:
			ipvs.TotalsRate = &evidence.Rate{CPS: n[0], InPPS: n[1], OutPPS: n[2], InBPS: n[3], OutBPS: n[4]}
		default:
			probs.add(i, "counters before any title")
		}
	}
	return ipvs, probs.done()
}
