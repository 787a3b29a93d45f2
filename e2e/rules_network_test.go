package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
)

func netFindings(d *diagnosis.Diagnosis, id string) []diagnosis.Finding {
	var out []diagnosis.Finding
	for _, f := range d.Findings {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func netSummary(d *diagnosis.Diagnosis) string {
	var b strings.Builder
	for _, f := range d.Findings {
		b.WriteString("\n  " + string(f.Severity) + " " + f.ID + "@" + f.Host + ": " + f.Title)
		if len(f.CausedBy) > 0 {
			b.WriteString(" (caused by " + strings.Join(f.CausedBy, ", ") + ")")
		}
	}
	for _, n := range d.Notes {
		b.WriteString("\n  note: " + n)
	}
	return b.String()
}

// A DR cluster that works: ds1 holds the VIP 10.0.0.100, ds2 is its
// VRRP backup, rs1 and rs2 hold the VIP on lo with ARP suppressed.
var netDR = caseFiles{
	"case.yaml": `
vip: 10.0.0.100
port: 80
proto: tcp
mode: dr
`,
	"ds1/role": "director\n",
	"ds1/ipvsadm-Ln.txt": `
$ ipvsadm -Ln
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.100:80 rr
  -> 10.0.0.11:80                 Route   1      0          0
  -> 10.0.0.12:80                 Route   1      0          0
`,
	"ds1/ip-addr.txt": `
$ ip addr
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000
    link/ether 02:00:00:00:00:02 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.2/24 brd 10.0.0.255 scope global eth0
       valid_lft forever preferred_lft forever
    inet 10.0.0.100/32 scope global eth0
       valid_lft forever preferred_lft forever
`,
	"ds1/ip-route.txt": `
$ ip route
default via 10.0.0.1 dev eth0
10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2
`,
	"ds2/role": "director\n",
	"ds2/ipvsadm-Ln.txt": `
$ ipvsadm -Ln
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.100:80 rr
  -> 10.0.0.11:80                 Route   1      0          0
  -> 10.0.0.12:80                 Route   1      0          0
`,
	"ds2/ip-addr.txt": `
$ ip addr
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000
    link/ether 02:00:00:00:00:03 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.3/24 brd 10.0.0.255 scope global eth0
       valid_lft forever preferred_lft forever
`,
	"rs1/role":        "realserver\n",
	"rs1/ip-addr.txt": netRSAddr("rs1", "11"),
	"rs1/ip-route.txt": `
$ ip route
default via 10.0.0.1 dev eth0
10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.11
`,
	"rs1/sysctl.txt": netRSSysctl(""),
	"rs1/ss-lntp.txt": `
$ ss -lntp
State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process
LISTEN 0      511          0.0.0.0:80        0.0.0.0:*     users:(("nginx",pid=812,fd=6))
`,
	"rs2/role":        "realserver\n",
	"rs2/ip-addr.txt": netRSAddr("rs2", "12"),
	"rs2/sysctl.txt":  netRSSysctl(""),
	"client/role":     "client\n",
	"client/ip-addr.txt": `
$ ip addr
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000
    link/ether 02:00:00:00:00:50 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.50/24 brd 10.0.0.255 scope global eth0
       valid_lft forever preferred_lft forever
`,
}

func netRSAddr(name, last string) string {
	return `
$ ip addr
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
    inet 10.0.0.100/32 scope global lo:0
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000
    link/ether 02:00:00:00:00:` + last + ` brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.` + last + `/24 brd 10.0.0.255 scope global eth0
       valid_lft forever preferred_lft forever
`
}

// netRSSysctl is a real server's sysctl -a excerpt with ARP suppressed,
// plus extra lines.
func netRSSysctl(extra string) string {
	return `
$ sysctl -a
net.ipv4.conf.all.accept_local = 0
net.ipv4.conf.all.arp_announce = 2
net.ipv4.conf.all.arp_ignore = 1
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.eth0.accept_local = 0
net.ipv4.conf.eth0.arp_announce = 2
net.ipv4.conf.eth0.arp_ignore = 1
net.ipv4.conf.eth0.rp_filter = 0
net.ipv4.conf.lo.accept_local = 0
net.ipv4.conf.lo.arp_announce = 0
net.ipv4.conf.lo.arp_ignore = 0
net.ipv4.conf.lo.rp_filter = 0
net.ipv4.ip_forward = 0
net.ipv4.tcp_timestamps = 1
` + strings.TrimLeft(extra, "\n")
}

type netTest struct {
	name  string
	files caseFiles
	id    string
	// first: the finding of id must lead the report with this severity;
	// otherwise it must be absent (sev "") or not critical (sev "warning").
	first bool
	sev   diagnosis.Severity
	host  string
	// causedBy, when set, is a cause the finding must be linked to.
	causedBy string
}

func runNetTests(t *testing.T, tests []netTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := diagnoseFiles(t, tt.files)
			if os.Getenv("LVSDOCTOR_TEST_VERBOSE") != "" {
				t.Log(netSummary(d))
			}
			fs := netFindings(d, tt.id)
			switch {
			case tt.first:
				if len(d.Findings) == 0 || d.Findings[0].ID != tt.id {
					t.Fatalf("want %s first; got:%s", tt.id, netSummary(d))
				}
				if d.Findings[0].Severity != tt.sev {
					t.Errorf("severity %s, want %s:%s", d.Findings[0].Severity, tt.sev, netSummary(d))
				}
				if tt.host != "" && d.Findings[0].Host != tt.host {
					t.Errorf("host %s, want %s", d.Findings[0].Host, tt.host)
				}
				for _, r := range d.Findings[0].Evidence {
					if r.Source == "" || r.Line == 0 || r.Text == "" {
						t.Errorf("evidence without source line: %+v", r)
					}
				}
			case tt.causedBy != "":
				if len(fs) == 0 {
					t.Fatalf("no %s:%s", tt.id, netSummary(d))
				}
				if !strings.Contains(strings.Join(fs[0].CausedBy, " "), tt.causedBy) {
					t.Errorf("%s not linked to %s:%s", tt.id, tt.causedBy, netSummary(d))
				}
			case tt.sev == "":
				if len(fs) > 0 {
					t.Errorf("look-alike reported %s:%s", tt.id, netSummary(d))
				}
			default:
				for _, f := range fs {
					if f.Severity == diagnosis.Critical {
						t.Errorf("look-alike reported %s as critical:%s", tt.id, netSummary(d))
					}
				}
			}
		})
	}
}

