package keepalived

import (
	"sort"
	"strings"
)

// Keywords each block accepts, in keepalived 1.2 to 2.2 (each list was
// checked against keepalived 2.2.7's `keepalived -t`; 1.x-only names are
// in removedInV2). A few kept here are unknown to Debian's build only
// because it lacks a compile option (nftables, ipsets, track_process):
// reporting them would blame the file for the build. global_defs has some
// 200 keywords that grow with every release, so there only near-misses of
// known ones and removed keywords are reported.
var blockKeywords = map[string][]string{
	"top": {"global_defs", "vrrp_instance", "vrrp_sync_group", "vrrp_script", "virtual_server",
		"virtual_server_group", "static_ipaddress", "static_routes", "static_rules", "include",
		"linkbeat_interfaces", "vrrp_track_process", "vrrp_track_file", "track_file", "bfd_instance",
		"net_namespace", "net_namespace_ipvs", "instance", "use_pid_dir", "linkbeat_use_polling", "garp_group", "track_process"},
	"global_defs": {"router_id", "vrrp_strict", "script_user", "enable_script_security",
		"vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat", "vrrp_garp_master_delay",
		"vrrp_garp_master_repeat", "vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat",
		"vrrp_garp_interval", "vrrp_gna_interval", "vrrp_lower_prio_no_advert", "vrrp_higher_prio_send_advert",
		"vrrp_version", "vrrp_iptables", "vrrp_ipsets", "vrrp_check_unicast_src", "vrrp_skip_check_adv_addr",
		"vrrp_mcast_group4", "vrrp_mcast_group6", "vrrp_priority", "vrrp_no_swap", "vrrp_rt_priority",
		"vrrp_rlimit_rttime", "vrrp_cpu_affinity", "vrrp_process_name", "vrrp_notify_fifo",
		"vrrp_notify_fifo_script", "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs",
		"vrrp_startup_delay", "vrrp_min_garp", "vrrp_nftables", "vrrp_nftables_counters", "vrrp_nftables_ifindex",
		"vrrp_nftables_priority", "vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier", "vrrp_garp_extra_if",
		"vrrp_track_process", "lvs_notify_fifo", "lvs_notify_fifo_script", "notification_email", "notification_email_from", "smtp_server",
		"smtp_helo_name", "smtp_connect_timeout", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker",
		"checker_priority", "checker_no_swap", "checker_rt_priority", "checker_rlimit_rttime",
		"checker_cpu_affinity", "checker_process_name", "checker_log_all_failures", "bfd_priority", "bfd_no_swap", "bfd_rt_priority", "bfd_rlimit_rttime",
		"bfd_cpu_affinity", "bfd_process_name", "lvs_sync_daemon", "lvs_flush", "lvs_flush_onstop",
		"lvs_timeouts", "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_monitor_rcv_bufs", "notify_fifo",
		"notify_fifo_script", "max_auto_priority", "min_auto_priority_delay", "dynamic_interfaces",
		"no_email_faults", "default_interface", "snmp_socket", "enable_snmp_keepalived", "enable_snmp_vrrp", "enable_snmp_checker",
		"enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_traps", "enable_dbus",
		"dbus_service_name", "startup_script", "startup_script_timeout", "shutdown_script",
		"shutdown_script_timeout", "reload_check_config", "reload_time_file", "reload_repeat", "reload_file",
		"config_save_dir", "data_use_instance", "tmp_config_directory", "umask", "nftables", "nftables_priority",
		"nftables_counters", "nftables_ifindex", "process_names", "process_name", "disable_local_igmp",
		"random_seed", "fifo_write_vrrp_states_on_reload", "rs_init_notifies", "no_checker_emails"},
	"vrrp_instance": {"state", "interface", "virtual_router_id", "priority", "advert_int", "nopreempt",
		"preempt", "preempt_delay", "authentication", "virtual_ipaddress", "virtual_ipaddress_excluded",
		"virtual_routes", "virtual_rules", "unicast_src_ip", "unicast_peer", "unicast_ttl", "unicast_fault_no_peer",
		"mcast_src_ip", "track_script", "track_interface", "track_file", "track_process", "track_bfd",
		"track_src_ip", "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop",
		"notify_deleted", "notify_master_rx_lower_pri", "smtp_alert", "garp_master_delay", "garp_master_repeat",
		"garp_master_refresh", "garp_master_refresh_repeat", "garp_lower_prio_delay", "garp_lower_prio_repeat",
		"lower_prio_no_advert", "higher_prio_send_advert", "dont_track_primary",
		"skip_check_adv_addr", "strict_mode", "version", "accept", "no_accept", "use_vmac", "vmac_xmit_base",
		"use_ipvlan", "native_ipv6", "debug", "kernel_rx_buf_size", "linkbeat_use_polling", "check_unicast_src",
		"garp_extra_if", "old_unicast_checksum", "down_timer_adverts", "mcast_dst_ip"},
	"authentication":  {"auth_type", "auth_pass"},
	"vrrp_sync_group": {"group", "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop", "smtp_alert", "global_tracking", "sync_group_tracking_weight", "track_script", "track_interface", "track_file", "track_process", "track_bfd"},
	"virtual_server": {"delay_loop", "lb_algo", "lvs_sched", "lb_kind", "lvs_method", "protocol",
		"persistence_timeout", "persistence_granularity", "persistence_engine", "virtualhost", "sorry_server",
		"sorry_server_inhibit", "sorry_server_lvs_method", "real_server", "quorum", "quorum_up", "quorum_down",
		"hysteresis", "alpha", "omega", "ha_suspend", "ops", "inhibit_on_failure", "retry", "delay_before_retry",
		"warmup", "connect_timeout", "smtp_alert", "weight", "ip_family", "hashed", "flag-1", "flag-2", "flag-3",
		"sh-port", "sh-fallback", "mh-port", "mh-fallback"},
	"real_server": {"weight", "inhibit_on_failure", "notify_up", "notify_down", "uthreshold", "lthreshold",
		"alpha", "retry", "delay_before_retry", "warmup", "connect_timeout", "delay_loop", "smtp_alert",
		"virtualhost", "lvs_method", "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK", "BFD_CHECK"},
	"TCP_CHECK": {"connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "retry",
		"delay_before_retry", "warmup", "fwmark", "alpha", "delay_loop", "log_all_failures"},
	"HTTP_GET": {"connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "retry",
		"delay_before_retry", "warmup", "fwmark", "alpha", "delay_loop", "log_all_failures", "url",
		"virtualhost", "http_protocol", "enable_sni", "fast_recovery"},
	"url": {"path", "digest", "status_code", "virtualhost", "regex", "regex_no_match", "regex_options",
		"regex_max_offset", "regex_min_offset", "regex_stack"},
	"MISC_CHECK": {"misc_path", "misc_timeout", "misc_dynamic", "user", "warmup", "retry",
		"delay_before_retry", "delay_loop", "alpha", "log_all_failures"},
	"SMTP_CHECK": {"connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "retry",
		"delay_before_retry", "warmup", "fwmark", "alpha", "delay_loop", "helo_name", "host", "log_all_failures"},
	"DNS_CHECK": {"connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "retry",
		"delay_before_retry", "warmup", "fwmark", "alpha", "delay_loop", "type", "name", "log_all_failures"},
	"UDP_CHECK": {"connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "connect_timeout", "retry",
		"delay_before_retry", "warmup", "fwmark", "alpha", "delay_loop", "payload", "require_reply",
		"min_reply_length", "max_reply_length", "log_all_failures"},
	"PING_CHECK": {"connect_ip", "bindto", "bind_if", "connect_timeout", "retry", "delay_before_retry",
		"warmup", "fwmark", "alpha", "delay_loop", "log_all_failures"},
	"FILE_CHECK": {"track_file", "weight"},
	"BFD_CHECK":  {"name"},
}

