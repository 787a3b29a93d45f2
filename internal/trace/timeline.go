package trace

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/finding"
)

// Result is what the packets show: per connection, the hop-by-hop
// timeline and where it was last seen, and the findings.
type Result struct {
	Path
	// Findings are the causes the packets show, catalog IDs only
	// (trace.*, net.*).
	Findings []finding.Finding  `json:"findings"`
	Notes    []string           `json:"notes"`
	Problems []evidence.Problem `json:"input_problems,omitempty"`
}

// Path is the packet path of one service: where its captures were taken,
// each connection hop by hop, and what the packets show that is not a
// cause (VRRP adverts seen, SYNs retransmitted, resets). A diagnosis
// carries it as its packet_path; the trace prints it.
type Path struct {
	Service Service `json:"service"`
	// Clock says in which zone the times of the path are: "UTC",
	// "UTC+08:00"; printouts' times of day are as printed.
	Clock   string      `json:"clock,omitempty"`
	Points  []PointInfo `json:"points"`
	Flows   []Flow      `json:"flows"`
	Summary Summary     `json:"summary"`
	// Observations are what the packets show that names no cause of the
	// catalog; their IDs start with "packet.".
	Observations []finding.Finding `json:"observations"`
}

// Service is the service followed and how its packets were forwarded.
type Service struct {
	VIP     string `json:"vip,omitempty"`
	Port    uint16 `json:"port,omitempty"`
	Proto   string `json:"proto,omitempty"`
	Mode    string `json:"mode,omitempty"`
	ModeWhy string `json:"mode_evidence,omitempty"`
	VIPFrom string `json:"vip_from,omitempty"` // how the VIP was found when not given
}

// PointInfo is one capture point.
type PointInfo struct {
	Host    string `json:"host"`
	Role    string `json:"role"`
	RoleWhy string `json:"role_evidence,omitempty"`
	Source  string `json:"source"`
	First   string `json:"first,omitempty"`
	Last    string `json:"last,omitempty"`
	Packets int    `json:"packets"`
	// Followed is how many of its packets belong to followed connections.
	Followed int `json:"followed"`
	// ClockOffset is how far this point's clock is from the reference
	// point's, as the packets seen at both show (0 when not measured).
	ClockOffset string `json:"clock_offset,omitempty"`
	OutOfOrder  int    `json:"out_of_order,omitempty"`
}

// Summary counts the connections by outcome.
type Summary struct {
	Packets     int            `json:"packets_read"`
	Connections int            `json:"connections"`
	Outcomes    map[string]int `json:"outcomes"`
	NotFollowed int            `json:"connections_not_followed,omitempty"`
	NotKept     int            `json:"packets_not_kept,omitempty"`
}

// Flow is one connection's path.
type Flow struct {
	ID         int    `json:"id"`
	Proto      string `json:"proto"`
	Client     string `json:"client"`
	VIP        string `json:"vip"`
	RealServer string `json:"real_server,omitempty"`
	Local      string `json:"director_local,omitempty"` // FNAT's local address
	Mode       string `json:"mode,omitempty"`
	Packets    int    `json:"packets"`
	SYNs       int    `json:"syns,omitempty"`
	// Outcome is one of: answered, refused, not-forwarded,
	// lost-in-transit, rs-not-replying, reply-lost, incomplete.
	Outcome  string `json:"outcome"`
	Summary  string `json:"summary"`
	Hops     []Hop  `json:"hops"`
	LastSeen *Seen  `json:"last_seen,omitempty"`
	// LostBetween names the two points the packet went missing between.
	LostBetween []string `json:"lost_between,omitempty"`
	// Causes are the diagnosis's root causes (id@host) that explain this
	// connection's failure, set by the engine once the findings are
	// ranked (a capture traced alone has none).
	Causes []string `json:"causes,omitempty"`
	first  int64
	reply  bool   // a reply reached some point
	origin string // the host the reply was first seen at
}

// Hop is one capture point on the path, in path order.
type Hop struct {
	Step     string         `json:"step"` // "client sends", "director forwards", ...
	Host     string         `json:"host"`
	Role     string         `json:"role"`
	Source   string         `json:"source,omitempty"`
	Seen     bool           `json:"seen"`
	First    string         `json:"first,omitempty"`
	Last     string         `json:"last,omitempty"`
	Count    int            `json:"packets,omitempty"`
	Frames   []int          `json:"frames,omitempty"`
	Change   string         `json:"change,omitempty"`
	Note     string         `json:"note,omitempty"`
	LastSeen bool           `json:"last_seen,omitempty"`
	Evidence []evidence.Ref `json:"evidence,omitempty"`
	// Rewrite names what LVS did to the packet as seen at this hop, for
	// a program or a diagram to show without parsing Change: "mac" (DR's
	// MAC rewrite), "ipip" or "gre" (TUN's encapsulation), "nat" (the
	// destination rewritten to the real server, or a NAT reply's source
	// rewritten back), "fnat" (both addresses, either way); "" when the
	// packet is as the client sent it or the capture cannot show it.
	Rewrite string `json:"rewrite,omitempty"`
	stage   int
	point   int
}

// Seen is where a packet was last seen.
type Seen struct {
	Host   string `json:"host"`
	Source string `json:"source"`
	Frame  int    `json:"frame"`
	Time   string `json:"time"`
	Step   string `json:"step"`
}

// Stages of a packet's path.
const (
	stageSent      = 0 // as the client sent it
	stageForwarded = 1 // as the director forwarded it
	stageReplied   = 2 // the real server's reply
	stageReturned  = 3 // the reply as the director sent it back (NAT, FNAT)
)

var roleRank = [4]map[evidence.Role]int{
	{evidence.RoleClient: 0, evidence.RoleRouter: 1, evidence.RoleHypervisor: 2, evidence.RoleDirector: 3, evidence.RoleRealServer: 4},
	{evidence.RoleDirector: 0, evidence.RoleHypervisor: 1, evidence.RoleRouter: 2, evidence.RoleRealServer: 3, evidence.RoleClient: 4},
	{evidence.RoleRealServer: 0, evidence.RoleHypervisor: 1, evidence.RoleRouter: 2, evidence.RoleDirector: 3, evidence.RoleClient: 4},
	{evidence.RoleDirector: 0, evidence.RoleHypervisor: 1, evidence.RoleRouter: 2, evidence.RoleClient: 3, evidence.RoleRealServer: 4},
}