// The base case itself is healthy: none of these rules may speak.
func TestNetworkRulesQuietOnHealthyDR(t *testing.T) {
	d := diagnoseFiles(t, netDR)
	for _, f := range d.Findings {
		if f.Severity == diagnosis.Critical {
			t.Errorf("healthy base case has a critical finding:%s", netSummary(d))
			break
		}
	}
}

const netRS1Cap = "rs1/tcpdump-eth0.txt"

func TestRSAcceptLocal(t *testing.T) {
	// The director tests its own VIP: IPVS forwards packets whose source
	// is the VIP, which rs1 holds on lo.
	vipToVIP := `
$ tcpdump -e -n -i eth0 port 80
06:10:00.000001 02:00:00:00:00:02 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 10.0.0.100.51000 > 10.0.0.100.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
06:10:01.020001 02:00:00:00:00:02 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 10.0.0.100.51000 > 10.0.0.100.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1001 ecr 0,nop,wscale 7], length 0
06:10:03.100001 02:00:00:00:00:02 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 10.0.0.100.51000 > 10.0.0.100.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 3001 ecr 0,nop,wscale 7], length 0
`
	fromClient := strings.ReplaceAll(vipToVIP, "10.0.0.100.51000", "10.0.0.50.51000")
	fromClient = strings.ReplaceAll(fromClient, "02:00:00:00:00:02 > 02:00:00:00:00:11", "02:00:00:00:00:02 > 02:00:00:00:00:11")
	acceptOn := netRSSysctl("net.ipv4.conf.eth0.accept_local = 1\n")
	acceptOn = strings.Replace(acceptOn, "net.ipv4.conf.eth0.accept_local = 0\n", "", 1)
	runNetTests(t, []netTest{
		{name: "VIP-sourced packets dropped", files: netDR.with(netRS1Cap, vipToVIP), id: "rs.accept-local", first: true, sev: diagnosis.Critical, host: "rs1"},
		{name: "the silence is explained", files: netDR.with(netRS1Cap, vipToVIP), id: "trace.rs-not-replying", causedBy: "rs.accept-local@rs1"},
		{name: "accept_local on the interface", files: netDR.with(netRS1Cap, vipToVIP, "rs1/sysctl.txt", acceptOn), id: "rs.accept-local"},
		{name: "a real client's packets", files: netDR.with(netRS1Cap, fromClient), id: "rs.accept-local"},
	})
}

