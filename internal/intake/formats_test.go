package intake

import (
	"slices"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/parse/arp"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/counters"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/droptrace"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ebtables"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/firewalld"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ifconfig"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iproute"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ipset"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/iptables"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/ipvsadm"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/k8sservice"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/keepalived"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/kernel"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/kubeproxy"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/libvirt"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/lvscare"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/nft"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/platform"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/probe"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/sockets"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/sysctl"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/syslog"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/tcpdump"
)

// TestDetectionOrder pins the order Detect tries the formats in: the first
// match wins, so moving one changes what a block is read as. Change it on
// purpose, with a test of the block that needs the new order.
func TestDetectionOrder(t *testing.T) {
	want := "ipvsadm-laddr ipvsadm keepalived-conf keepalived-version logs ebtables iptables nft ipset ipset-command firewall-cmd-direct firewall-cmd " +
		"ip-addr ip-link ip-rule ip-neigh ip-route ifconfig arp sysctl proc-sys " +
		"ss netstat-s netstat-listen netstat-connections nstat proc-net-snmp ethtool-S conntrack-S conntrack-count " +
		"uname grubby kernel-packages dnf-history ls-boot lsmod modinfo kernel-config modules-builtin os-release hostnamectl dmidecode " +
		"virsh-dumpxml virsh-nwfilter-dumpxml virsh-list virsh-nwfilter-list libvirt-xml tcpdump probe watch kube-proxy-config lvscare k8s-service"
	var got []string
	for _, f := range Formats() {
		got = append(got, f.Name)
	}
	if g := strings.Join(got, " "); g != want {
		t.Errorf("detection order\n got %s\nwant %s", g, want)
	}
}

// TestEveryFormatOrdered: each format a parse package declares is in the
// order once, and nothing else is.
func TestEveryFormatOrdered(t *testing.T) {
	declared := slices.Concat(arp.Formats(), counters.Formats(), droptrace.Formats(), ebtables.Formats(), firewalld.Formats(), ifconfig.Formats(),
		iproute.Formats(), ipset.Formats(), iptables.Formats(), ipvsadm.Formats(), keepalived.Formats(), kernel.Formats(), libvirt.Formats(),
		nft.Formats(), platform.Formats(), probe.Formats(), sockets.Formats(), sysctl.Formats(), syslog.Formats(), tcpdump.Formats(), kubeproxy.Formats(),
		lvscare.Formats(), k8sservice.Formats())
	var want, got []string
	for _, f := range declared {
		want = append(want, f.Name)
	}
	for _, f := range Formats() {
		got = append(got, f.Name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("ordered %v\ndeclared %v", got, want)
	}
	if c := slices.Compact(slices.Clone(got)); len(c) != len(got) {
		t.Errorf("a format name is used twice: %v", got)
	}
}