// Result puts together what was fed.
func (t *Tracer) Result() *Result {
	t.learnMACsFromARP()
	t.learnDirectorMACs()
	t.inferRoles()
	t.learnHostMACs()
	t.settleSkews()
	t.sawStage = make([][4]bool, len(t.points))
	for _, c := range t.conns {
		for _, p := range c.pkts {
			for j := range p.seen {
				t.sawStage[p.seen[j].point][t.stageOf(c, p, &p.seen[j])] = true
			}
		}
	}
	r := &Result{Notes: []string{}, Findings: []finding.Finding{}, Path: Path{Flows: []Flow{}, Observations: []finding.Finding{}}}
	r.Service = Service{Port: t.cfg.Port, Proto: t.cfg.Proto}
	if t.cfg.VIP.IsValid() {
		r.Service.VIP = t.cfg.VIP.String()
	}
	for _, ps := range t.points {
		pi := PointInfo{Host: ps.Host, Role: string(ps.Role), RoleWhy: ps.roleWhy, Source: ps.Source, Packets: ps.packets, Followed: ps.hits, OutOfOrder: ps.ooo}
		if pi.Role == "" {
			pi.Role = "unknown"
		}
		if ps.timed {
			pi.First, pi.Last = t.fmtTime(ps.first), t.fmtTime(ps.last)
		}
		if ps.skewSet && abs(ps.skew) >= int64(skewWorthSaying) {
			pi.ClockOffset = fmtDur(ps.skew)
		}
		r.Points = append(r.Points, pi)
	}
	modes := map[string]int{}
	r.Summary = Summary{Packets: t.packets, Connections: len(t.conns), Outcomes: map[string]int{}, NotFollowed: t.overflow, NotKept: t.dropped}
	for _, c := range t.conns {
		f := t.flow(c)
		r.Summary.Outcomes[f.Outcome]++
		if f.Mode != "" {
			modes[f.Mode]++
		}
		r.Flows = append(r.Flows, f)
	}
	r.Service.Mode, r.Service.ModeWhy = t.serviceMode(modes)
	t.findings(r)
	if t.overflow > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d more connections to the service were not followed (the first %d were): give --client to follow one", t.overflow, t.cfg.MaxConns))
	}
	if t.dropped > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d packets of long connections were counted but not kept (the first %d of each are)", t.dropped, t.cfg.MaxPackets))
	}
	for _, ps := range t.points {
		if ps.ooo > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %d packets are earlier than the one before them (the capture's timestamps go back): ordered by time, not by frame", ps.Source, ps.ooo))
		}
	}
	r.Clock = t.clockLabel()
	return r
}

// skewWorthSaying is the clock offset below which two hosts are taken
// to agree: transit on a LAN and timestamping jitter are well under it.
const skewWorthSaying = 20 * time.Millisecond

// learnMACsFromARP names the MACs of the hosts whose interfaces are not in
// the evidence from the ARP replies captured: "Reply 192.0.2.12 is-at M"
// says M is the interface of whichever host owns 192.0.2.12. It comes
// before the guesses from traffic (learnDirectorMACs, learnHostMACs): on a
// capture of a ping between a director and a real server both MACs are
// in every frame, and the one that answered ARP for the real server's
// address is the real server's. A real server's VIP on lo is no address
// of its own here (pointOfHost leaves it out), and an address two MACs
// answer for (a conflict) names nobody.
func (t *Tracer) learnMACsFromARP() {
	for _, ps := range t.points {
		if len(ps.macs) > 0 || ps.Role == evidence.RoleHypervisor || ps.Role == evidence.RoleRouter {
			continue
		}
		for a := range ps.addrs {
			if t.cfg.VIP.IsValid() && a == t.cfg.VIP {
				continue // the VIP moves between directors
			}
			ms := t.arp.by[a]
			if len(ms) != 1 {
				continue
			}
			for m := range ms {
				if m[0]&1 != 0 || m == (mac{}) {
					continue
				}
				ps.macs[m] = true
				if ps.Role == evidence.RoleDirector {
					if _, ok := t.dirMACs[m]; !ok {
						t.dirMACs[m] = ps.Host + " answers ARP for its address " + a.String()
					}
				}
			}
		}
	}
}

// learnDirectorMACs finds the director's MACs from the packets: the MAC a
// packet was sent to and then, at the same point, sent from again.
func (t *Tracer) learnDirectorMACs() {
	for _, c := range t.conns {
		for _, p := range c.pkts {
			if p.reply {
				continue
			}
			for i := range p.seen {
				a := &p.seen[i]
				for j := range p.seen {
					b := &p.seen[j]
					if i == j || a.point != b.point || !a.hasDMAC || !b.hasSMAC || !a.hasSMAC {
						continue
					}
					if b.smac == a.dmac && a.smac != b.smac && !b.lvsTunnel() && !a.lvsTunnel() {
						if _, ok := t.dirMACs[a.dmac]; !ok {
							t.dirMACs[a.dmac] = "receives the client's packets and sends them on"
						}
					}
				}
			}
		}
	}
	for _, k := range t.vrrp.order {
		s := t.vrrp.by[k]
		if s.smac != (mac{}) {
			if _, ok := t.dirMACs[s.smac]; !ok {
				t.dirMACs[s.smac] = "sends VRRP adverts"
			}
		}
	}
}

// learnHostMACs gives the host points whose interfaces are unknown their
// MAC: a client's is the one its packets leave from, a real server's the
// one the forwarded packets arrive at (or its replies leave from); else
// the MAC its capture's unicast frames are full of. A bridge's or
// router's capture has none of its own; a director's are known from what
// it forwards.
func (t *Tracer) learnHostMACs() {
	for i, ps := range t.points {
		if len(ps.macs) > 0 || ps.Role == evidence.RoleHypervisor || ps.Role == evidence.RoleRouter || ps.Role == evidence.RoleDirector {
			continue
		}
		found := false
		for _, c := range t.conns {
			for _, p := range c.pkts {
				for j := range p.seen {
					s := &p.seen[j]
					if s.point != i || s.lvsTunnel() {
						continue
					}
					var m mac
					ok := false
					switch {
					case ps.Role == evidence.RoleClient && !p.reply && s.hasSMAC:
						m, ok = s.smac, true
					case ps.Role == evidence.RoleRealServer && !p.reply && s.hasDMAC:
						m, ok = s.dmac, true
					case ps.Role == evidence.RoleRealServer && p.reply && s.hasSMAC && earliest(p) == j:
						m, ok = s.smac, true
					}
					if ok && !t.isDirMAC(m) && m[0]&1 == 0 {
						ps.macs[m] = true
						found = true
					}
				}
			}
		}
		if found {
			continue
		}
		if m, ok := ps.ownMAC(t.isDirMAC); ok {
			ps.macs[m] = true
		}
	}
}