func TestRSTCPTWRecycle(t *testing.T) {
	on := netRSSysctl("net.ipv4.tcp_tw_recycle = 1\n")
	noTS := strings.Replace(on, "net.ipv4.tcp_timestamps = 1", "net.ipv4.tcp_timestamps = 0", 1)
	off := netRSSysctl("net.ipv4.tcp_tw_recycle = 0\n")
	runNetTests(t, []netTest{
		{name: "tw_recycle on", files: netDR.with("rs1/sysctl.txt", on), id: "rs.tcp-tw-recycle", first: true, sev: diagnosis.Warning, host: "rs1"},
		{name: "tw_recycle without timestamps", files: netDR.with("rs1/sysctl.txt", noTS), id: "rs.tcp-tw-recycle"},
		{name: "tw_recycle off", files: netDR.with("rs1/sysctl.txt", off), id: "rs.tcp-tw-recycle"},
		{name: "kernel without the key", files: netDR, id: "rs.tcp-tw-recycle"},
	})
}

func TestHypervisorBridgeNetfilterDrop(t *testing.T) {
	link := `
$ ip link
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eno1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq master br0 state UP mode DEFAULT group default qlen 1000
    link/ether 3c:ec:ef:00:00:01 brd ff:ff:ff:ff:ff:ff
3: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 3c:ec:ef:00:00:01 brd ff:ff:ff:ff:ff:ff
4: docker0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN mode DEFAULT group default
    link/ether 02:42:5e:00:00:01 brd ff:ff:ff:ff:ff:ff
5: vnet0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UNKNOWN mode DEFAULT group default qlen 1000
    link/ether fe:00:00:00:00:02 brd ff:ff:ff:ff:ff:ff
6: vnet1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UNKNOWN mode DEFAULT group default qlen 1000
    link/ether fe:00:00:00:00:11 brd ff:ff:ff:ff:ff:ff
`
	docker := `
$ iptables-save -c
# Generated by iptables-save v1.8.7 on Mon Mar  3 10:00:00 2025
*filter
:INPUT ACCEPT [1200:90000]
:FORWARD DROP [345:20700]
:OUTPUT ACCEPT [1100:88000]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
[345:20700] -A FORWARD -j DOCKER-USER
[345:20700] -A FORWARD -j DOCKER-ISOLATION-STAGE-1
[0:0] -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
[0:0] -A FORWARD -o docker0 -j DOCKER
[0:0] -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
[0:0] -A FORWARD -i docker0 -o docker0 -j ACCEPT
[0:0] -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
[345:20700] -A DOCKER-ISOLATION-STAGE-1 -j RETURN
[0:0] -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
[0:0] -A DOCKER-ISOLATION-STAGE-2 -j RETURN
[345:20700] -A DOCKER-USER -j RETURN
COMMIT
`
	allowed := strings.Replace(docker, "[345:20700] -A DOCKER-USER -j RETURN", "[345:20700] -A DOCKER-USER -i br0 -o br0 -j ACCEPT\n[0:0] -A DOCKER-USER -j RETURN", 1)
	physdev := strings.Replace(docker, "[345:20700] -A FORWARD -j DOCKER-USER", "[345:20700] -A FORWARD -m physdev --physdev-is-bridged -j ACCEPT\n[0:0] -A FORWARD -j DOCKER-USER", 1)
	unsure := strings.Replace(docker, "[345:20700] -A DOCKER-USER -j RETURN", "[345:20700] -A DOCKER-USER -m mark --mark 0x1 -j ACCEPT\n[0:0] -A DOCKER-USER -j RETURN", 1)
	sys := func(v string) string {
		return "$ sysctl -a\nnet.bridge.bridge-nf-call-arptables = 0\nnet.bridge.bridge-nf-call-ip6tables = " + v + "\nnet.bridge.bridge-nf-call-iptables = " + v + "\nnet.ipv4.ip_forward = 1\n"
	}
	hv := netDR.with("kvm1/role", "hypervisor\n", "kvm1/ip-link.txt", link, "kvm1/iptables-save.txt", docker, "kvm1/sysctl.txt", sys("1"))
	runNetTests(t, []netTest{
		{name: "Docker's DROP policy on bridged traffic", files: hv, id: "hypervisor.bridge-netfilter-drop", first: true, sev: diagnosis.Critical, host: "kvm1"},
		{name: "bridge accepted in DOCKER-USER", files: hv.with("kvm1/iptables-save.txt", allowed), id: "hypervisor.bridge-netfilter-drop"},
		{name: "bridge netfilter off", files: hv.with("kvm1/sysctl.txt", sys("0")), id: "hypervisor.bridge-netfilter-drop"},
		{name: "bridged frames accepted by physdev", files: hv.with("kvm1/iptables-save.txt", physdev), id: "hypervisor.bridge-netfilter-drop"},
		{name: "an accept that may match", files: hv.with("kvm1/iptables-save.txt", unsure), id: "hypervisor.bridge-netfilter-drop", sev: diagnosis.Warning},
	})
}

