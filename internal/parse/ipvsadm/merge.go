package ipvsadm

import (
	"net/netip"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Merge folds src into dst (both outputs of one host) and returns dst; a
// nil dst takes src as it is. Services are matched by Key and real servers
// by address and port, so `-Ln`, `-Ln --stats`, `-Ln --rate`, `-Sn` and
// `-Lnc` end up as one table: counters attach to the services and real
// servers the plain listing showed. The plain listing's lines stay the
// evidence for weights and methods; connection groups add up.
func Merge(dst, src *evidence.IPVS) *evidence.IPVS {
	if src == nil {
		return dst
	}
	if dst == nil {
		return src
	}
	if dst.Version == "" {
		dst.Version = src.Version
	}
	if dst.TableRef.IsZero() {
		dst.TableRef = src.TableRef
	}
	dst.DPVS = dst.DPVS || src.DPVS
	if src.Totals != nil {
		dst.Totals = src.Totals
		dst.TotalsRef = src.TotalsRef
	}
	if src.TotalsRate != nil {
		dst.TotalsRate = src.TotalsRate
	}
	if src.Timeouts != nil {
		dst.Timeouts = src.Timeouts
	}
	dst.SyncDaemons = append(dst.SyncDaemons, src.SyncDaemons...)
	dst.LocalAddrs = append(dst.LocalAddrs, src.LocalAddrs...)
	index := make(map[string]*evidence.VirtualService, len(dst.Services))
	for _, s := range dst.Services {
		index[keyOf(s)] = s
	}
	for _, s := range src.Services {
		d, ok := index[keyOf(s)]
		if !ok {
			dst.Services = append(dst.Services, s)
			index[keyOf(s)] = s
			continue
		}
		mergeService(d, s)
	}
	mergeConns(dst, src)
	return dst
}

func mergeService(d, s *evidence.VirtualService) {
	// One complete listing of the service shows all its real servers.
	d.Filtered = d.Filtered && s.Filtered
	if d.Scheduler == "" && s.Scheduler != "" {
		d.Scheduler = s.Scheduler
		d.Flags = s.Flags
		d.Ref = s.Ref // the line that shows scheduler and flags
	}
	if s.Persistent > 0 || (d.Persistent == 0 && s.Persistent != 0) {
		d.Persistent = s.Persistent
	}
	if s.Stats != nil {
		d.Stats = s.Stats
	}
	if s.Rate != nil {
		d.Rate = s.Rate
	}
	index := make(map[netip.AddrPort]*evidence.RealServer, len(d.Dests))
	for _, r := range d.Dests {
		if r.Addr.IsValid() {
			index[destKey(r)] = r
		}
	}
	for _, r := range s.Dests {
		e, ok := index[destKey(r)]
		if !ok || !r.Addr.IsValid() {
			d.Dests = append(d.Dests, r)
			if r.Addr.IsValid() {
				index[destKey(r)] = r
			}
			continue
		}
		if e.Method == "" && r.Method != "" {
			e.Method, e.Weight, e.ActiveConn, e.InActConn = r.Method, r.Weight, r.ActiveConn, r.InActConn
			e.Ref = r.Ref
		} else if e.Method == "" && e.Weight == 0 && e.ActiveConn == 0 && e.InActConn == 0 {
			e.Weight, e.ActiveConn, e.InActConn = r.Weight, r.ActiveConn, r.InActConn
		}
		if r.Stats != nil {
			e.Stats = r.Stats
		}
		if r.Rate != nil {
			e.Rate = r.Rate
		}
	}
}

func mergeConns(dst, src *evidence.IPVS) {
	if len(src.Conns) == 0 {
		dst.TotalConns += src.TotalConns
		return
	}
	type key struct {
		proto string
		v, d  netip.AddrPort
		tmpl  bool
	}
	index := make(map[key]*evidence.ConnGroup, len(dst.Conns))
	for _, g := range dst.Conns {
		index[key{g.Proto, g.Virtual, g.Dest, g.Template}] = g
	}
	for _, g := range src.Conns {
		k := key{g.Proto, g.Virtual, g.Dest, g.Template}
		e, ok := index[k]
		if !ok {
			dst.Conns = append(dst.Conns, g)
			index[k] = g
			continue
		}
		e.Count += g.Count
		if e.States == nil {
			e.States = map[string]int{}
		}
		for st, n := range g.States {
			e.States[st] += n
		}
	}
	dst.TotalConns += src.TotalConns
}