// stageOf says where on the path a sighting was.
func (t *Tracer) stageOf(c *conn, p *packet, s *sighting) int {
	ps := t.points[s.point]
	if p.reply {
		if s.kind != legClient {
			return stageReplied
		}
		if c.kinds[legNAT] || c.kinds[legFNAT] {
			return stageReturned
		}
		return stageReplied
	}
	switch {
	case s.kind != legClient, s.lvsTunnel():
		return stageForwarded
	case s.dir == capture.DirOut && ps.Role == evidence.RoleDirector:
		return stageForwarded
	case s.dir == capture.DirIn && ps.Role == evidence.RoleDirector:
		return stageSent
	case s.hasSMAC && t.isDirMAC(s.smac):
		return stageForwarded
	case s.hasDMAC && t.isDirMAC(s.dmac):
		return stageSent
	case ps.Role == evidence.RoleRealServer:
		return stageForwarded
	case s.dir == capture.DirOut && ps.Role == "":
		return stageForwarded
	}
	return stageSent
}

func (t *Tracer) isDirMAC(m mac) bool { _, ok := t.dirMACs[m]; return ok }

// settleSkews fixes each point's clock offset from all its sure matches.
func (t *Tracer) settleSkews() {
	for _, ps := range t.points {
		if len(ps.samples) > 0 {
			ps.skew, ps.skewSet = median(ps.samples), true
		}
	}
}

// slot gathers the sightings of a connection at one point and stage.
type slot struct {
	stage, point int
	seen         []*sighting
	pkts         map[*packet]bool
	t            int64
}

// flow builds a connection's timeline.
func (t *Tracer) flow(c *conn) Flow {
	f := Flow{ID: c.id, Proto: protoName(c.proto), Client: c.client.String(), VIP: c.vip.String(), Packets: len(c.pkts) + c.dropped}
	if c.rip.IsValid() {
		f.RealServer = c.rip.String()
	}
	if c.lip.IsValid() {
		f.Local = c.lip.String()
	}
	f.Mode = connMode(c, t.hasForwardedDR(c))
	if f.Mode == "" {
		f.Mode = t.cfg.Mode
	}
	slots := map[[2]int]*slot{}
	first := int64(0)
	hasFirst := false
	for _, p := range c.pkts {
		if !p.reply && p.flags&capture.FlagSYN != 0 {
			f.SYNs++
		}
		for i := range p.seen {
			s := &p.seen[i]
			st := t.stageOf(c, p, s)
			k := [2]int{st, s.point}
			sl := slots[k]
			if sl == nil {
				sl = &slot{stage: st, point: s.point, pkts: map[*packet]bool{}}
				slots[k] = sl
			}
			sl.seen = append(sl.seen, s)
			sl.pkts[p] = true
			if s.hasT {
				ct := s.t - t.points[s.point].skew
				if !hasFirst || ct < first {
					first, hasFirst = ct, true
				}
			}
		}
	}
	f.first = first
	// Each slot's time: its first sighting, in the reference clock.
	for _, sl := range slots {
		sort.SliceStable(sl.seen, func(i, j int) bool { return sl.seen[i].t < sl.seen[j].t })
		if sl.seen[0].hasT {
			sl.t = sl.seen[0].t - t.points[sl.point].skew
		}
	}
	last := first
	for _, sl := range slots {
		for _, s := range sl.seen {
			if s.hasT {
				last = max(last, s.t-t.points[s.point].skew)
			}
		}
	}
	seenStage := [4]bool{}
	for k := range slots {
		seenStage[k[0]] = true
	}
	f.reply = seenStage[stageReplied] || seenStage[stageReturned]
	// The path: what was seen, and the points that should have seen it.
	var hops []Hop
	target := t.targetPoints(c, slots)
	for st := stageSent; st <= stageReturned; st++ {
		if st == stageReturned && !(c.kinds[legNAT] || c.kinds[legFNAT] || f.Mode == "nat" || f.Mode == "fnat") {
			continue
		}
		var here []Hop
		for i, ps := range t.points {
			sl := slots[[2]int{st, i}]
			if sl != nil {
				here = append(here, t.hop(c, sl, st, slots))
				continue
			}
			if why := t.expected(c, st, i, slots, target, seenStage, first, last); why != "" {
				here = append(here, Hop{Step: stepName(st, ps.Role), Host: ps.Host, Role: roleName(ps.Role), Source: ps.Source, Note: why, stage: st, point: i})
			}
		}
		here = t.oneMissingPerHost(here, slots)
		rank := roleRank[st]
		sort.SliceStable(here, func(a, b int) bool {
			ra, rb := rankOf(rank, t.points[here[a].point].Role), rankOf(rank, t.points[here[b].point].Role)
			if ra != rb {
				return ra < rb
			}
			ta, tb := slotTime(slots, here[a]), slotTime(slots, here[b])
			return ta < tb
		})
		hops = append(hops, here...)
		if st == stageForwarded {
			hops = append(hops, t.appHop(c, slots, target)...)
		}
	}
	// A reply first seen at a director that forwards by MAC or tunnel was
	// made by the director itself (a reset from its own stack).
	if o := t.replyOrigin(c); o >= 0 && t.points[o].Role == evidence.RoleDirector && !(c.kinds[legNAT] || c.kinds[legFNAT]) {
		for i := range hops {
			if hops[i].point == o && hops[i].stage == stageReplied {
				hops[i].Step = "director answers itself"
			}
		}
	}
	f.Hops = hops
	t.verdict(c, &f, slots)
	return f
}

// replyOrigin is the point where c's reply was first seen, -1 for none.
func (t *Tracer) replyOrigin(c *conn) int {
	best, bt := -1, int64(0)
	for _, p := range c.pkts {
		if !p.reply {
			continue
		}
		for i := range p.seen {
			s := &p.seen[i]
			if !s.hasT {
				continue
			}
			ct := s.t - t.points[s.point].skew
			if best < 0 || ct < bt {
				best, bt = s.point, ct
			}
		}
	}
	return best
}