func TestNetARPConflict(t *testing.T) {
	replies := `
$ tcpdump -e -n -i eth0 arp or port 80
06:20:00.100000 02:00:00:00:00:50 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.100 tell 10.0.0.50, length 28
06:20:00.100300 02:00:00:00:00:11 > 02:00:00:00:00:50, ethertype ARP (0x0806), length 42: Reply 10.0.0.100 is-at 02:00:00:00:00:11, length 28
06:20:00.100400 02:00:00:00:00:02 > 02:00:00:00:00:50, ethertype ARP (0x0806), length 42: Reply 10.0.0.100 is-at 02:00:00:00:00:02, length 28
`
	arping := `
$ arping -I eth0 -c 3 10.0.0.100
ARPING 10.0.0.100 from 10.0.0.50 eth0
Unicast reply from 10.0.0.100 [02:00:00:00:00:02]  0.545ms
Unicast reply from 10.0.0.100 [02:00:00:00:00:77]  0.568ms
Unicast reply from 10.0.0.100 [02:00:00:00:00:02]  0.539ms
Sent 3 probes (1 broadcast(s))
Received 3 response(s)
`
	// A failover: ds2 takes the VIP and is preempted 30 ms later; both
	// announce it. That is VRRP at work, not a conflict.
	failover := `
$ tcpdump -e -n -i eth0 arp
06:30:00.100000 02:00:00:00:00:03 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.100 (ff:ff:ff:ff:ff:ff) tell 10.0.0.100, length 28
06:30:00.130000 02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.100 (ff:ff:ff:ff:ff:ff) tell 10.0.0.100, length 28
06:30:05.000000 02:00:00:00:00:50 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.100 tell 10.0.0.50, length 28
06:30:05.000300 02:00:00:00:00:02 > 02:00:00:00:00:50, ethertype ARP (0x0806), length 42: Reply 10.0.0.100 is-at 02:00:00:00:00:02, length 28
`
	noSysctl := netDR.with("rs1/sysctl.txt", "")
	arpOn := strings.ReplaceAll(netRSSysctl(""), "arp_ignore = 1", "arp_ignore = 0")
	runNetTests(t, []netTest{
		{name: "a real server replies too", files: noSysctl.with("client/tcpdump-eth0.txt", replies), id: "net.arp-conflict", first: true, sev: diagnosis.Critical, host: "rs1"},
		{name: "arping shows two MACs", files: netDR.with("client/arping.txt", arping), id: "net.arp-conflict", first: true, sev: diagnosis.Critical, host: "client"},
		{name: "explained by the real server's sysctl", files: netDR.with("client/tcpdump-eth0.txt", replies, "rs1/sysctl.txt", arpOn), id: "net.arp-conflict", causedBy: "rs.arp-not-suppressed@rs1"},
		{name: "gratuitous ARPs of a failover", files: netDR.with("client/tcpdump-eth0.txt", failover), id: "net.arp-conflict"},
	})
}

