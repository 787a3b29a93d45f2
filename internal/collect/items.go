package collect

// Items is what a host folder holds, in collection order. Order matters
// once: the firewall is read before anything else touches it.
func Items() []Item {
	nft := moduleReady("nf_tables", "listing nftables")
	ipt4 := nft.or(exists("/proc/net/ip_tables_names", ""), "neither nf_tables nor ip_tables is loaded (listing iptables would load one)")
	ipt6 := nft.or(exists("/proc/net/ip6_tables_names", ""), "neither nf_tables nor ip6_tables is loaded (listing ip6tables would load one)")
	ipvs := exists("/proc/net/ip_vs", "ip_vs is not loaded: no IPVS on this host (ipvsadm or IPVS genetlink would load it)")
	// rtnetlink loads the protocol module (net-pf-10) for an IPv6 dump
	ipv6 := exists("/proc/net/if_inet6", "IPv6 is not loaded (an IPv6 dump would load it)")
	ct := exists("/proc/sys/net/netfilter/nf_conntrack_max", "nf_conntrack is not loaded: no connection tracking")
	diag := moduleReady("inet_diag", "sock_diag").and(moduleReady("tcp_diag", "sock_diag")).and(moduleReady("udp_diag", "sock_diag"))
	// ebtables-nft shows up in the nft ruleset, and listing it with the
	// ebtables command creates its tables; only legacy ebtables is listed,
	// table by table, and only when that table's module is loaded.
	ebLegacy := haveCmd("ebtables").and(resolvesTo("ebtables", "legacy", "ebtables is not the legacy variant (nf_tables' bridge tables are in the nft ruleset)"))

	journald := exists("/run/systemd/system", "systemd is not running").and(haveCmd("journalctl"))

	syslogFiles := exists("/var/log/messages", "").or(exists("/var/log/syslog", ""), "neither /var/log/messages nor /var/log/syslog exists")

	items := []Item{
		// firewall
		{File: "nft-j-list-ruleset.json", Doc: "nftables ruleset (JSON)", Guard: nft.and(haveCmd("nft")), Cmd: []string{"nft", "-j", "list", "ruleset"}},
		{File: "iptables-save-c.txt", Doc: "iptables rules with counters, every table", Guard: ipt4.and(haveCmd("iptables-save")), Cmd: []string{"iptables-save", "-c"}, Header: true},
		{File: "ip6tables-save-c.txt", Doc: "ip6tables rules with counters", Guard: ipt6.and(haveCmd("ip6tables-save")), Cmd: []string{"ip6tables-save", "-c"}, Header: true, Optional: true},
	}
	for _, t := range []string{"filter", "nat", "broute"} {
		items = append(items, Item{File: "ebtables-t-" + t + "-L.txt", Doc: "ebtables " + t + " table (legacy ebtables)",
			Guard: ebLegacy.and(moduleReady("ebtable_"+t, "listing the "+t+" table")),
			Cmd:   []string{"ebtables", "-t", t, "-L", "--Lc"}, Header: true, Optional: true})
	}
	items = append(items,
		// IPVS, only when ip_vs is loaded already: procfs; the ipvsadm
		// listings from genetlink in-process (ipvsnl prints them as
		// ipvsadm does, so hosts without ipvsadm have them too), and from
		// ipvsadm in the remote script where it is installed
		Item{File: "proc-net-ip_vs.txt", Doc: "IPVS services and real servers", Guard: ipvs, Path: "/proc/net/ip_vs", Optional: true},
		Item{File: "proc-net-ip_vs_conn.txt", Doc: "IPVS connections", Guard: ipvs, Path: "/proc/net/ip_vs_conn", Optional: true},
		Item{File: "proc-net-ip_vs_stats.txt", Doc: "IPVS totals", Guard: ipvs, Path: "/proc/net/ip_vs_stats", Optional: true},
		Item{File: "ipvsadm-Ln.txt", Doc: "IPVS services and real servers (weights, methods, flags)", Guard: ipvs, Go: ipvsList, Cmd: []string{"ipvsadm", "-Ln"}, Header: true, Optional: true},
		Item{File: "ipvsadm-Ln-stats.txt", Doc: "IPVS services with traffic counters", Guard: ipvs, Go: ipvsStats, Cmd: []string{"ipvsadm", "-Ln", "--stats"}, Header: true, Optional: true},
		Item{File: "ipvsadm-Ln-rate.txt", Doc: "IPVS services with rates", Guard: ipvs, Go: ipvsRate, Cmd: []string{"ipvsadm", "-Ln", "--rate"}, Header: true, Optional: true},
		Item{File: "ipvsadm-Ln-timeout.txt", Doc: "IPVS timeouts", Guard: ipvs, Go: ipvsTimeout, Cmd: []string{"ipvsadm", "-Ln", "--timeout"}, Header: true, Optional: true},
		Item{File: "proc-sys-net-ipv4-vs.txt", Doc: "IPVS sysctls", Guard: ipvs, Go: sysctlTree("/proc/sys/net/ipv4/vs"), Cmd: []string{"sysctl", "net.ipv4.vs"}, Optional: true},

		// network
		Item{File: "ip-d-addr.txt", Doc: "links and addresses", Go: netlinkAddr, Cmd: []string{"ip", "-d", "addr", "show"}},
		Item{File: "ip-d-link.txt", Doc: "links with details", Go: netlinkLink, Cmd: []string{"ip", "-d", "link", "show"}},
		Item{File: "ip-route-table-all.txt", Doc: "IPv4 routes of every table", Go: netlinkRoute4, Cmd: []string{"ip", "route", "show", "table", "all"}},
		Item{File: "ip-6-route-table-all.txt", Doc: "IPv6 routes of every table", Guard: ipv6, Go: netlinkRoute6, Cmd: []string{"ip", "-6", "route", "show", "table", "all"}},
		Item{File: "ip-rule.txt", Doc: "IPv4 policy routing rules", Go: netlinkRule4, Cmd: []string{"ip", "rule", "show"}},
		Item{File: "ip-6-rule.txt", Doc: "IPv6 policy routing rules", Guard: ipv6, Go: netlinkRule6, Cmd: []string{"ip", "-6", "rule", "show"}},
		Item{File: "ip-neigh.txt", Doc: "neighbours (ARP/NDP)", Go: netlinkNeigh, Cmd: []string{"ip", "neigh", "show"}},
		Item{File: "ss-lntup.txt", Doc: "listening sockets", Guard: diag, Go: netlinkListeners, GoUnguarded: true, Cmd: []string{"ss", "-lntup"}},
		Item{File: "netstat-lntup.txt", Doc: "listening sockets (from /proc: sock_diag is not loaded)", Guard: diag.not("sock_diag is loaded: ss is used").and(haveCmd("netstat")), Cmd: []string{"netstat", "-lntup"}, Header: true, Optional: true, RemoteOnly: true},
		Item{File: "sysctl-a.txt", Doc: "sysctls (/proc/sys)", Go: sysctlTree("/proc/sys"), Cmd: []string{"sysctl", "-a"}},

		// counters
		Item{File: "proc-net-snmp.txt", Doc: "IP/ICMP/TCP/UDP counters", Path: "/proc/net/snmp"},
		Item{File: "proc-net-netstat.txt", Doc: "TCP/IP extended counters", Path: "/proc/net/netstat"},
		Item{File: "proc-net-snmp6.txt", Doc: "IPv6 counters", Guard: ipv6, Path: "/proc/net/snmp6", Optional: true},
		Item{File: "nf_conntrack_count.txt", Doc: "conntrack entries in use", Guard: ct, Path: "/proc/sys/net/netfilter/nf_conntrack_count", Optional: true},
		Item{File: "nf_conntrack_max.txt", Doc: "conntrack table size", Guard: ct, Path: "/proc/sys/net/netfilter/nf_conntrack_max", Optional: true},
		Item{File: "proc-net-stat-nf_conntrack.txt", Doc: "conntrack per-CPU statistics", Guard: ct, Path: "/proc/net/stat/nf_conntrack", Optional: true},
		Item{File: "conntrack-S.txt", Doc: "conntrack statistics", Guard: ct.and(moduleReady("nf_conntrack_netlink", "conntrack -S")).and(haveCmd("conntrack")), Cmd: []string{"conntrack", "-S"}, Header: true, Optional: true},

		// system
		Item{File: "uname-a.txt", Doc: "running kernel", Cmd: []string{"uname", "-a"}, Header: true},
		Item{File: "os-release", Doc: "distribution", Path: "/etc/os-release", Optional: true},
		Item{File: "proc-modules.txt", Doc: "loaded modules", Path: "/proc/modules", Optional: true},
		Item{File: "ls-boot.txt", Doc: "installed kernels (/boot)", Cmd: []string{"ls", "-l", "/boot"}, Header: true, Optional: true},
		Item{File: "dpkg-l-linux-image.txt", Doc: "installed kernels (dpkg)", Guard: haveCmd("dpkg"), Cmd: []string{"dpkg", "-l", "linux-image*"}, Header: true, Optional: true},
		Item{File: "rpm-q-kernel.txt", Doc: "installed kernels (rpm)", Guard: haveCmd("rpm"), Cmd: []string{"rpm", "-q", "kernel"}, Header: true, Optional: true},
		Item{File: "grubby-info-ALL.txt", Doc: "boot entries", Guard: haveCmd("grubby"), Cmd: []string{"grubby", "--info=ALL"}, Header: true, Optional: true},
		Item{File: "dmi-sys_vendor.txt", Doc: "hardware vendor (cloud detection)", Path: "/sys/class/dmi/id/sys_vendor", Optional: true},
		Item{File: "dmi-product_name.txt", Doc: "hardware product (cloud detection)", Path: "/sys/class/dmi/id/product_name", Optional: true},
		Item{File: "dmesg.txt", Doc: "kernel log (tail)", Guard: haveCmd("dmesg"), Cmd: []string{"dmesg", "-T"}, Header: true, Optional: true, Limit: 4 << 20},

		// keepalived
		Item{File: "keepalived-v.txt", Doc: "keepalived version", Guard: haveCmd("keepalived"), Cmd: []string{"sh", "-c", "keepalived -v 2>&1"}, Shows: "keepalived -v", Header: true, Optional: true},
		Item{File: "keepalived.log", Doc: "keepalived's journal (tail)", Guard: journald, Cmd: []string{"journalctl", "-u", "keepalived", "-n", "5000", "--no-pager", "-o", "short"}, Optional: true, Limit: 16 << 20},
		Item{File: "keepalived-syslog.log", Doc: "keepalived's lines in /var/log/messages or syslog (no journald)", Guard: journald.not("journald runs: its journal is read").and(syslogFiles), Go: keepalivedSyslog,
			Cmd: []string{"sh", "-c", "cat /var/log/messages /var/log/syslog 2>/dev/null | grep -a Keepalived | tail -n 5000"}, Optional: true},
	)
	return items
}