// loop reports the most copies of one forwarded packet seen at one
// point: more than a few is a forwarding loop.
func (t *Tracer) loop(c *conn) (int, int) {
	most, at := 0, -1
	for _, p := range c.pkts {
		if p.reply {
			continue
		}
		n := map[int]int{}
		for i := range p.seen {
			n[p.seen[i].point]++
		}
		// A tie (the director and the bridge it loops through see the
		// packet as often) names the director, then the first point:
		// never whichever map order gives.
		for pt, k := range n {
			better := k > most || k == most && (t.loopRank(pt) < t.loopRank(at) || t.loopRank(pt) == t.loopRank(at) && pt < at)
			if better {
				most, at = k, pt
			}
		}
	}
	return most, at
}

// loopRank orders the points a loop may be named after: directors first.
func (t *Tracer) loopRank(pt int) int {
	if pt < 0 {
		return 2
	}
	if t.points[pt].Role == evidence.RoleDirector {
		return 0
	}
	return 1
}

// oneMissingPerHost keeps, of a host's captures that all missed a stage,
// the one the packet would have crossed: the interface that saw the
// connection's other packets of the same direction, else the first.
func (t *Tracer) oneMissingPerHost(here []Hop, slots map[[2]int]*slot) []Hop {
	missing := map[string][]int{}
	for i, h := range here {
		if !h.Seen {
			missing[h.Host] = append(missing[h.Host], i)
		}
	}
	drop := map[int]bool{}
	for _, idx := range missing {
		if len(idx) < 2 {
			continue
		}
		keep := idx[0]
		for _, i := range idx {
			st := here[i].stage
			// The same direction's other stage: sent ↔ returned (the
			// client side), forwarded ↔ replied (the real server side).
			other := map[int]int{stageSent: stageReturned, stageReturned: stageSent, stageForwarded: stageReplied, stageReplied: stageForwarded}[st]
			if slots[[2]int{other, here[i].point}] != nil {
				keep = i
				break
			}
		}
		for _, i := range idx {
			if i != keep {
				drop[i] = true
			}
		}
	}
	out := here[:0]
	for i, h := range here {
		if !drop[i] {
			out = append(out, h)
		}
	}
	return out
}

func rankOf(rank map[evidence.Role]int, r evidence.Role) int {
	if v, ok := rank[r]; ok {
		return v
	}
	return 2
}

func slotTime(slots map[[2]int]*slot, h Hop) int64 {
	if sl := slots[[2]int{h.stage, h.point}]; sl != nil {
		return sl.t
	}
	return 1 << 62
}

// hasForwardedDR reports whether any copy of c was forwarded by MAC alone.
func (t *Tracer) hasForwardedDR(c *conn) bool {
	for _, p := range c.pkts {
		if p.reply {
			continue
		}
		for i := range p.seen {
			s := &p.seen[i]
			if s.kind == legClient && !s.lvsTunnel() && t.stageOf(c, p, s) == stageForwarded {
				return true
			}
		}
	}
	return false
}

func connMode(c *conn, dr bool) string {
	switch {
	case c.kinds[legFNAT]:
		return "fnat"
	case c.kinds[legNAT]:
		return "nat"
	case len(c.tunnels) > 0:
		return "tun"
	case dr:
		return "dr"
	}
	return ""
}

func (t *Tracer) serviceMode(modes map[string]int) (string, string) {
	best, n := "", 0
	for _, m := range []string{"dr", "tun", "nat", "fnat"} {
		if modes[m] > n {
			best, n = m, modes[m]
		}
	}
	switch best {
	case "dr":
		return best, "the forwarded copies keep the client's addresses and differ only by their MACs (direct routing)"
	case "tun":
		return best, "the forwarded copies are the client's packets inside IPIP (tunnelling)"
	case "nat":
		return best, "the forwarded copies keep the client's address and port, with the destination rewritten to the real server (NAT)"
	case "fnat":
		return best, "the forwarded copies carry neither the client's nor the VIP's address, and are recognised by their TCP timestamp, IP ID and payload (full NAT)"
	}
	if t.cfg.Mode != "" {
		return t.cfg.Mode, "given, not seen: no forwarded copy in the captures"
	}
	return "", ""
}

// targetPoints are the real-server points a connection was forwarded to:
// by the forwarded copy's MAC, tunnel or rewritten address.
func (t *Tracer) targetPoints(c *conn, slots map[[2]int]*slot) map[int]bool {
	out := map[int]bool{}
	for k := range slots {
		if k[0] >= stageForwarded && t.points[k[1]].Role == evidence.RoleRealServer {
			out[k[1]] = true
		}
	}
	if len(out) > 0 {
		return out
	}
	for k, sl := range slots {
		if k[0] != stageForwarded {
			continue
		}
		for _, s := range sl.seen {
			for i, ps := range t.points {
				if ps.Role != evidence.RoleRealServer {
					continue
				}
				switch {
				case s.lvsTunnel() && ps.addrs[s.odst]:
					out[i] = true
				case s.kind != legClient && ps.addrs[s.dst.Addr()]:
					out[i] = true
				case s.hasDMAC && ps.macs[s.dmac]:
					out[i] = true
				}
			}
		}
	}
	return out
}