func TestNetStaleARP(t *testing.T) {
	neigh := func(mac, state string) string {
		return "$ ip neigh\n10.0.0.1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE\n10.0.0.100 dev eth0 lladdr " + mac + " " + state + "\n"
	}
	log := `
$ journalctl -u keepalived
Mar 03 10:00:01 ds2 Keepalived_vrrp[900]: (VI_1) Entering MASTER STATE
Mar 03 10:04:12 ds2 Keepalived_vrrp[900]: (VI_1) Master received advert from 10.0.0.2 with higher priority 150, ours 100
Mar 03 10:04:12 ds2 Keepalived_vrrp[900]: (VI_1) Entering BACKUP STATE
`
	toOld := `
$ tcpdump -e -n -i eth0 host 10.0.0.100
06:45:00.000001 02:00:00:00:00:50 > 02:00:00:00:00:03, ethertype IPv4 (0x0800), length 74: 10.0.0.50.44000 > 10.0.0.100.80: Flags [S], seq 1, win 64240, options [mss 1460], length 0
06:45:01.010001 02:00:00:00:00:50 > 02:00:00:00:00:03, ethertype IPv4 (0x0800), length 74: 10.0.0.50.44000 > 10.0.0.100.80: Flags [S], seq 1, win 64240, options [mss 1460], length 0
`
	routed := strings.ReplaceAll(netDR["client/ip-addr.txt"], "10.0.0.50/24 brd 10.0.0.255", "172.16.0.50/24 brd 172.16.0.255")
	runNetTests(t, []netTest{
		{name: "client's frames go to the old master", files: netDR.with("client/tcpdump-eth0.txt", toOld), id: "net.stale-arp", first: true, sev: diagnosis.Critical, host: "client"},
		{name: "client behind a router sends to its gateway's MAC", files: netDR.with("client/tcpdump-eth0.txt", toOld, "client/ip-addr.txt", routed), id: "net.stale-arp"},
		{name: "client still has the old master's MAC", files: netDR.with("client/ip-neigh.txt", neigh("02:00:00:00:00:03", "STALE"), "ds2/journalctl-keepalived.txt", log),
			id: "net.stale-arp", first: true, sev: diagnosis.Critical, host: "client"},
		{name: "client maps the VIP to the active director", files: netDR.with("client/ip-neigh.txt", neigh("02:00:00:00:00:02", "REACHABLE")), id: "net.stale-arp"},
		{name: "a real server's MAC is a conflict, not a stale entry", files: netDR.with("client/ip-neigh.txt", neigh("02:00:00:00:00:11", "REACHABLE")), id: "net.stale-arp"},
		{name: "the real server's MAC in the table", files: netDR.with("client/ip-neigh.txt", neigh("02:00:00:00:00:11", "REACHABLE")), id: "net.arp-conflict", first: true, sev: diagnosis.Critical, host: "rs1"},
	})
}

func TestNetVRRPBlocked(t *testing.T) {
	both := strings.Replace(netDR["ds2/ip-addr.txt"], "    inet 10.0.0.3/24 brd 10.0.0.255 scope global eth0\n       valid_lft forever preferred_lft forever\n",
		"    inet 10.0.0.3/24 brd 10.0.0.255 scope global eth0\n       valid_lft forever preferred_lft forever\n    inet 10.0.0.100/32 scope global eth0\n       valid_lft forever preferred_lft forever\n", 1)
	centos := `
$ iptables-save
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 80 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
COMMIT
`
	vrrpOK := strings.Replace(centos, "-A INPUT -p icmp -j ACCEPT", "-A INPUT -p vrrp -j ACCEPT\n-A INPUT -p icmp -j ACCEPT", 1)
	conf := func(peer string) string {
		return `
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    unicast_src_ip 10.0.0.3
    unicast_peer {
        ` + peer + `
    }
    virtual_ipaddress {
        10.0.0.100/32 dev eth0
    }
}
`
	}
	// ds1, the master, sends its adverts to an address that is not ds2's.
	ds1conf := strings.NewReplacer("10.0.0.3", "10.0.0.2", "state BACKUP", "state MASTER", "priority 100", "priority 150").Replace(conf("10.0.0.9"))
	split := netDR.with("ds2/ip-addr.txt", both)
	runNetTests(t, []netTest{
		{name: "split brain behind a REJECT-all firewall", files: split.with("ds2/iptables-save.txt", centos), id: "net.vrrp-blocked", first: true, sev: diagnosis.Critical, host: "ds2"},
		{name: "the split brain is explained", files: split.with("ds2/iptables-save.txt", centos), id: "director.vip-owned-twice", causedBy: "net.vrrp-blocked@ds2"},
		{name: "unicast peer names the wrong address", files: split.with("ds1/keepalived.conf", ds1conf, "ds2/keepalived.conf", conf("10.0.0.2")),
			id: "net.vrrp-blocked", first: true, sev: diagnosis.Critical, host: "ds2"},
		{name: "VRRP accepted before the REJECT", files: split.with("ds2/iptables-save.txt", vrrpOK), id: "net.vrrp-blocked"},
		{name: "firewall drops VRRP but no split brain", files: netDR.with("ds2/iptables-save.txt", centos), id: "net.vrrp-blocked", sev: diagnosis.Warning},
	})
}

