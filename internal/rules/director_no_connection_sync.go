package rules

import (
	"fmt"
	"net/netip"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/probe"
)

var directorNoConnectionSync = &Rule{
	ID:   "director.no-connection-sync",
	Doc:  "A VRRP-failed-over virtual server with persistent or long-lived connections runs without IPVS connection sync (keepalived's lvs_sync_daemon), so a new master resets the connections the old one forwarded.",
	Rank: 45,
	Needs: []Need{
		{Role: evidence.RoleDirector, Kind: evidence.KindKeepalived, Command: "cat /etc/keepalived/keepalived.conf"},
		{Role: evidence.RoleDirector, Kind: evidence.KindLogs, Command: "journalctl -u keepalived --since -1d"},
	},
	Run: func(p *Pass) {
		var confs []*evidence.Host
		for _, d := range p.Directors() {
			if d.IPVS != nil && len(d.IPVS.SyncDaemons) > 0 {
				return // `ipvsadm -L --daemon` shows a sync daemon, started by hand or by keepalived
			}
			if d.Keepalived == nil || !d.Has(evidence.KindKeepalived) {
				continue
			}
			if d.Keepalived.LVSSyncDaemon != nil {
				return // one director syncing: its peers are configured alike or the note below is moot
			}
			confs = append(confs, d)
		}
		if len(confs) == 0 {
			return
		}
		// One finding for the pair: the fix is the same line on every
		// director, and the first one's file stands for them all.
		d := confs[0]
		kc := d.Keepalived
		for _, kv := range kc.VirtualServers {
			vi := floatingInstance(kc, kv.Addr)
			if vi == nil {
				continue // no VRRP failover of this address
			}
			master, reset := failoverResets(p, kv.Addr)
			if kv.Persistence <= 0 && reset.IsZero() {
				continue // short connections: a failover costs a retry, not a session
			}
			sev := diagnosis.Warning
			var ev []evidence.Ref
			for _, o := range confs {
				// the file stands for what it lacks: no lvs_sync_daemon in global_defs
				conf := o.Keepalived.Ref
				if conf.Text == "" {
					conf.Text = "(keepalived.conf: no lvs_sync_daemon)"
				}
				ev = append(ev, conf)
			}
			ev = append(ev, kv.Ref, vi.Ref)
			what := "a failover will reset the connections established through the old master"
			if !reset.IsZero() {
				sev = diagnosis.Critical
				ev = append([]evidence.Ref{reset, master}, ev...)
				what = "the resets seen after the VRRP transition are this"
			}
			p.Report(diagnosis.Finding{
				Severity: sev,
				Host:     d.Name,
				Title:    fmt.Sprintf("no IPVS connection sync between the directors of %s, which fails over by VRRP (%s)", vsLabel(kv), vi.Name),
				Explanation: "A new master's IPVS table knows nothing of the connections the old master forwarded: without the connection " +
					"sync daemon (keepalived's global_defs lvs_sync_daemon, or ipvsadm --start-daemon master/backup) their next packet " +
					"finds no entry, and the new director resets it or schedules it to another real server (persistence lost). " +
					"No lvs_sync_daemon is in keepalived.conf: " + what + ".",
				Evidence: ev,
				Fix: []string{
					fixStep("in global_defs of every director's keepalived.conf: lvs_sync_daemon %s %s", orName(vi.Interface, "$(the VRRP interface: ip -br addr)"), vi.Name),
					fixCmd("systemctl reload keepalived", "on each director, the backup first (reload, not restart: a restart on the VRRP master fails the VIP over)"),
					fixCmd("ipvsadm -L --daemon", "shows the master and backup sync daemons running"),
				},
			})
		}
	},
}

// vsLabel names a configured virtual server.
func vsLabel(kv *evidence.KVirtualServer) string {
	if kv.FWMark != 0 {
		return fmt.Sprintf("fwmark %d", kv.FWMark)
	}
	if kv.Group != "" {
		return "group " + kv.Group
	}
	return netip.AddrPortFrom(kv.Addr, kv.Port).String()
}

// floatingInstance is the vrrp_instance whose virtual addresses hold vip.
func floatingInstance(kc *evidence.KeepalivedConfig, vip netip.Addr) *evidence.VRRPInstance {
	if !vip.IsValid() {
		return nil
	}
	for _, vi := range kc.VRRPInstances {
		for _, v := range vi.VIPs {
			if v.Prefix.Addr() == vip {
				return vi
			}
		}
	}
	return nil
}

// failoverResets finds a director taking over by VRRP and a connection to
// vip reset by peer in the case: the symptom of a failover without sync.
func failoverResets(p *Pass, vip netip.Addr) (master, reset evidence.Ref) {
	for _, d := range p.Directors() {
		for _, l := range d.Logs {
			if l.Kind == evidence.LogVRRPMaster {
				master = l.Ref
			}
		}
	}
	if master.IsZero() {
		return master, reset
	}
	for _, h := range p.Topo.Case.Hosts {
		for _, o := range h.Observations {
			if o.Kind == probe.ObsReset && (!o.Target.IsValid() || o.Target == vip) {
				return master, o.Ref
			}
		}
	}
	return master, evidence.Ref{}
}