// expected says why point i should have seen c at stage st, or "" when
// it need not have.
func (t *Tracer) expected(c *conn, st, i int, slots map[[2]int]*slot, target map[int]bool, seen [4]bool, first, last int64) string {
	ps := t.points[i]
	if !t.covers(ps, first, last) {
		return ""
	}
	// A host captured on several interfaces: the one that saw the packet
	// is where it passed, the others are not on its way.
	// The directors that carry this connection: those that saw its
	// packets on the way in (and, for the reply, those it came back to).
	dirHosts := map[string]bool{}
	for k := range slots {
		o := t.points[k[1]]
		if k[0] == st && k[1] != i && o.Host == ps.Host {
			return ""
		}
		if o.Role != evidence.RoleDirector {
			continue
		}
		switch {
		case k[0] <= stageForwarded, k[0] == stageReturned:
			dirHosts[o.Host] = true
		case k[0] == stageReplied && st == stageReplied:
			dirHosts[o.Host] = true
		}
	}
	if ps.Role == evidence.RoleDirector && len(dirHosts) > 0 && !dirHosts[ps.Host] {
		return "" // another director carries this connection
	}
	sawConn := false
	for k := range slots {
		if k[1] == i {
			sawConn = true
		}
	}
	earlier := false
	for s := stageSent; s < st; s++ {
		if slots[[2]int{s, i}] != nil {
			earlier = true
		}
	}
	ran := fmt.Sprintf("not seen; the capture ran %s–%s", t.fmtTime(ps.first), t.fmtTime(ps.last))
	switch ps.Role {
	case evidence.RoleDirector:
		if !t.activeDirector(i) {
			return ""
		}
		switch st {
		case stageSent:
			return ran
		case stageForwarded:
			if slots[[2]int{stageSent, i}] != nil {
				return "not forwarded: the director received it and no copy left it while the capture ran"
			}
		case stageReplied, stageReturned:
			if (c.kinds[legNAT] || c.kinds[legFNAT]) && seen[stageReplied] {
				return ran
			}
		}
	case evidence.RoleHypervisor, evidence.RoleRouter:
		switch st {
		case stageSent:
			if t.pointSawStage(i, stageSent) {
				return ran
			}
		case stageForwarded:
			if seen[stageForwarded] || t.receivedByDirector(slots) {
				return ran
			}
		case stageReplied:
			if seen[stageReplied] || t.reachedRS(slots) {
				return ran
			}
		case stageReturned:
			if seen[stageReturned] || seen[stageReplied] && earlier {
				return ran
			}
		}
	case evidence.RoleRealServer:
		if st == stageForwarded && (target[i] || len(target) == 0 && seen[stageForwarded] && sawConn) {
			return ran
		}
		if st == stageForwarded && len(target) == 0 && (t.soleRS(i) || seen[stageForwarded]) && (seen[stageForwarded] || seen[stageSent]) &&
			!t.sentElsewhere(i, slots) {
			// Which real server it was sent to is unknown: each could have seen it.
			return ran
		}
		if st == stageReplied && slots[[2]int{stageForwarded, i}] != nil && !tunnelIface(ps.Iface) {
			return "no reply left the real server while the capture ran"
		}
	case evidence.RoleClient:
		if st == stageSent && t.isClientPoint(c, i) {
			return ran
		}
		if (st == stageReplied && !(c.kinds[legNAT] || c.kinds[legFNAT]) || st == stageReturned) && t.isClientPoint(c, i) && (seen[stageReplied] || seen[stageReturned]) {
			return "the reply never arrived; the capture ran " + t.fmtTime(ps.first) + "–" + t.fmtTime(ps.last)
		}
	}
	return ""
}

// sentElsewhere reports whether every forwarded copy of the connection
// was addressed to a host other than point i's, as far as i's own
// addresses and MACs are known: a real server's capture cannot miss a
// packet the director sent to another real server (one with no capture).
func (t *Tracer) sentElsewhere(i int, slots map[[2]int]*slot) bool {
	ps := t.points[i]
	if len(ps.addrs) == 0 && len(ps.macs) == 0 {
		return false
	}
	any := false
	for k, sl := range slots {
		if k[0] != stageForwarded {
			continue
		}
		for _, s := range sl.seen {
			switch {
			case s.lvsTunnel() && len(ps.addrs) > 0:
				if ps.addrs[s.odst] {
					return false
				}
			case s.kind != legClient && len(ps.addrs) > 0:
				if ps.addrs[s.dst.Addr()] {
					return false
				}
			case s.hasDMAC && len(ps.macs) > 0:
				if ps.macs[s.dmac] {
					return false
				}
			default:
				return false // where it went is not known
			}
			any = true
		}
	}
	return any
}

// receivedByDirector reports whether a director's capture shows the
// client's packets arriving.
func (t *Tracer) receivedByDirector(slots map[[2]int]*slot) bool {
	for k := range slots {
		if k[0] == stageSent && t.points[k[1]].Role == evidence.RoleDirector {
			return true
		}
	}
	return false
}

// reachedRS reports whether a real server's capture shows the packets.
func (t *Tracer) reachedRS(slots map[[2]int]*slot) bool {
	for k := range slots {
		if k[0] == stageForwarded && t.points[k[1]].Role == evidence.RoleRealServer {
			return true
		}
	}
	return false
}

// covers reports whether a point's capture ran while a connection did
// (in the reference clock, with a second's slack for the first packet
// and more after the last: captures are stopped after the test).
func (t *Tracer) covers(ps *pointState, first, last int64) bool {
	if !ps.timed {
		return true
	}
	lo, hi := ps.first-ps.skew, ps.last-ps.skew
	return last >= lo-int64(time.Second) && first <= hi+int64(time.Second)
}

// activeDirector reports whether director point i carries the service:
// it saw a followed connection, or holds the VIP, or no director did.
func (t *Tracer) activeDirector(i int) bool {
	ps := t.points[i]
	if ps.hits > 0 || t.cfg.VIP.IsValid() && ps.addrs[t.cfg.VIP] {
		return true
	}
	for _, o := range t.points {
		if o.Role == evidence.RoleDirector && (o.hits > 0 || t.cfg.VIP.IsValid() && o.addrs[t.cfg.VIP]) {
			return false
		}
	}
	return true
}

// pointSawStage reports whether point i saw any connection at stage st.
func (t *Tracer) pointSawStage(i, st int) bool {
	if t.sawStage != nil {
		return t.sawStage[i][st]
	}
	for _, c := range t.conns {
		for _, p := range c.pkts {
			for j := range p.seen {
				if p.seen[j].point == i && t.stageOf(c, p, &p.seen[j]) == st {
					return true
				}
			}
		}
	}
	return false
}

func (t *Tracer) soleRS(i int) bool {
	n := 0
	for _, ps := range t.points {
		if ps.Role == evidence.RoleRealServer && ps.Host != t.points[i].Host {
			n++
		}
	}
	return n == 0
}

// isClientPoint reports whether point i is where c's client is.
func (t *Tracer) isClientPoint(c *conn, i int) bool {
	ps := t.points[i]
	if ps.addrs[c.client.Addr()] {
		return true
	}
	for _, p := range c.pkts {
		for j := range p.seen {
			if p.seen[j].point == i {
				return true
			}
		}
	}
	// A client point that saw no connection at all is not this client's.
	return len(ps.addrs) == 0 && ps.hits > 0
}