func TestNetICMPUnreachable(t *testing.T) {
	prohibited := `
$ tcpdump -n -i eth0 host 10.0.0.100 or icmp
06:40:00.000001 IP 10.0.0.50.40100 > 10.0.0.100.80: Flags [S], seq 7000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
06:40:00.000301 IP 10.0.0.2 > 10.0.0.50: ICMP host 10.0.0.100 unreachable - admin prohibited filter, length 68
`
	otherPort := `
$ tcpdump -n -i eth0 icmp
06:40:00.000301 IP 10.0.0.1 > 10.0.0.50: ICMP 10.0.0.1 udp port 53 unreachable, length 68
06:40:01.000301 IP 10.0.0.11 > 10.0.0.50: ICMP 10.0.0.100 udp port 9999 unreachable, length 36
`
	curl := `
$ curl -v http://10.0.0.100/
*   Trying 10.0.0.100:80...
* connect to 10.0.0.100 port 80 failed: No route to host
* Failed to connect to 10.0.0.100 port 80 after 3050 ms: Couldn't connect to server
* Closing connection 0
curl: (7) Failed to connect to 10.0.0.100 port 80 after 3050 ms: Couldn't connect to server
`
	runNetTests(t, []netTest{
		{name: "admin prohibited from the director", files: netDR.with("client/tcpdump-eth0.txt", prohibited), id: "net.icmp-unreachable", first: true, sev: diagnosis.Critical, host: "ds1"},
		{name: "No route to host from curl", files: netDR.with("client/curl.txt", curl), id: "net.icmp-unreachable", first: true, sev: diagnosis.Warning, host: "client"},
		{name: "unreachables about other traffic", files: netDR.with("client/tcpdump-eth0.txt", otherPort), id: "net.icmp-unreachable"},
	})
}

// A TUN cluster: the director's eth0 is 1500 bytes, the client offers MSS 1460.
func netTUN() caseFiles {
	tun := netDR.with(
		"case.yaml", "vip: 10.0.0.100\nport: 80\nproto: tcp\nmode: tun\nclient: 10.0.0.50\n",
		"ds1/ipvsadm-Ln.txt", strings.ReplaceAll(netDR["ds1/ipvsadm-Ln.txt"], "Route", "Tunnel"),
		"ds2/ipvsadm-Ln.txt", strings.ReplaceAll(netDR["ds2/ipvsadm-Ln.txt"], "Route", "Tunnel"),
	)
	for _, rs := range []string{"rs1", "rs2"} {
		last := map[string]string{"rs1": "11", "rs2": "12"}[rs]
		tun[rs+"/ip-addr.txt"] = strings.Replace(netRSAddr(rs, last), "    inet 10.0.0.100/32 scope global lo:0\n       valid_lft forever preferred_lft forever\n", "", 1) +
			"3: tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/ipip 0.0.0.0 brd 0.0.0.0\n" +
			"    inet 10.0.0.100/32 scope global tunl0\n       valid_lft forever preferred_lft forever\n"
		tun[rs+"/ip-route.txt"] = "$ ip route\ndefault via 10.0.0.1 dev eth0\n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0." + last + "\n"
		tun[rs+"/sysctl.txt"] = netRSSysctl("net.ipv4.conf.tunl0.rp_filter = 0\nnet.ipv4.conf.tunl0.accept_local = 0\n")
	}
	return tun
}

