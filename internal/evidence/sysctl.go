package evidence

import (
	"strconv"
	"strings"
)

// ConfKey is the sysctl key of a per-interface IPv4 setting. sysctl prints
// dots inside interface names (VLANs such as eth0.100) as slashes.
func ConfKey(iface, name string) string {
	return "net.ipv4.conf." + strings.ReplaceAll(iface, ".", "/") + "." + name
}

// Sysctl returns the value shown for key.
func (h *Host) Sysctl(key string) (Sysctl, bool) {
	s, ok := h.Sysctls[key]
	return s, ok
}

// SysctlInt returns the value of key as an integer.
func (h *Host) SysctlInt(key string) (int, Ref, bool) {
	s, ok := h.Sysctls[key]
	if !ok {
		return 0, Ref{}, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(s.Value))
	if err != nil {
		return 0, s.Ref, false
	}
	return n, s.Ref, true
}

// Effective is a per-interface setting as the kernel applies it.
type Effective struct {
	Value int
	// Exact is false when some input of the kernel's formula was not shown;
	// Value is then a lower bound (for max) or what is known (for or).
	Exact bool
	Known bool  // at least one input was shown
	Refs  []Ref // the lines the value was computed from
}

// confCombine says how the kernel combines conf/all and conf/<iface>
// (include/linux/inetdevice.h): IN_DEV_MAXCONF for rp_filter, arp_ignore and
// arp_announce; IN_DEV_ORCONF for accept_local, log_martians, route_localnet,
// proxy_arp, arp_filter...; IN_DEV_CONF_GET (interface only) for forwarding,
// where writing net.ipv4.ip_forward (or conf.all.forwarding) copies the
// value into every interface.
var confCombine = map[string]string{
	"rp_filter":      "max",
	"arp_ignore":     "max",
	"arp_announce":   "max",
	"accept_local":   "or",
	"log_martians":   "or",
	"route_localnet": "or",
	"proxy_arp":      "or",
	"arp_filter":     "or",
	"forwarding":     "iface",
}

// EffectiveConf computes net.ipv4.conf.<iface>.<name> the way the kernel
// uses it on input through iface.
func (h *Host) EffectiveConf(name, iface string) Effective {
	all, allRef, allOK := h.SysctlInt(ConfKey("all", name))
	dev, devRef, devOK := h.SysctlInt(ConfKey(iface, name))
	var e Effective
	if allOK {
		e.Refs = append(e.Refs, allRef)
	}
	if devOK {
		e.Refs = append(e.Refs, devRef)
	}
	e.Known = allOK || devOK
	e.Exact = allOK && devOK
	// The value that decides is cited first: the interface's when it
	// is what makes the effective value.
	devDecides := false
	switch confCombine[name] {
	case "or":
		if (allOK && all != 0) || (devOK && dev != 0) {
			e.Value, e.Exact = 1, true
		}
		devDecides = devOK && dev != 0 && !(allOK && all != 0)
	case "iface":
		if devOK {
			e.Value, e.Exact = dev, true
		} else if fwd, ref, ok := h.SysctlInt("net.ipv4.ip_forward"); ok && name == "forwarding" {
			// ip_forward is written through to every interface.
			e.Value, e.Known, e.Exact = fwd, true, false
			e.Refs = append(e.Refs, ref)
		}
	default: // max
		e.Value = max(all, dev)
		devDecides = devOK && allOK && dev > all
	}
	if devDecides && len(e.Refs) >= 2 {
		e.Refs[0], e.Refs[1] = e.Refs[1], e.Refs[0]
	}
	return e
}