var knownSet = func() map[string]map[string]bool {
	m := map[string]map[string]bool{}
	for b, kws := range blockKeywords {
		m[b] = map[string]bool{}
		for _, k := range kws {
			m[b][k] = true
		}
	}
	return m
}()

// known reports whether kw is valid in block where. In global_defs and in
// blocks lvsdoctor does not list, any keyword that is not a near miss of
// a known one is taken as valid: keepalived adds global keywords with
// every release, and a false "unknown keyword" would be a false finding.
func known(where, kw string) bool {
	set, listed := knownSet[where]
	if listed && set[kw] {
		return true
	}
	if !listed || where == "global_defs" {
		if near := nearMiss(where, kw); near != "" {
			return false
		}
		return true
	}
	return false
}

// placesOf lists the blocks where kw is valid, for "belongs in" messages.
func placesOf(kw string) string {
	var out []string
	for b, set := range knownSet {
		if set[kw] {
			out = append(out, b)
		}
	}
	sort.Strings(out)
	if len(out) > 3 {
		out = append(out[:3], "…")
	}
	return strings.Join(out, ", ")
}

// nearMiss returns the keyword of the block that kw misspells, if any.
func nearMiss(where, kw string) string {
	if len(kw) < 5 {
		return ""
	}
	if len(kw) > 64 {
		return ""
	}
	for k := range knownSet[where] {
		if d := len(k) - len(kw); d > 1 || d < -1 {
			continue
		}
		if k != kw && len(k) >= 5 && editDistance(k, kw, 2) <= 1 {
			return k
		}
	}
	return ""
}

