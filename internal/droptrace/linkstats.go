package droptrace

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// vishvananda/netlink's LinkStatistics64 stops before rx_nohandler and
// rx_otherhost_dropped, the counter behind OTHERHOST drops, so the link
// dump is decoded here.

const (
	ifinfomsgLen = 16
	maxLinks     = 4096
	// Indexes of u64 fields in struct rtnl_link_stats64.
	statRxDropped   = 6
	statTxDropped   = 7
	statRxNoHandler = 23
	statRxOtherhost = 24
)

// linkCounters dumps the devices of a namespace ("" for the current one).
func linkCounters(netns string) (map[string]LinkCounters, error) {
	cfg := &netlink.Config{}
	if netns != "" {
		fd, err := openNetns(netns)
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		cfg.NetNS = fd
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	defer c.Close()
	req := netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request | netlink.Dump},
		Data:   make([]byte, ifinfomsgLen), // AF_UNSPEC: every device
	}
	msgs, err := c.Execute(req)
	if err != nil {
		return nil, fmt.Errorf("RTM_GETLINK: %w", err)
	}
	out := map[string]LinkCounters{}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK {
			continue
		}
		name, lc, ok := parseLinkMessage(m.Data)
		if !ok {
			continue
		}
		if len(out) >= maxLinks {
			break
		}
		out[name] = lc
	}
	return out, nil
}

// parseLinkMessage reads a RTM_NEWLINK payload: struct ifinfomsg, then
// attributes in host byte order.
func parseLinkMessage(b []byte) (string, LinkCounters, bool) {
	if len(b) < ifinfomsgLen {
		return "", LinkCounters{}, false
	}
	ad, err := netlink.NewAttributeDecoder(b[ifinfomsgLen:])
	if err != nil {
		return "", LinkCounters{}, false
	}
	var name string
	var lc LinkCounters
	haveStats := false
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_IFNAME:
			name = boundName(ad.String())
		case unix.IFLA_STATS64:
			lc, haveStats = parseStats64(ad.Bytes())
		}
	}
	if ad.Err() != nil || name == "" || !haveStats {
		return "", LinkCounters{}, false
	}
	return name, lc, true
}

// parseStats64 reads struct rtnl_link_stats64; newer fields exist only in
// newer kernels' (longer) copies.
func parseStats64(b []byte) (LinkCounters, bool) {
	field := func(i int) (uint64, bool) {
		if len(b) < (i+1)*8 {
			return 0, false
		}
		return binary.NativeEndian.Uint64(b[i*8:]), true
	}
	var lc LinkCounters
	var ok bool
	if lc.RxDropped, ok = field(statRxDropped); !ok {
		return LinkCounters{}, false
	}
	lc.TxDropped, _ = field(statTxDropped)
	lc.RxNoHandler, _ = field(statRxNoHandler)
	lc.RxOtherhost, lc.HasOtherhost = field(statRxOtherhost)
	return lc, true
}
