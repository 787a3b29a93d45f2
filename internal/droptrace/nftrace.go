package droptrace

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Trace events come from the NFNLGRP_NFTRACE netlink group, what `nft
// monitor trace` reads: google/nftables' Monitor joins only
// NFNLGRP_NFTABLES, so the group is read with mdlayher/netlink and
// google/nftables is used to look the rule up by handle for its comment.

const (
	// maxNFTraceNetns bounds the listeners when every namespace is watched.
	maxNFTraceNetns = 32
	// maxTraceIDs bounds the trace-id → tuple memory per listener: the
	// kernel copies the headers only into a packet's first event per hook.
	maxTraceIDs = 4096
	// ruleRefresh bounds rule lookups for handles not seen yet.
	ruleRefresh = time.Second
)

// nftListener reads trace events in one network namespace.
type nftListener struct {
	t      *Tracer
	netns  string // "" for the tracer's own
	inode  uint32
	conn   *netlink.Conn
	rules  *ruleCache
	tuples map[uint32]Tuple // trace id → packet, for events without headers
	match  map[uint32]bool  // trace id → the packet matched the filter
}

// startNFTrace listens in the filter's namespace, or in the tracer's own
// and every named one. Problems become warnings: drops are still traced.
func (t *Tracer) startNFTrace() {
	// Listening (NETLINK_NETFILTER) loads nfnetlink, and rule lookups load
	// nf_tables, if they are not there; without nf_tables there are no
	// nftables rules to trace anyway.
	for _, mod := range []string{"nfnetlink", "nf_tables"} {
		if !moduleReady(mod) {
			t.warn("nftables trace off: %s is not loaded, so no nftables rule can drop (listening would load it)", mod)
			return
		}
	}
	namespaces := []string{t.filter.Netns}
	if t.filter.Netns == "" {
		ents, _ := os.ReadDir(netnsDir)
		for _, e := range ents {
			if len(namespaces) == maxNFTraceNetns {
				t.warn("nftables trace: only the first %d namespaces are watched; give Filter.Netns", maxNFTraceNetns)
				break
			}
			namespaces = append(namespaces, e.Name())
		}
	}
	for _, ns := range namespaces {
		l, err := t.listenNFTrace(ns)
		if err != nil {
			t.warn("nftables trace in netns %q: %v", ns, err)
			continue
		}
		t.nft = append(t.nft, l)
		t.nftWG.Add(1)
		go l.run()
	}
}

func (t *Tracer) listenNFTrace(ns string) (*nftListener, error) {
	l := &nftListener{t: t, netns: ns, tuples: map[uint32]Tuple{}, match: map[uint32]bool{}}
	cfg := &netlink.Config{}
	var nftOpts []nftables.ConnOption
	if ns != "" {
		fd, err := openNetns(ns)
		if err != nil {
			return nil, err
		}
		// Both dial now; the fd is not needed afterwards.
		defer unix.Close(fd)
		cfg.NetNS = fd
		nftOpts = append(nftOpts, nftables.WithNetNSFd(fd), nftables.AsLasting())
		if l.inode, err = netnsInode(ns); err != nil {
			return nil, err
		}
	} else {
		nftOpts = append(nftOpts, nftables.AsLasting())
		var st unix.Stat_t
		if unix.Stat("/proc/thread-self/ns/net", &st) == nil {
			l.inode = uint32(st.Ino)
		}
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	if err := conn.JoinGroup(unix.NFNLGRP_NFTRACE); err != nil {
		conn.Close()
		return nil, fmt.Errorf("join NFNLGRP_NFTRACE: %w", err)
	}
	l.conn = conn
	rc, err := nftables.New(nftOpts...)
	if err != nil {
		t.warn("nftables trace in netns %q: rules cannot be looked up, no comments: %v", ns, err)
	}
	l.rules = &ruleCache{conn: rc, rules: map[ruleKey]string{}, tried: map[chainKey]time.Time{}}
	return l, nil
}

func (l *nftListener) close() {
	l.conn.SetReadDeadline(time.Now())
}

func (l *nftListener) run() {
	defer l.t.nftWG.Done()
	defer l.conn.Close()
	defer l.rules.close()
	for {
		msgs, err := l.conn.Receive()
		if err != nil {
			select {
			case <-l.t.stop:
				return
			default:
			}
			if errors.Is(err, unix.ENOBUFS) {
				l.t.warn("nftables trace in netns %q: socket buffer overrun, some trace events lost", l.netns)
				continue
			}
			l.t.warn("nftables trace in netns %q stopped: %v", l.netns, err)
			return
		}
		for _, m := range msgs {
			// NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_TRACE
			if m.Header.Type != netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_TRACE) {
				continue
			}
			tr, err := parseNFTrace(m.Data)
			if err != nil {
				l.t.warn("nftables trace in netns %q: %v", l.netns, err)
				continue
			}
			ev, ok := l.event(tr)
			if !ok {
				continue
			}
			select {
			case l.t.nftCh <- ev:
			case <-l.t.abort:
				l.t.undelivered.Add(1)
			}
		}
	}
}

