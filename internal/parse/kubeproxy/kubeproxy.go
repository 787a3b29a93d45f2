// Package kubeproxy reads what a ticket shows of kube-proxy's settings:
// its command line (a manifest's `- --proxy-mode=ipvs`, `ps` output) and
// a KubeProxyConfiguration (`mode: "ipvs"`, `excludeCIDRs`). kube-proxy in
// IPVS mode owns the host's IPVS table: it deletes virtual services it did
// not create unless their address is in --ipvs-exclude-cidrs
// (pkg/proxy/ipvs/proxier.go, cleanLegacyService), so a keepalived beside
// it needs to know.
package kubeproxy

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// flagRE: a kube-proxy flag that says who owns IPVS, as a command line or
// a manifest's argument list prints it.
var flagRE = regexp.MustCompile(`--(proxy-mode|ipvs-exclude-cidrs|ipvs-scheduler|masquerade-all|cluster-cidr|ipvs-tcp-timeout|ipvs-tcpfin-timeout|ipvs-udp-timeout|ipvs-strict-arp)(?:=|\s+)"?([A-Za-z0-9.,:/]+)`)

// argLineRE: a line that is a command's arguments, not prose about them:
// a manifest's list item or a continued command line ("- --proxy-mode=ipvs",
// "    --proxy-mode=ipvs \\"), or kube-proxy's own command line (ps).
var argLineRE = regexp.MustCompile(`^\s*(?:-\s+)?["']?--[a-z]|(?:^\s*|/)kube-proxy\s+(?:\S+\s+)*--[a-z]`)

// modeRE, excludeRE: the same in a KubeProxyConfiguration.
var (
	modeRE    = regexp.MustCompile(`^\s*mode:\s*["']?([a-z]+)["']?\s*$`)
	excludeRE = regexp.MustCompile(`^\s*excludeCIDRs:\s*\[([^\]]*)\]`)
	// settingRE: the configuration's other IPVS settings, recorded under
	// the name of the flag that sets the same (kube-proxy's
	// pkg/proxy/apis/config/types.go: iptables.masqueradeAll,
	// ipvs.scheduler, ipvs.tcpTimeout, ipvs.strictARP, clusterCIDR).
	settingRE = regexp.MustCompile(`^\s*(masqueradeAll|scheduler|clusterCIDR|tcpTimeout|tcpFinTimeout|udpTimeout|strictARP):\s*["']?([A-Za-z0-9.,:/]+)["']?\s*$`)
	// configKeyRE: keys only a kube-proxy configuration holds, which tell
	// one quoted without its apiVersion and kind lines (the mode line
	// alone could be anything's).
	configKeyRE = regexp.MustCompile(`(?m)^\s*(?:masqueradeAll|excludeCIDRs|kubeProxyIPVSConfiguration|kubeProxyIPTablesConfiguration|strictARP|conntrack|clusterCIDR|healthzBindAddress|metricsBindAddress):`)
	// startRE: the first line of a kube-proxy manifest or command line
	// pasted after another file (a container's `- command:` list).
	startRE = regexp.MustCompile(`^\s*-?\s*(?:command|args):\s*$|(?:^|[\s/])kube-proxy(?:\s|$)|^\s*(?:kind:\s*KubeProxyConfiguration|apiVersion:\s*kubeproxy\.config)`)
)

// Formats: kube-proxy's configuration or command line, told by content.
func Formats() []format.Format {
	return []format.Format{{
		Name:  "kube-proxy-config",
		Files: format.Patterns(`^kube-?proxy.*\.(?:ya?ml|conf|txt)$`),
		Sniff: func(head string) bool {
			if isConfig(head) {
				return true
			}
			for _, line := range strings.Split(head, "\n") {
				if argLineRE.MatchString(line) && strings.Contains(line, "--proxy-mode") {
					return strings.Contains(head, "kube-proxy")
				}
			}
			return false
		},
		Apply: func(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
			Apply(doc, h)
			return nil
		},
	}}
}

// Tail returns the offset in text where a kube-proxy command line or
// configuration pasted after another file begins: the start of the line
// that opens it (`- command:` just before a kube-proxy line, or the
// kube-proxy line itself). ok is false when text holds no kube-proxy
// setting.
func Tail(text string) (offset int, ok bool) {
	if !strings.Contains(text, "--proxy-mode") && !strings.Contains(text, "KubeProxyConfiguration") {
		return 0, false
	}
	off, opener := 0, -1
	for _, line := range strings.SplitAfter(text, "\n") {
		if startRE.MatchString(line) {
			if opener < 0 {
				opener = off
			}
			if strings.Contains(line, "kube-proxy") || strings.Contains(line, "KubeProxyConfiguration") || strings.Contains(line, "kubeproxy.config") {
				return opener, true
			}
		} else if strings.TrimSpace(line) != "" {
			opener = -1
		}
		off += len(line)
	}
	return 0, false
}

// Apply records kube-proxy's IPVS-related settings found in doc as events
// of kind evidence.LogKubeProxyConfig, Subject "proxy-mode=ipvs" or
// "ipvs-exclude-cidrs=<list>", each citing its line.
func Apply(doc evidence.Doc, h *evidence.Host) {
	config := isConfig(doc.Text)
	for i, line := range strings.Split(doc.Text, "\n") {
		var subject string
		switch {
		case argLineRE.MatchString(line) && flagRE.MatchString(line):
			m := flagRE.FindStringSubmatch(line)
			subject = m[1] + "=" + m[2]
		case config && modeRE.MatchString(line):
			subject = "proxy-mode=" + modeRE.FindStringSubmatch(line)[1]
		case config && settingRE.MatchString(line):
			m := settingRE.FindStringSubmatch(line)
			subject = settingFlags[m[1]] + "=" + m[2]
		case config && excludeRE.MatchString(line):
			list := strings.NewReplacer(`"`, "", "'", "", " ", "").Replace(excludeRE.FindStringSubmatch(line)[1])
			subject = "ipvs-exclude-cidrs=" + list
		default:
			continue
		}
		ref := doc.Ref(i, line)
		h.Logs = append(h.Logs, evidence.LogEvent{Kind: evidence.LogKubeProxyConfig, Subject: subject, Detail: ref.Text, Ref: ref})
		h.MarkSeen(evidence.KindLogs, ref)
	}
}

// settingFlags: the flag named after each configuration setting.
var settingFlags = map[string]string{
	"masqueradeAll": "masquerade-all", "scheduler": "ipvs-scheduler", "clusterCIDR": "cluster-cidr",
	"tcpTimeout": "ipvs-tcp-timeout", "tcpFinTimeout": "ipvs-tcpfin-timeout", "udpTimeout": "ipvs-udp-timeout",
	"strictARP": "ipvs-strict-arp",
}

// isConfig: text is a KubeProxyConfiguration, named (its kind or
// apiVersion) or told by a mode line beside keys only it has.
func isConfig(text string) bool {
	if strings.Contains(text, "KubeProxyConfiguration") || strings.Contains(text, "kubeproxy.config.k8s.io") {
		return true
	}
	for _, line := range strings.Split(text, "\n") {
		if modeRE.MatchString(line) {
			return configKeyRE.MatchString(text)
		}
	}
	return false
}
