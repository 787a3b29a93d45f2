// Package arp parses net-tools arp(8) tables: `arp -n` (the column table)
// and `arp -a` / `arp -an` (the "? (192.0.2.1) at aa:bb:.. [ether] on eth0"
// lines, also the BSD/macOS variant "at aa:bb:.. on em0 ifscope [ethernet]").
package arp

import (
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// States given to entries, in the vocabulary of `ip neigh`: arp shows
// whether an entry is complete, incomplete or permanent, not its NUD state.
const (
	StateComplete   = "COMPLETE"
	StateIncomplete = "INCOMPLETE"
	StatePermanent  = "PERMANENT"
)

// Parse reads arp output of either form.
func Parse(doc evidence.Doc) ([]evidence.Neighbor, []evidence.Problem) {
	var out []evidence.Neighbor
	var probs []evidence.Problem
	for i, line := range doc.Lines() {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "Address ") || strings.HasPrefix(t, "Entries:") ||
			strings.HasSuffix(t, "-- no entry") || strings.HasPrefix(t, "arp: in ") {
			continue
		}
		var n evidence.Neighbor
		var ok bool
		if strings.Contains(t, " (") && strings.Contains(t, ") at ") {
			n, ok = parseA(t)
		} else {
			n, ok = parseN(t)
		}
		if !ok {
			probs = append(probs, doc.Problemf(i, "arp: line not understood: %q", evidence.Clip(t, 80)))
			continue
		}
		n.Ref = doc.Ref(i, line)
		out = append(out, n)
	}
	return out, probs
}

// parseN reads a row of `arp -n`:
// "192.0.2.1  ether  52:54:00:12:34:56  CM  veth0" or
// "192.0.2.3         (incomplete)             veth0".
func parseN(t string) (evidence.Neighbor, bool) {
	var n evidence.Neighbor
	f := strings.Fields(t)
	if len(f) < 2 {
		return n, false
	}
	a, err := netip.ParseAddr(f[0])
	if err != nil {
		return n, false
	}
	n.IP = a
	n.Dev = f[len(f)-1]
	if f[1] == "(incomplete)" {
		n.State = StateIncomplete
		return n, len(f) >= 3
	}
	if len(f) < 4 {
		return n, false
	}
	n.MAC = strings.ToLower(f[2])
	n.State = StateComplete
	if len(f) >= 5 && strings.Contains(f[3], "M") {
		n.State = StatePermanent
	}
	return n, true
}

// parseA reads "? (192.0.2.1) at 52:54:00:12:34:56 [ether] PERM on veth0",
// "gw.example (192.0.2.1) at <incomplete> on eth0" and the BSD
// "? (192.0.2.1) at 0:c:29:aa:bb:cc on em0 expires in 1189 seconds [ethernet]".
func parseA(t string) (evidence.Neighbor, bool) {
	var n evidence.Neighbor
	open := strings.Index(t, " (")
	closeAt := strings.Index(t, ") at ")
	if open < 0 || closeAt < open {
		return n, false
	}
	a, err := netip.ParseAddr(t[open+2 : closeAt])
	if err != nil {
		return n, false
	}
	n.IP = a
	f := strings.Fields(t[closeAt+len(") at "):])
	if len(f) == 0 {
		return n, false
	}
	switch {
	case f[0] == "<incomplete>" || f[0] == "(incomplete)":
		n.State = StateIncomplete
	default:
		n.MAC = normMAC(f[0])
		n.State = StateComplete
	}
	for j, w := range f {
		switch w {
		case "PERM", "permanent":
			n.State = StatePermanent
		case "on":
			if j+1 < len(f) {
				n.Dev = f[j+1]
			}
		}
	}
	return n, true
}

// normMAC writes a MAC in lower-case two-digit colon form; BSD arp drops
// leading zeros ("0:c:29:aa:bb:cc").
func normMAC(s string) string {
	parts := strings.Split(strings.ToLower(s), ":")
	if len(parts) != 6 {
		return strings.ToLower(s)
	}
	for i, p := range parts {
		if len(p) == 1 {
			parts[i] = "0" + p
		}
	}
	return strings.Join(parts, ":")
}