func TestNetTunnelMTU(t *testing.T) {
	tun := netTUN()
	syn := `
$ tcpdump -n -i eth0 host 10.0.0.50 or proto 4
06:50:00.000001 IP 10.0.0.50.41000 > 10.0.0.100.80: Flags [S], seq 9000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
06:50:00.000011 IP 10.0.0.2 > 10.0.0.11: IP 10.0.0.50.41000 > 10.0.0.100.80: Flags [S], seq 9000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
`
	frag := syn + `06:50:00.200001 IP 10.0.0.50.41000 > 10.0.0.100.80: Flags [.], seq 1:1449, ack 1, win 502, options [nop,nop,TS val 201 ecr 77], length 1448
06:50:00.200011 IP 10.0.0.100 > 10.0.0.50: ICMP 10.0.0.100 unreachable - need to frag (mtu 1480), length 556
`
	client := `
$ tcpdump -n -i eth0 host 10.0.0.100
06:50:00.000001 IP 10.0.0.50.41000 > 10.0.0.100.80: Flags [S], seq 9000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
06:50:00.200001 IP 10.0.0.50.41000 > 10.0.0.100.80: Flags [.], seq 1:1449, ack 1, win 502, options [nop,nop,TS val 201 ecr 77], length 1448
06:50:00.420001 IP 10.0.0.50.41000 > 10.0.0.100.80: Flags [.], seq 1:1449, ack 1, win 502, options [nop,nop,TS val 421 ecr 77], length 1448
06:50:00.860001 IP 10.0.0.50.41000 > 10.0.0.100.80: Flags [.], seq 1:1449, ack 1, win 502, options [nop,nop,TS val 861 ecr 77], length 1448
`
	jumbo := strings.Replace(tun["ds1/ip-addr.txt"], "mtu 1500", "mtu 9000", 1)
	small := strings.ReplaceAll(syn, "mss 1460", "mss 1400")
	runNetTests(t, []netTest{
		{name: "MSS 1460 through a 1500-byte tunnel", files: tun.with("ds1/tcpdump-eth0.txt", syn), id: "net.tunnel-mtu", first: true, sev: diagnosis.Warning, host: "ds1"},
		{name: "frag-needed never reaches the client", files: tun.with("ds1/tcpdump-eth0.txt", frag, "client/tcpdump-eth0.txt", client), id: "net.tunnel-mtu", first: true, sev: diagnosis.Critical, host: "ds1"},
		{name: "MSS already clamped", files: tun.with("ds1/tcpdump-eth0.txt", small), id: "net.tunnel-mtu"},
		{name: "jumbo frames between director and real servers", files: tun.with("ds1/tcpdump-eth0.txt", syn, "ds1/ip-addr.txt", jumbo), id: "net.tunnel-mtu"},
		{name: "DR does not encapsulate", files: netDR.with("ds1/tcpdump-eth0.txt", syn), id: "net.tunnel-mtu"},
	})
}

