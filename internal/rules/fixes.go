package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

// A finding's fix is what a person pastes into a shell at 3 a.m., line by
// line. Every line is one of two things:
//
//   - a command, filled in with the case's values (the VIP, the interface,
//     the real server's address, the installed kernel's path), and after
//     it, as a shell comment, where to run it and what it does;
//   - a comment line, "# ...", for what no command does (an edit of a
//     configuration file) or says which command gives a value the
//     evidence does not hold.
//
// So the text report prints them as they are, Markdown puts them in a
// ```sh block, and no line is prose a shell would choke on. A command that
// disrupts (a restart, a reboot) says what it disrupts.

// fixCmd is a command with its comment: where to run it, what it does.
func fixCmd(cmd, comment string, args ...any) string {
	if comment == "" {
		return cmd
	}
	return cmd + "   # " + fmt.Sprintf(comment, args...)
}

// fixStep is a step no command does, as a comment line.
func fixStep(format string, args ...any) string { return "# " + fmt.Sprintf(format, args...) }

// sysctlFix sets the keys now and keeps them across reboots: the
// command, then the file that persists it.
func sysctlFix(comment string, kv ...string) []string {
	set := "sysctl -w " + strings.Join(kv, " ")
	var lines []string
	for _, x := range kv {
		k, v, _ := strings.Cut(x, "=")
		lines = append(lines, "'"+k+" = "+v+"'")
	}
	keys := make([]string, 0, len(kv))
	for _, x := range kv {
		k, _, _ := strings.Cut(x, "=")
		keys = append(keys, k)
	}
	return []string{
		fixCmd(set, "%s", comment),
		fixCmd("printf '%s\\n' "+strings.Join(lines, " ")+" >> /etc/sysctl.d/90-lvs.conf",
			"persist it (grep -rn %s /etc/sysctl.conf /etc/sysctl.d/ shows what else sets it)", lastKeyPart(keys[0])),
	}
}

// lastKeyPart is the last dotted part of a sysctl key: rp_filter.
func lastKeyPart(k string) string {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[i+1:]
	}
	return k
}

// keepalivedApply makes keepalived on d take a configuration change.
// Reload when that is enough: a restart drops the VRRP state, and on the
// master it fails the VIP over. When a restart is needed (restart: why),
// say so, and where to do it first.
func keepalivedApply(p *Pass, s *topology.Service, d *evidence.Host, restart string) string {
	if restart == "" {
		return fixCmd("systemctl reload keepalived", "reload, not restart: a restart on the VRRP master fails the VIP over")
	}
	switch master := s != nil && s.VIP.IsValid(); {
	case master && holdsVIP(d, s.VIP):
		return fixCmd("systemctl restart keepalived", "%s; %s holds the VIP: the restart fails the VIP over to the backup, so restart the backup first, then %s at a quiet time", restart, d.Name, d.Name)
	case master && len(vipHolders(p, s)) > 0:
		return fixCmd("systemctl restart keepalived", "%s; %s is the backup (it does not hold the VIP): no failover", restart, d.Name)
	}
	return fixCmd("systemctl restart keepalived", "%s; on the VRRP master a restart fails the VIP over: restart the backup first", restart)
}

// ifaceHolding is the interface of h that holds a, or a command that
// prints it when the evidence does not say (quoted for the shell).
func ifaceHolding(h *evidence.Host, a netip.Addr) string {
	for _, x := range h.AddrsOf(a) {
		if x.Iface != "" {
			return x.Iface
		}
	}
	return `"$(ip -o addr show to ` + a.String() + ` | awk '{print $2; exit}')"`
}

// hostPortOf is "VIP:PORT", or the VIP alone for a service of any port.
func hostPortOf(s *topology.Service) string {
	if s.Port == 0 {
		return s.VIP.String()
	}
	return netip.AddrPortFrom(s.VIP, s.Port).String()
}

// protoOf is the protocol iptables and ss name, tcp when unknown.
func protoOf(s *topology.Service) string {
	if s.Proto == "udp" || s.Proto == "sctp" {
		return s.Proto
	}
	return "tcp"
}

// listenCmd lists what listens on port with the service's protocol.
func listenCmd(s *topology.Service, port uint16) string {
	flag := "t"
	if protoOf(s) == "udp" {
		flag = "u"
	}
	return fmt.Sprintf("ss -ln%sp 'sport = :%d'", flag, port)
}

// firstService is the service under diagnosis, nil when none is known.
func firstService(p *Pass) *topology.Service {
	if ss := p.Services(); len(ss) > 0 {
		return ss[0]
	}
	return nil
}

// distroFamily is how h's distribution packages its kernels: "rpm",
// "deb", or "" when the evidence does not say.
func distroFamily(h *evidence.Host) string {
	id := strings.ToLower(h.Platform.OSID)
	switch {
	case id == "":
		// A release string names the family: el7, oe2203, fc39, amzn2.
		r := strings.ToLower(h.Kernel.Release)
		for _, m := range []string{".el", ".oe", ".fc", ".amzn", ".an", ".ky"} {
			if strings.Contains(r, m) {
				return "rpm"
			}
		}
		if len(h.Kernel.Installed) > 0 && strings.HasPrefix(h.Kernel.Installed[0].Ref.Text, "kernel-") {
			return "rpm"
		}
		return ""
	case strings.Contains(id, "debian") || strings.Contains(id, "ubuntu") || strings.Contains(id, "raspbian") || strings.Contains(id, "mint"):
		return "deb"
	}
	return "rpm"
}

// announceVIP sends gratuitous ARP for s's VIP from the director that
// holds it, on the interface that holds it.
func announceVIP(p *Pass, s *topology.Service, why string) string {
	holders := vipHolders(p, s)
	if s.VIP.Is6() {
		// IPv6 has no ARP: neighbour advertisements, which arping does
		// not send.
		on := "the director that holds the VIP"
		if len(holders) > 0 {
			on = holders[0].Name
		}
		return fixStep("on %s: %s with unsolicited neighbour advertisements for %s (keepalived sends them on a transition; by hand, ndsend %s IFACE)", on, why, s.VIP, s.VIP)
	}
	if len(holders) == 0 {
		return fixCmd(fmt.Sprintf("arping -U -c 3 -I %s %s", `"$(ip -o addr show to `+s.VIP.String()+` | awk '{print $2; exit}')"`, s.VIP), "on the director that holds the VIP: %s", why)
	}
	d := holders[0]
	return fixCmd(fmt.Sprintf("arping -U -c 3 -I %s %s", ifaceHolding(d, s.VIP), s.VIP), "on %s: %s", d.Name, why)
}
