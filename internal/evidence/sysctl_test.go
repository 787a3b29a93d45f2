package evidence

import "testing"

func hostWith(kv map[string]string) *Host {
	h := NewHost("rs1")
	for k, v := range kv {
		h.Sysctls[k] = Sysctl{Key: k, Value: v, Ref: Ref{Host: "rs1", Source: "rs1/sysctl.txt", Line: 1, Text: k + " = " + v}}
	}
	return h
}

func TestEffectiveConf(t *testing.T) {
	tests := []struct {
		name       string
		kv         map[string]string
		conf, dev  string
		want       int
		known, exa bool
	}{
		{"rp_filter max: all wins", map[string]string{"net.ipv4.conf.all.rp_filter": "1", "net.ipv4.conf.tunl0.rp_filter": "0"}, "rp_filter", "tunl0", 1, true, true},
		{"rp_filter max: iface wins", map[string]string{"net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.eth0.rp_filter": "2"}, "rp_filter", "eth0", 2, true, true},
		{"default does not count", map[string]string{"net.ipv4.conf.default.arp_ignore": "0", "net.ipv4.conf.all.arp_ignore": "1"}, "arp_ignore", "eth0", 1, true, false},
		{"absent is not zero", map[string]string{}, "arp_announce", "eth0", 0, false, false},
		{"accept_local is or", map[string]string{"net.ipv4.conf.all.accept_local": "0", "net.ipv4.conf.eth0.accept_local": "1"}, "accept_local", "eth0", 1, true, true},
		{"forwarding is per interface", map[string]string{"net.ipv4.conf.all.forwarding": "1", "net.ipv4.conf.eth1.forwarding": "0"}, "forwarding", "eth1", 0, true, true},
		{"forwarding from ip_forward", map[string]string{"net.ipv4.ip_forward": "1"}, "forwarding", "eth1", 1, true, false},
		{"vlan interface key uses slash", map[string]string{"net.ipv4.conf.eth0/100.rp_filter": "1"}, "rp_filter", "eth0.100", 1, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := hostWith(tt.kv).EffectiveConf(tt.conf, tt.dev)
			if e.Value != tt.want || e.Known != tt.known || e.Exact != tt.exa {
				t.Errorf("got %+v, want value %d known %v exact %v", e, tt.want, tt.known, tt.exa)
			}
			if e.Known && len(e.Refs) == 0 {
				t.Error("known value without evidence")
			}
		})
	}
}

func TestRefClipsHugeLines(t *testing.T) {
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	long[maxRefText-1] = 0xe4 // a multi-byte rune across the cut
	r := Doc{Source: "a", Start: 10}.Ref(2, string(long))
	if len(r.Text) > maxRefText+4 || r.Line != 12 {
		t.Errorf("ref not clipped or wrong line: %d %d", len(r.Text), r.Line)
	}
}