// hop renders one slot.
func (t *Tracer) hop(c *conn, sl *slot, st int, slots map[[2]int]*slot) Hop {
	ps := t.points[sl.point]
	h := Hop{Step: stepName(st, ps.Role), Host: ps.Host, Role: roleName(ps.Role), Source: ps.Source, Seen: true, Count: len(sl.seen), stage: st, point: sl.point}
	var firstT, lastT int64
	timed := false
	for _, s := range sl.seen {
		if len(h.Frames) < 8 {
			h.Frames = append(h.Frames, s.frame)
		}
		if len(h.Evidence) < 2 {
			h.Evidence = append(h.Evidence, s.ref)
		}
		if s.hasT {
			if !timed || s.t < firstT {
				firstT = s.t
			}
			if !timed || s.t > lastT {
				lastT = s.t
			}
			timed = true
		}
	}
	slices.Sort(h.Frames)
	if timed {
		h.First, h.Last = t.fmtTime(firstT), t.fmtTime(lastT)
	}
	h.Change, h.Rewrite = t.change(c, sl, st, slots)
	if fl := flagSummary(sl); fl != "" {
		if h.Change != "" {
			h.Change = fl + "; " + h.Change
		} else {
			h.Change = fl
		}
	}
	return h
}

// flagSummary counts a slot's packets by TCP flags: "SYN ×3".
func flagSummary(sl *slot) string {
	counts := map[string]int{}
	var order []string
	for p := range sl.pkts {
		name := flagName(p.flags, p.plen)
		if counts[name] == 0 {
			order = append(order, name)
		}
		counts[name]++
	}
	sort.Strings(order)
	var parts []string
	for _, n := range order {
		if counts[n] > 1 {
			parts = append(parts, fmt.Sprintf("%s ×%d", n, counts[n]))
		} else {
			parts = append(parts, n)
		}
	}
	if len(parts) > 4 {
		parts = append(parts[:4], "…")
	}
	return strings.Join(parts, ", ")
}

func flagName(fl uint8, plen int) string {
	switch {
	case fl&capture.FlagRST != 0:
		return "RST"
	case fl&capture.FlagSYN != 0 && fl&capture.FlagACK != 0:
		return "SYN-ACK"
	case fl&capture.FlagSYN != 0:
		return "SYN"
	case fl&capture.FlagFIN != 0:
		return "FIN"
	case plen > 0:
		return "data"
	case fl&capture.FlagACK != 0:
		return "ACK"
	}
	return "packet"
}

// change says what the packet looks like at a slot compared with how it
// was sent (MACs rewritten, encapsulated, addresses rewritten), and
// names that rewrite (Hop.Rewrite).
func (t *Tracer) change(c *conn, sl *slot, st int, slots map[[2]int]*slot) (string, string) {
	s := sl.seen[0]
	switch st {
	case stageSent:
		if s.hasDMAC {
			return "to " + t.macName(s.dmac), ""
		}
		if s.dir == capture.DirIn {
			return "received", ""
		}
		return "", ""
	case stageForwarded:
		var parts []string
		rewrite := ""
		switch {
		case s.lvsTunnel():
			parts = append(parts, fmt.Sprintf("encapsulated (%s %s → %s)", strings.ToUpper(s.tunnel.String()), s.osrc, s.odst))
			rewrite = s.tunnel.String()
		case s.kind == legNAT:
			parts = append(parts, fmt.Sprintf("destination rewritten %s → %s", c.vip, s.dst))
			rewrite = "nat"
		case s.kind == legFNAT:
			parts = append(parts, fmt.Sprintf("both addresses rewritten: %s → %s (was %s → %s)", s.src, s.dst, c.client, c.vip))
			rewrite = "fnat"
		}
		if s.via != capture.NoTunnel {
			parts = append(parts, fmt.Sprintf("carried over %s %s → %s (the network's overlay)", strings.ToUpper(s.via.String()), s.vsrc, s.vdst))
		}
		if s.hasSMAC && s.hasDMAC {
			if orig := t.sentMACs(sl, slots); orig != "" && !s.lvsTunnel() && s.kind == legClient {
				parts = append(parts, fmt.Sprintf("MACs rewritten: %s became %s > %s", orig, t.macName(s.smac), t.macName(s.dmac)))
				rewrite = "mac"
			} else {
				parts = append(parts, fmt.Sprintf("%s > %s", t.macName(s.smac), t.macName(s.dmac)))
			}
		} else if s.dir == capture.DirOut {
			parts = append(parts, "sent out")
		}
		return strings.Join(parts, "; "), rewrite
	case stageReplied:
		return fmt.Sprintf("reply %s → %s", s.src, s.dst), ""
	case stageReturned:
		// FNAT rewrites both ends of the reply back, NAT only its source.
		rewrite := "nat"
		if c.lip.IsValid() {
			rewrite = "fnat"
		}
		return fmt.Sprintf("source rewritten back: %s → %s", s.src, s.dst), rewrite
	}
	return "", ""
}

// sentMACs is how the packet of a forwarded slot was addressed when it
// arrived (at the same point, else anywhere).
func (t *Tracer) sentMACs(sl *slot, slots map[[2]int]*slot) string {
	var cand *slot
	if o := slots[[2]int{stageSent, sl.point}]; o != nil {
		cand = o
	} else {
		for k, o := range slots {
			if k[0] == stageSent && (cand == nil || k[1] < cand.point) {
				cand = o
			}
		}
	}
	if cand == nil {
		return ""
	}
	s := cand.seen[0]
	if !s.hasSMAC || !s.hasDMAC {
		return ""
	}
	return t.macName(s.smac) + " > " + t.macName(s.dmac)
}

// macName is a MAC with the host it belongs to, when known.
func (t *Tracer) macName(m mac) string {
	for _, ps := range t.points {
		if ps.macs[m] && (ps.Role == evidence.RoleDirector || !t.isDirMAC(m)) {
			return m.String() + " (" + ps.Host + ")"
		}
	}
	if _, ok := t.dirMACs[m]; ok {
		return m.String() + " (director)"
	}
	return m.String()
}

