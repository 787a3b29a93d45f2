package droptrace

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Reasons of the events the IPVS probes add. They are not kernel drop
// reasons; the kernel's own kfree_skb event for the same packet usually
// follows (same Event.SKB).
const (
	// IPVSNoService: a new connection's first packet (TCP SYN, UDP) reached
	// IPVS for a local address with no virtual service for its protocol and
	// port (ip_vs_service_find found none). Not a drop by itself: IPVS
	// passes it to the local stack, which usually drops it next as
	// NO_SOCKET.
	IPVSNoService = "IPVS_NO_SERVICE"
	// IPVSNoDest: the virtual service exists but its scheduler found no
	// real server (none configured, all weight 0, or all over their
	// thresholds): ip_vs_leave answers ICMP port unreachable and drops,
	// unless the cache_bypass sysctl forwards the packet as is.
	IPVSNoDest = "IPVS_NO_DEST"
	// IPVSDrop: the IPVS hook returned NF_DROP (after IPVS_NO_DEST, a failed
	// connection allocation, the drop_entry defense, ...). The kfree_skb
	// event that follows says NETFILTER_DROP: this one says IPVS, not a
	// firewall rule, decided.
	IPVSDrop = "IPVS_DROP"
)

// ipvsNames follow enum ipvs_event in bpf/common.h.
var ipvsNames = map[uint32]string{1: IPVSNoService, 2: IPVSNoDest, 3: IPVSDrop}

// ipvsProbe is one kprobe and what losing it costs.
type ipvsProbe struct {
	prog   string // program name in ipvs_probes.bpf.c
	symbol string
	ret    bool // kretprobe
}

// ipvsHookProbes are alternatives, newest kernel first: 5.19+ has
// ip_vs_in_hook, older kernels ip_vs_in (when not inlined).
var ipvsHookProbes = [][]ipvsProbe{
	{{"kprobe_ip_vs_in_hook", "ip_vs_in_hook", false}, {"kretprobe_ip_vs_in_hook", "ip_vs_in_hook", true}},
	{{"kprobe_ip_vs_in", "ip_vs_in", false}, {"kretprobe_ip_vs_in", "ip_vs_in", true}},
}

var ipvsOtherProbes = []ipvsProbe{
	{"kretprobe_ip_vs_service_find", "ip_vs_service_find", true},
	{"kprobe_ip_vs_leave", "ip_vs_leave", false},
}

// attachIPVS loads the IPVS probes sharing drops' ring buffer and counters.
// It never fails Start: what cannot attach becomes a warning, because the
// drops themselves are still traced.
func attachIPVS(c *config, drops *ebpf.Collection) (*attached, []string) {
	if !moduleLoaded("ip_vs") {
		return nil, []string{"IPVS probes: ip_vs is not loaded, so there is no IPVS to probe (IPVS_* events off)"}
	}
	if !kprobesAvailable() {
		return nil, []string{"IPVS probes: this kernel has no kprobes (CONFIG_KPROBES off), so IPVS_* events are off; an IPVS drop shows as NETFILTER_DROP only"}
	}
	spec, err := loadIpvsProbes()
	if err == nil {
		err = c.apply(spec)
	}
	if err != nil {
		return nil, []string{"IPVS probes: " + err.Error()}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
		MapReplacements: map[string]*ebpf.Map{"events": drops.Maps["events"], "stats": drops.Maps["stats"]},
	})
	if err != nil {
		return nil, []string{"IPVS probes not loaded (IPVS_* events off): " + err.Error()}
	}
	a := &attached{coll: coll, progs: map[string]*ebpf.Program{}}
	var warns []string
	var hookErrs []error
	hooked := false
	for _, group := range ipvsHookProbes {
		ls, err := attachProbes(coll, group)
		if err == nil {
			a.addLinks(ls, group)
			a.hook = group[0].symbol
			hooked = true
			break
		}
		hookErrs = append(hookErrs, err)
	}
	if !hooked {
		warns = append(warns, fmt.Sprintf("IPVS probes: cannot probe the IPVS hook, so IPVS_DROP and IPVS_NO_SERVICE are off: %v", errors.Join(hookErrs...)))
	}
	for _, p := range ipvsOtherProbes {
		if !hooked && p.symbol == "ip_vs_service_find" {
			continue // it names its packet through the hook's probe
		}
		ls, err := attachProbes(coll, []ipvsProbe{p})
		if err != nil {
			warns = append(warns, fmt.Sprintf("IPVS probes: %v", err))
			continue
		}
		a.addLinks(ls, []ipvsProbe{p})
	}
	if len(a.links) == 0 {
		a.close()
		return nil, warns
	}
	return a, warns
}

func (a *attached) addLinks(ls []link.Link, ps []ipvsProbe) {
	a.links = append(a.links, ls...)
	for _, p := range ps {
		a.progs[p.prog] = a.coll.Programs[p.prog]
	}
}

// attachProbes attaches all of ps or none.
func attachProbes(coll *ebpf.Collection, ps []ipvsProbe) ([]link.Link, error) {
	var ls []link.Link
	for _, p := range ps {
		prog := coll.Programs[p.prog]
		if prog == nil {
			err := fmt.Errorf("program %s missing from the object", p.prog)
			closeLinks(ls)
			return nil, err
		}
		attach := link.Kprobe
		kind := "kprobe"
		if p.ret {
			attach, kind = link.Kretprobe, "kretprobe"
		}
		l, err := attach(p.symbol, prog, nil)
		if err != nil {
			closeLinks(ls)
			return nil, fmt.Errorf("%s %s: %w", kind, p.symbol, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func closeLinks(ls []link.Link) {
	for _, l := range ls {
		l.Close()
	}
}

// kprobesAvailable: the kprobe PMU (4.17+) or tracefs kprobe_events, which
// cilium/ebpf uses when the PMU is absent.
func kprobesAvailable() bool {
	for _, p := range []string{
		"/sys/bus/event_source/devices/kprobe/type",
		"/sys/kernel/tracing/kprobe_events",
		"/sys/kernel/debug/tracing/kprobe_events",
	} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
