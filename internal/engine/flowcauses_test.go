package engine

import (
	"slices"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/trace"
)

func TestLinkFlowCauses(t *testing.T) {
	fwd := evidence.Ref{Host: "ds1", Source: "ds1/eth0.pcap", Line: 2, Text: "SYN forwarded"}
	in := evidence.Ref{Host: "ds1", Source: "ds1/eth0.pcap", Line: 1, Text: "SYN"}
	lost := func() trace.Flow {
		return trace.Flow{ID: 1, Outcome: "lost-in-transit", Hops: []trace.Hop{
			{Step: "director receives", Host: "ds1", Seen: true, Evidence: []evidence.Ref{in}},
			{Step: "director forwards", Host: "ds1", Seen: true, LastSeen: true, Evidence: []evidence.Ref{fwd}},
			{Step: "on the way to the real server", Host: "hv1"},
		}}
	}
	answered := trace.Flow{ID: 2, Outcome: "answered", Hops: []trace.Hop{{Step: "director receives", Host: "ds1", Seen: true, Evidence: []evidence.Ref{in}}}}
	filter := diagnosis.Finding{ID: "hypervisor.nwfilter-no-ip-spoofing", Host: "hv1", RootCause: true}
	transit := diagnosis.Finding{ID: "trace.lost-in-transit", Host: "hv1", Evidence: []evidence.Ref{fwd}, CausedBy: []string{filter.Key()}}
	mtu := diagnosis.Finding{ID: "net.tunnel-mtu", Host: "ds1", RootCause: true, Evidence: []evidence.Ref{fwd}}
	spoof := diagnosis.Finding{ID: "net.vpc-antispoof", Host: "ds1", RootCause: true}
	elsewhere := diagnosis.Finding{ID: "rs.app-not-listening", Host: "rs9", RootCause: true}

	for _, c := range []struct {
		name  string
		flows []trace.Flow
		fs    []diagnosis.Finding
		want  [][]string // per flow
	}{
		{"a trace finding's root, not the packets' other citers", []trace.Flow{lost(), answered},
			[]diagnosis.Finding{filter, transit, mtu}, [][]string{{filter.Key()}, nil}},
		{"no trace finding: the leading root on the path", []trace.Flow{answered, lost(), lost()},
			[]diagnosis.Finding{spoof}, [][]string{nil, {spoof.Key()}, {spoof.Key()}}},
		{"connections that failed alike share the cited one's causes", []trace.Flow{lost(), func() trace.Flow {
			f := lost()
			f.ID = 3
			f.Hops[1].Evidence = []evidence.Ref{{Host: "ds1", Source: "ds1/eth0.pcap", Line: 9}}
			return f
		}()}, []diagnosis.Finding{filter, transit}, [][]string{{filter.Key()}, {filter.Key()}}},
		{"no trace finding: a leading root off the path is linked to nothing", []trace.Flow{lost()},
			[]diagnosis.Finding{elsewhere}, [][]string{nil}},
		{"an answered connection has no cause", []trace.Flow{answered},
			[]diagnosis.Finding{spoof}, [][]string{nil}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &trace.Path{Flows: c.flows}
			linkFlowCauses(p, c.fs)
			for i, fl := range p.Flows {
				if !slices.Equal(fl.Causes, c.want[i]) {
					t.Errorf("flow %d (%s): causes %v, want %v", fl.ID, fl.Outcome, fl.Causes, c.want[i])
				}
			}
		})
	}
}