// appHop is the real server's application: it answered (a reply left
// the real server), refused (a reset), or was not reached.
func (t *Tracer) appHop(c *conn, slots map[[2]int]*slot, target map[int]bool) []Hop {
	var out []Hop
	for i, ps := range t.points {
		if ps.Role != evidence.RoleRealServer || slots[[2]int{stageForwarded, i}] == nil {
			continue
		}
		h := Hop{Step: "application", Host: ps.Host, Role: roleName(ps.Role), Source: ps.Source, stage: stageForwarded, point: i}
		if rs := slots[[2]int{stageReplied, i}]; rs != nil {
			h.Seen = true
			refused := false
			for p := range rs.pkts {
				refused = refused || p.flags&capture.FlagRST != 0
			}
			if refused {
				h.Change = "refused: the real server answered with a reset (nothing listens on " + c.vip.String() + " there)"
			} else {
				h.Change = "answered"
			}
		} else {
			h.Note = "no answer"
		}
		out = append(out, h)
	}
	return out
}

func stepName(st int, role evidence.Role) string {
	switch st {
	case stageSent:
		switch role {
		case evidence.RoleClient:
			return "client sends"
		case evidence.RoleDirector:
			return "director receives"
		case evidence.RoleRealServer:
			return "real server sees it unforwarded"
		}
		return "on the way to the director"
	case stageForwarded:
		switch role {
		case evidence.RoleDirector:
			return "director forwards"
		case evidence.RoleRealServer:
			return "real server receives"
		}
		return "on the way to the real server"
	case stageReplied:
		switch role {
		case evidence.RoleRealServer:
			return "real server replies"
		case evidence.RoleClient:
			return "client receives the reply"
		case evidence.RoleDirector:
			return "director receives the reply"
		}
		return "reply on the way back"
	case stageReturned:
		switch role {
		case evidence.RoleDirector:
			return "director sends the reply back"
		case evidence.RoleClient:
			return "client receives the reply"
		}
		return "reply on the way to the client"
	}
	return ""
}

func roleName(r evidence.Role) string {
	if r == "" {
		return "unknown"
	}
	return string(r)
}

func protoName(p uint8) string {
	switch p {
	case capture.ProtoTCP:
		return "tcp"
	case capture.ProtoUDP:
		return "udp"
	case 132:
		return "sctp"
	}
	return fmt.Sprint(p)
}

// verdict says how far the connection got and where it was last seen.
func (t *Tracer) verdict(c *conn, f *Flow, slots map[[2]int]*slot) {
	// Where the last seen and the first missing hop are, along the path
	// the client's packets take and then the reply's.
	lastSeen, firstMissing := -1, -1
	for i, h := range f.Hops {
		if h.Step == "application" {
			continue
		}
		if h.Seen {
			lastSeen = i
			firstMissing = -1
		} else if firstMissing < 0 && lastSeen >= 0 {
			firstMissing = i
		}
	}
	// The first hop missing after the last one seen in each direction.
	fwdLast, fwdMissing := -1, -1
	for i, h := range f.Hops {
		if h.stage > stageForwarded || h.Step == "application" {
			continue
		}
		if h.Seen {
			fwdLast, fwdMissing = i, -1
		} else if fwdMissing < 0 && fwdLast >= 0 {
			fwdMissing = i
		}
	}
	refused := false
	replyAtRS := false
	for k, sl := range slots {
		if k[0] == stageReplied && t.points[k[1]].Role == evidence.RoleRealServer {
			replyAtRS = true
		}
		if k[0] >= stageReplied {
			for p := range sl.pkts {
				refused = refused || p.flags&capture.FlagRST != 0
			}
		}
	}
	// In NAT and FNAT the client must get the reply as the director
	// rewrites it; the real server's own reply reaching it went around
	// the director, and the client's TCP discards it.
	rewriting := c.kinds[legNAT] || c.kinds[legFNAT]
	// The client's capture shows its own packets of this connection: it
	// ran while the connection did (a printout may stop early).
	clientGot, clientRaw, clientSent := false, false, false
	for k, sl := range slots {
		if t.points[k[1]].Role != evidence.RoleClient {
			continue
		}
		if k[0] == stageSent {
			clientSent = true
		}
		switch {
		case k[0] == stageReturned, k[0] == stageReplied && !rewriting:
			clientGot = true
		case k[0] == stageReplied && sl.seen[0].kind != legClient:
			clientRaw = true
		}
	}
	reachedRS, fwdSeen, atDirector := false, false, false
	for k := range slots {
		ps := t.points[k[1]]
		if k[0] == stageForwarded {
			fwdSeen = true
			if ps.Role == evidence.RoleRealServer {
				reachedRS = true
			}
		}
		if k[0] == stageSent && ps.Role == evidence.RoleDirector {
			atDirector = true
		}
	}
	between := func(a, b int) {
		if a >= 0 && b >= 0 {
			f.LostBetween = []string{f.Hops[a].Host, f.Hops[b].Host}
		}
	}
	origin := t.replyOrigin(c)
	if origin >= 0 {
		f.origin = t.points[origin].Host
	}
	byDirector := origin >= 0 && t.points[origin].Role == evidence.RoleDirector && !rewriting
	loops, loopAt := t.loop(c)
	switch {
	case loops >= 4:
		f.Outcome = "looping"
		f.Summary = fmt.Sprintf("forwarded in a loop: the same packet passed %s %d times (TTL counting down)", t.points[loopAt].Host, loops)
	case refused && byDirector:
		f.Outcome = "refused"
		f.Summary = "the director itself answered with a reset: nothing took the packet for the VIP's port (no virtual service for it?)"
	case clientGot && refused:
		f.Outcome = "refused"
		f.Summary = "the real server refused it with a reset"
	case clientGot:
		f.Outcome = "answered"
		f.Summary = "the client received the reply"
	case clientRaw:
		f.Outcome = "reply-bypassed-director"
		f.Summary = "the real server's reply reached the client without passing the director: from the real server's address, which the client's TCP discards"
	case f.reply && clientSent && (t.hopRanAfter(f, firstMissing, slots, lastSeen) || t.clientKeptSending(c, slots)):
		f.Outcome = "reply-lost"
		between(lastSeen, firstMissing)
		f.Summary = "the reply left the real server and never reached the client"
	case replyAtRS && refused:
		f.Outcome = "refused"
		f.Summary = "the real server refused it with a reset"
	case f.reply && t.hasClientPoint(c):
		f.Outcome = "incomplete"
		f.Summary = "the real server replied; the client's capture stops before it could show the reply arrive"
	case f.reply:
		f.Outcome = "answered"
		f.Summary = "the real server replied (no capture at the client to see it arrive)"
	case reachedRS && t.rsCovered(c, slots):
		f.Outcome = "rs-not-replying"
		f.Summary = "the real server received it and sent no reply"
	case fwdSeen && fwdMissing >= 0 && t.hopRanAfter(f, fwdMissing, slots, fwdLast):
		f.Outcome = "lost-in-transit"
		between(fwdLast, fwdMissing)
		f.Summary = fmt.Sprintf("forwarded, and lost between %s and %s", f.Hops[fwdLast].Host, f.Hops[fwdMissing].Host)
	case atDirector && !fwdSeen:
		f.Outcome = "not-forwarded"
		f.Summary = "the director received it and forwarded no copy"
	case !atDirector && fwdMissing >= 0 && t.points[f.Hops[fwdMissing].point].Role == evidence.RoleDirector && t.hopRanAfter(f, fwdMissing, slots, fwdLast):
		f.Outcome = "lost-in-transit"
		between(fwdLast, fwdMissing)
		f.Summary = fmt.Sprintf("sent, and lost between %s and %s (the director)", f.Hops[fwdLast].Host, f.Hops[fwdMissing].Host)
	default:
		f.Outcome = "incomplete"
		f.Summary = "the captures do not show how it ended"
	}
	if lastSeen >= 0 {
		h := &f.Hops[lastSeen]
		h.LastSeen = true
		var ls *sighting
		if sl := slots[[2]int{h.stage, h.point}]; sl != nil {
			ls = sl.seen[len(sl.seen)-1]
		}
		if ls != nil {
			f.LastSeen = &Seen{Host: h.Host, Source: h.Source, Frame: ls.frame, Step: h.Step}
			if ls.hasT {
				f.LastSeen.Time = t.fmtTime(ls.t)
			}
		}
	}
}