func TestTraceRSNotReplying(t *testing.T) {
	silent := `
$ tcpdump -e -n -i eth0 port 80
06:55:00.000001 02:00:00:00:00:02 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 10.0.0.50.42000 > 10.0.0.100.80: Flags [S], seq 5000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
06:55:01.010001 02:00:00:00:00:02 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 10.0.0.50.42000 > 10.0.0.100.80: Flags [S], seq 5000, win 64240, options [mss 1460,sackOK,TS val 1011 ecr 0,nop,wscale 7], length 0
06:55:03.090001 02:00:00:00:00:02 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 10.0.0.50.42000 > 10.0.0.100.80: Flags [S], seq 5000, win 64240, options [mss 1460,sackOK,TS val 3091 ecr 0,nop,wscale 7], length 0
`
	answered := silent + "06:55:03.090101 02:00:00:00:00:11 > 02:00:00:00:00:01, ethertype IPv4 (0x0800), length 74: 10.0.0.100.80 > 10.0.0.50.42000: Flags [S.], seq 8000, ack 5001, win 65160, options [mss 1460,sackOK,TS val 9 ecr 3091,nop,wscale 7], length 0\n"
	lastFrame := `
$ tcpdump -e -n -i eth0 port 80
06:55:00.000001 02:00:00:00:00:02 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 10.0.0.50.42000 > 10.0.0.100.80: Flags [S], seq 5000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
`
	tun := netTUN()
	onTunl0 := `
$ tcpdump -n -i tunl0 port 80
06:55:00.000001 IP 10.0.0.50.42000 > 10.0.0.100.80: Flags [S], seq 5000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
06:55:01.010001 IP 10.0.0.50.42000 > 10.0.0.100.80: Flags [S], seq 5000, win 64240, options [mss 1460,sackOK,TS val 1011 ecr 0,nop,wscale 7], length 0
`
	runNetTests(t, []netTest{
		{name: "SYNs arrive, nothing leaves", files: netDR.with(netRS1Cap, silent), id: "trace.rs-not-replying", first: true, sev: diagnosis.Critical, host: "rs1"},
		{name: "the SYN-ACK leaves", files: netDR.with(netRS1Cap, answered), id: "trace.rs-not-replying"},
		{name: "capture ends with the SYN", files: netDR.with(netRS1Cap, lastFrame), id: "trace.rs-not-replying"},
		{name: "capture on tunl0, replies leave by eth0", files: tun.with("rs1/tcpdump-tunl0.txt", onTunl0), id: "trace.rs-not-replying"},
	})
}

func TestTraceReplyLost(t *testing.T) {
	rs := `
$ tcpdump -e -n -i eth0 port 80
06:58:00.000101 02:00:00:00:00:02 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 10.0.0.50.43000 > 10.0.0.100.80: Flags [S], seq 6000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
06:58:00.000201 02:00:00:00:00:11 > 02:00:00:00:00:01, ethertype IPv4 (0x0800), length 74: 10.0.0.100.80 > 10.0.0.50.43000: Flags [S.], seq 8000, ack 6001, win 65160, options [mss 1460,sackOK,TS val 9 ecr 1,nop,wscale 7], length 0
06:58:01.010101 02:00:00:00:00:02 > 02:00:00:00:00:11, ethertype IPv4 (0x0800), length 74: 10.0.0.50.43000 > 10.0.0.100.80: Flags [S], seq 6000, win 64240, options [mss 1460,sackOK,TS val 1011 ecr 0,nop,wscale 7], length 0
06:58:01.010201 02:00:00:00:00:11 > 02:00:00:00:00:01, ethertype IPv4 (0x0800), length 74: 10.0.0.100.80 > 10.0.0.50.43000: Flags [S.], seq 8000, ack 6001, win 65160, options [mss 1460,sackOK,TS val 1019 ecr 1,nop,wscale 7], length 0
`
	client := `
$ tcpdump -n -i eth0 host 10.0.0.100
06:58:00.000001 IP 10.0.0.50.43000 > 10.0.0.100.80: Flags [S], seq 6000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
06:58:01.010001 IP 10.0.0.50.43000 > 10.0.0.100.80: Flags [S], seq 6000, win 64240, options [mss 1460,sackOK,TS val 1011 ecr 0,nop,wscale 7], length 0
06:58:03.090001 IP 10.0.0.50.43000 > 10.0.0.100.80: Flags [S], seq 6000, win 64240, options [mss 1460,sackOK,TS val 3091 ecr 0,nop,wscale 7], length 0
`
	got := client + "06:58:03.090301 IP 10.0.0.100.80 > 10.0.0.50.43000: Flags [S.], seq 8000, ack 6001, win 65160, options [mss 1460,sackOK,TS val 3099 ecr 3091,nop,wscale 7], length 0\n"
	other := strings.ReplaceAll(client, "43000", "43999")
	runNetTests(t, []netTest{
		{name: "SYN-ACK sent, never received", files: netDR.with(netRS1Cap, rs, "client/tcpdump-eth0.txt", client), id: "trace.reply-lost", first: true, sev: diagnosis.Critical, host: "rs1"},
		{name: "the client gets the SYN-ACK", files: netDR.with(netRS1Cap, rs, "client/tcpdump-eth0.txt", got), id: "trace.reply-lost"},
		{name: "the client's capture is of another connection", files: netDR.with(netRS1Cap, rs, "client/tcpdump-eth0.txt", other), id: "trace.reply-lost"},
	})
}