// event applies the filter and names the rule. Headers come with a trace
// id's first event in each hook; later events are matched by id.
func (l *nftListener) event(tr *nftTrace) (NFTraceEvent, bool) {
	pkt, ok := tr.tuple()
	if ok {
		if len(l.match) >= maxTraceIDs {
			l.match = map[uint32]bool{}
			l.tuples = map[uint32]Tuple{}
		}
		m := l.t.filter.matchTuple(pkt)
		l.match[tr.id] = m
		if m {
			l.tuples[tr.id] = pkt
		}
	}
	if !l.match[tr.id] {
		return NFTraceEvent{}, false
	}
	ev := NFTraceEvent{
		Time:       time.Now(),
		ID:         tr.id,
		Family:     familyName(tr.family),
		Table:      tr.table,
		Chain:      tr.chain,
		Handle:     tr.handle,
		Type:       nftTraceTypes[tr.typ],
		Verdict:    tr.verdictString(),
		Iif:        int(tr.iif),
		Oif:        int(tr.oif),
		Mark:       tr.mark,
		NetnsInode: l.inode,
		Netns:      l.netns,
	}
	ev.Packet, ok = l.tuples[tr.id]
	ev.PacketUnknown = !ok
	if l.netns == "" {
		ev.Netns = l.t.names.netns.name(l.inode)
	}
	if tr.hasRule {
		ev.Comment = l.rules.comment(tr)
	}
	return ev, true
}

// matchTuple is the BPF filter's address/protocol/port test, for headers
// nftables copied (outer header only).
func (f Filter) matchTuple(p Tuple) bool {
	if p.Src != f.Addr && p.Dst != f.Addr {
		return false
	}
	if f.Proto != "" && p.Proto != f.Proto {
		return false
	}
	if f.Port != 0 && (p.Proto == "tcp" || p.Proto == "udp") && p.SPort != f.Port && p.DPort != f.Port {
		return false
	}
	return true
}

type chainKey struct {
	family       uint8
	table, chain string
}

type ruleKey struct {
	chainKey
	handle uint64
}

// ruleCache holds the comments of a namespace's rules. A handle not seen
// yet rereads its chain, at most once a second per chain.
type ruleCache struct {
	mu    sync.Mutex
	conn  *nftables.Conn
	rules map[ruleKey]string
	tried map[chainKey]time.Time
}

func (rc *ruleCache) comment(tr *nftTrace) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ck := chainKey{tr.family, tr.table, tr.chain}
	key := ruleKey{ck, tr.handle}
	if c, ok := rc.rules[key]; ok || rc.conn == nil {
		return c
	}
	if time.Since(rc.tried[ck]) < ruleRefresh {
		return ""
	}
	rc.tried[ck] = time.Now()
	rules, err := rc.conn.GetRules(&nftables.Table{Name: tr.table, Family: nftables.TableFamily(tr.family)},
		&nftables.Chain{Name: tr.chain})
	if err != nil {
		return ""
	}
	if len(rc.rules) > 100000 {
		rc.rules = map[ruleKey]string{}
	}
	for _, r := range rules {
		c, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		rc.rules[ruleKey{ck, r.Handle}] = c
	}
	return rc.rules[key]
}

func (rc *ruleCache) close() {
	if rc.conn != nil {
		rc.conn.CloseLasting()
	}
}