func (t *Tracer) hasClientPoint(c *conn) bool {
	for i, ps := range t.points {
		if ps.Role == evidence.RoleClient && t.isClientPoint(c, i) {
			return true
		}
	}
	return false
}

// clientKeptSending reports whether the client's capture shows it sending
// on after the reply left the real server: a retransmission, the proof
// it never got the reply.
func (t *Tracer) clientKeptSending(c *conn, slots map[[2]int]*slot) bool {
	replied := int64(-1)
	for k, sl := range slots {
		if k[0] == stageReplied {
			for _, s := range sl.seen {
				if s.hasT {
					if ct := s.t - t.points[s.point].skew; replied < 0 || ct < replied {
						replied = ct
					}
				}
			}
		}
	}
	if replied < 0 {
		return false
	}
	for k, sl := range slots {
		if k[0] != stageSent || t.points[k[1]].Role != evidence.RoleClient {
			continue
		}
		for _, s := range sl.seen {
			if s.hasT && s.t-t.points[s.point].skew > replied {
				return true
			}
		}
	}
	return false
}

// hopRanAfter reports whether the capture of the missing hop miss was
// still running after a copy of the packet was seen at hop seen: a later
// frame of it. A capture that stopped (or a printout that was cut)
// before the packet came cannot be said to have missed it.
func (t *Tracer) hopRanAfter(f *Flow, miss int, slots map[[2]int]*slot, seen int) bool {
	if miss < 0 || seen < 0 {
		return false
	}
	ps := t.points[f.Hops[miss].point]
	sl := slots[[2]int{f.Hops[seen].stage, f.Hops[seen].point}]
	if sl == nil || !ps.timed {
		return true
	}
	// Any copy will do, the first above all: a SYN retransmitted after
	// the capture stopped does not undo the earlier ones it missed.
	for _, s := range sl.seen {
		if !s.hasT {
			return true
		}
		at := s.t - t.points[s.point].skew + ps.skew
		// Transit takes microseconds: any later frame shows the capture
		// was running when the packet should have passed.
		if ps.last > at {
			return true
		}
	}
	return false
}

// rsCovered reports whether the real server's capture ran long enough
// after the packet arrived for a reply to show: a second, or a
// retransmission.
func (t *Tracer) rsCovered(c *conn, slots map[[2]int]*slot) bool {
	for k, sl := range slots {
		ps := t.points[k[1]]
		if k[0] != stageForwarded || ps.Role != evidence.RoleRealServer || tunnelIface(ps.Iface) {
			continue // a capture on the tunnel cannot show the replies
		}
		if len(sl.pkts) > 1 || !ps.timed {
			return true
		}
		if s := sl.seen[0]; s.hasT && ps.last-s.t >= int64(time.Second) {
			return true
		}
	}
	return false
}

// fmtTime renders a time as tcpdump prints it, in the configured zone; a
// time of day (from a printout) as it is.
func (t *Tracer) fmtTime(ns int64) string {
	if ns >= 0 && ns < int64(48*time.Hour) {
		d := time.Duration(ns)
		h := int(d / time.Hour)
		m := int(d % time.Hour / time.Minute)
		t.todShown = true
		s := d % time.Minute
		return fmt.Sprintf("%02d:%02d:%09.6f", h, m, s.Seconds())
	}
	t.epochShown = true
	zone := t.cfg.Zone
	if zone == nil {
		zone = time.UTC
	}
	return time.Unix(0, ns).In(zone).Format("15:04:05.000000")
}

// ZoneLabel names a zone as a report shows it: "UTC", "UTC+08:00".
func ZoneLabel(zone *time.Location) string {
	if zone == nil {
		return "UTC"
	}
	_, off := time.Unix(0, 0).In(zone).Zone()
	if off == 0 {
		return "UTC"
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, off/3600, off%3600/60)
}

// clockLabel says in which zone the path's times are: the configured
// zone's for the captures; a printout's times of day as printed.
func (t *Tracer) clockLabel() string {
	switch {
	case t.epochShown && t.todShown:
		return ZoneLabel(t.cfg.Zone) + "; times of day from printouts as printed"
	case t.epochShown:
		return ZoneLabel(t.cfg.Zone)
	case t.todShown:
		return "as printed (times of day from printouts, in their host's local time)"
	}
	return ""
}

func fmtDur(ns int64) string {
	d := time.Duration(ns)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return sign + d.Round(time.Microsecond).String()
}
