package intake

import (
	"slices"

	"github.com/lvsdoctor/lvsdoctor/internal/format"
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

// formats is every format lvsdoctor reads, in the order Detect tries
// them: the first whose command, then file name, then sniffer matches
// wins, so the more specific comes first. Each is declared beside its
// parser (internal/parse/*/format.go); this list is only their order.
var formats = slices.Concat(
	ipvsadm.Formats(),
	keepalived.Formats(),
	syslog.Formats(),
	ebtables.Formats(), // first: ebtables-save looks like iptables-save at a glance
	iptables.Formats(),
	nft.Formats(),
	ipset.Formats(),
	firewalld.Formats(),
	iproute.Formats(),
	ifconfig.Formats(),
	arp.Formats(),
	sysctl.Formats(),
	[]format.Format{sockets.SS(), counters.NetstatS(), sockets.NetstatListen(), sockets.NetstatConnections()},
	counters.Tables(),
	kernel.Formats(),
	platform.Formats(),
	libvirt.Formats(),
	tcpdump.Formats(),
	probe.Formats(),
	droptrace.Formats(),
	kubeproxy.Formats(),
	lvscare.Formats(),
	k8sservice.Formats(),
)

// Formats returns every format in the order Detect tries them.
func Formats() []format.Format { return slices.Clone(formats) }
