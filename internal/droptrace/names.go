package droptrace

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// maxLocations bounds the location string cache: drops come from a few
// dozen places, so it rarely fills; when it does it starts over.
const maxLocations = 4096

// namer turns records into Events: reason and location names, namespace
// names, wall-clock times.
type namer struct {
	ksyms   *ksyms
	reasons *reasonTable
	netns   *netnsNames
	// bootOffset converts bpf_ktime_get_ns (CLOCK_MONOTONIC) to wall time.
	bootOffset time.Duration
	// ipvsHook is the IPVS hook function probed, where IPVS_DROP happens.
	ipvsHook string

	mu        sync.Mutex
	locations map[uint64]string
}

func newNamer(ks *ksyms, r *reasonTable) *namer {
	return &namer{ksyms: ks, reasons: r, netns: newNetnsNames(), bootOffset: monotonicOffset(),
		locations: map[uint64]string{}}
}

func monotonicOffset() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(time.Now().UnixNano() - ts.Nano())
}

func (n *namer) time(ts uint64) time.Time {
	return time.Unix(0, int64(ts)+int64(n.bootOffset))
}

func (n *namer) location(addr uint64) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s, ok := n.locations[addr]; ok {
		return s
	}
	if len(n.locations) >= maxLocations {
		n.locations = map[uint64]string{}
	}
	s := n.ksyms.format(addr)
	n.locations[addr] = s
	return s
}

func (n *namer) event(r *record) Event {
	ev := Event{
		Time:       n.time(r.ts),
		NetnsInode: r.netns,
		Netns:      n.netns.name(r.netns),
		Ifindex:    int(r.ifindex),
		Iif:        int(r.iif),
		Dev:        r.ifname,
		Len:        int(r.len),
		Mark:       r.mark,
		SKB:        r.skb,
	}
	ev.Packet, ev.Inner = r.tuples()
	if r.kind == kindIPVS {
		ev.Reason = ipvsNames[r.reason]
		if ev.Reason == "" {
			ev.Reason = "IPVS_UNKNOWN"
		}
		ev.Location = ipvsLocations[ev.Reason]
		if ev.Reason == IPVSDrop && n.ipvsHook != "" {
			ev.Location = n.ipvsHook
		}
		return ev
	}
	ev.Reason = n.reasons.name(r.reason)
	ev.ReasonCode = r.reason
	ev.Location = n.location(r.location)
	return ev
}

// ipvsLocations are the probed functions behind each IPVS event.
var ipvsLocations = map[string]string{
	IPVSNoService: "ip_vs_service_find",
	IPVSNoDest:    "ip_vs_leave",
	IPVSDrop:      "ip_vs_in_hook",
}

func (n *namer) fibLookup(r *record) FIBLookup {
	return FIBLookup{
		Time:       n.time(r.ts),
		Table:      r.reason,
		Src:        r.saddr,
		Dst:        r.daddr,
		Proto:      r.l4proto,
		Iif:        int(r.iif),
		Oif:        int(r.oif),
		Dev:        r.ifname,
		Ifindex:    int(r.ifindex),
		NetnsInode: r.netns,
		Netns:      n.netns.name(r.netns),
		Err:        int(r.ret),
	}
}