// editDistance is the optimal string alignment distance (Levenshtein plus
// adjacent transpositions, the usual typo), giving up above limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	if len(a) > 64 || len(b) > 64 {
		return limit + 1
	}
	var rows [65][65]int
	for i := range len(a) + 1 {
		rows[i][0] = i
	}
	for j := 0; j <= len(b); j++ {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		best := rows[i][0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, rows[i-2][j-2]+1)
			}
			rows[i][j] = v
			best = min(best, v)
		}
		if best > limit {
			return limit + 1
		}
	}
	return rows[len(a)][len(b)]
}

// v2Only are keywords that only keepalived 2.x knows: a file using them is
// written for 2.x, so 1.x names in it are mistakes.
var v2Only = map[string]bool{
	"retry": true, "lvs_sched": true, "lvs_method": true, "max_auto_priority": true,
	"vrrp_startup_delay": true, "track_process": true, "vrrp_track_process": true, "track_file": true,
	"vrrp_track_file": true, "track_bfd": true, "bfd_instance": true, "linkbeat_interfaces": true,
	"enable_sni": true, "http_protocol": true, "UDP_CHECK": true, "PING_CHECK": true, "FILE_CHECK": true,
	"notify_deleted": true, "vrrp_notify_fifo": true, "checker_notify_fifo": true, "notify_fifo": true,
	"garp_group": true, "static_rules": true, "virtual_rules": true, "use_ipvlan": true,
	"sorry_server_lvs_method": true, "ip_family": true, "nftables": true,
	"vrrp_nftables": true, "unicast_fault_no_peer": true, "vrrp_min_garp": true, "reload_check_config": true,
}

// removedInV2 are keywords 1.x accepted that keepalived 2.x rejects with
// "Unknown keyword": harmless in a 1.x file, ignored in a 2.x one.
var removedInV2 = map[string]string{
	"nb_get_retry":              "nb_get_retry is the keepalived 1.x name of retry: keepalived 2.x ignores it in TCP_CHECK (Unknown keyword) and only warns elsewhere; write `retry`",
	"nat_mask":                  "nat_mask is a keepalived 1.x keyword; keepalived 2.x ignores it (Unknown keyword)",
	"lvs_id":                    "lvs_id is the keepalived 1.x name of router_id; keepalived 2.x ignores it (Unknown keyword)",
	"vrrp_unicast_bind":         "vrrp_unicast_bind was replaced by unicast_src_ip; keepalived 2.x ignores it",
	"vrrp_unicast_peer":         "vrrp_unicast_peer was replaced by unicast_peer; keepalived 2.x ignores it",
	"lvs_sync_daemon_interface": "lvs_sync_daemon_interface was replaced by lvs_sync_daemon; keepalived 2.x ignores it (Unknown keyword)",
}

// forkOnly are the FULLNAT fork's keywords (Alibaba LVS keepalived).
var forkOnly = map[string]bool{
	"local_address_group": true, "laddr_group_name": true, "syn_proxy": true, "est_timeout": true,
}

var schedulers = map[string]bool{
	"rr": true, "wrr": true, "lc": true, "wlc": true, "lblc": true, "lblcr": true, "dh": true, "sh": true,
	"sed": true, "nq": true, "fo": true, "ovf": true, "mh": true, "twos": true,
}
