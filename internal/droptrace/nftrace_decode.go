package droptrace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftTrace is one NFT_MSG_TRACE message (net/netfilter/nf_tables_trace.c).
type nftTrace struct {
	id         uint32
	typ        uint32
	family     uint8
	table      string
	chain      string
	handle     uint64
	hasRule    bool
	verdict    int32
	hasVerdict bool
	jump       string
	policy     uint32
	hasPolicy  bool
	iif, oif   uint32
	mark       uint32
	network    []byte // the packet's network header, first event per hook only
	transport  []byte
}

// maxNameLen bounds names copied out of a message (NFT_NAME_MAXLEN is 256).
const maxNameLen = 256

// parseNFTrace decodes an NFT_MSG_TRACE payload: struct nfgenmsg, then
// NFTA_TRACE_* attributes (big-endian integers).
func parseNFTrace(b []byte) (*nftTrace, error) {
	if len(b) < 4 {
		return nil, errors.New("nft trace: short nfgenmsg")
	}
	tr := &nftTrace{family: b[0]}
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		return nil, fmt.Errorf("nft trace: %w", err)
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_TRACE_TABLE:
			tr.table = boundName(ad.String())
		case unix.NFTA_TRACE_CHAIN:
			tr.chain = boundName(ad.String())
		case unix.NFTA_TRACE_RULE_HANDLE:
			tr.handle, tr.hasRule = ad.Uint64(), true
		case unix.NFTA_TRACE_TYPE:
			tr.typ = ad.Uint32()
		case unix.NFTA_TRACE_ID:
			tr.id = ad.Uint32()
		case unix.NFTA_TRACE_IIF:
			tr.iif = ad.Uint32()
		case unix.NFTA_TRACE_OIF:
			tr.oif = ad.Uint32()
		case unix.NFTA_TRACE_MARK:
			tr.mark = ad.Uint32()
		case unix.NFTA_TRACE_POLICY:
			tr.policy, tr.hasPolicy = ad.Uint32(), true
		case unix.NFTA_TRACE_NETWORK_HEADER:
			tr.network = ad.Bytes()
		case unix.NFTA_TRACE_TRANSPORT_HEADER:
			tr.transport = ad.Bytes()
		case unix.NFTA_TRACE_VERDICT:
			ad.Nested(func(nd *netlink.AttributeDecoder) error {
				nd.ByteOrder = binary.BigEndian
				for nd.Next() {
					switch nd.Type() {
					case unix.NFTA_VERDICT_CODE:
						tr.verdict, tr.hasVerdict = int32(nd.Uint32()), true
					case unix.NFTA_VERDICT_CHAIN:
						tr.jump = boundName(nd.String())
					}
				}
				return nil
			})
		}
	}
	if err := ad.Err(); err != nil {
		return nil, fmt.Errorf("nft trace: %w", err)
	}
	return tr, nil
}

func boundName(s string) string {
	if len(s) > maxNameLen {
		return s[:maxNameLen]
	}
	return s
}

// tuple reads the IPv4 tuple from the headers the kernel copied, if any.
func (tr *nftTrace) tuple() (Tuple, bool) {
	nh := tr.network
	if len(nh) < 20 || nh[0]>>4 != 4 {
		return Tuple{}, false
	}
	t := Tuple{
		Proto: protoName(nh[9]),
		Src:   netip.AddrFrom4([4]byte(nh[12:16])),
		Dst:   netip.AddrFrom4([4]byte(nh[16:20])),
	}
	th := tr.transport
	switch nh[9] {
	case protoTCP:
		if len(th) >= 4 {
			t.SPort, t.DPort = binary.BigEndian.Uint16(th[0:]), binary.BigEndian.Uint16(th[2:])
		}
		if len(th) >= 14 {
			t.TCPFlags = tcpFlags(th[13])
		}
	case protoUDP:
		if len(th) >= 4 {
			t.SPort, t.DPort = binary.BigEndian.Uint16(th[0:]), binary.BigEndian.Uint16(th[2:])
		}
	case protoICMP:
		if len(th) >= 2 {
			t.ICMPType, t.ICMPCode = th[0], th[1]
		}
	}
	return t, true
}

var nfVerdicts = map[int32]string{
	0: "drop", 1: "accept", 2: "stolen", 3: "queue", 4: "repeat", 5: "stop",
	-1: "continue", -2: "break", -3: "jump", -4: "goto", -5: "return",
}

// verdictName renders a verdict as nft does ("jump CHAIN").
func verdictName(v int32, chain string) string {
	n, ok := nfVerdicts[v]
	if !ok {
		if v > 0 && v&0xff == 3 {
			return fmt.Sprintf("queue num %d", uint32(v)>>16)
		}
		if v > 0 && v&0xff == 0 {
			return "drop" // NF_DROP_ERR(errno)
		}
		return fmt.Sprint(v)
	}
	if chain != "" && (v == -3 || v == -4) {
		return n + " " + chain
	}
	return n
}

var nftTraceTypes = map[uint32]string{
	unix.NFT_TRACETYPE_POLICY: "policy",
	unix.NFT_TRACETYPE_RETURN: "return",
	unix.NFT_TRACETYPE_RULE:   "rule",
}

var nftFamilies = map[uint8]string{
	unix.NFPROTO_INET: "inet", unix.NFPROTO_IPV4: "ip", unix.NFPROTO_ARP: "arp",
	unix.NFPROTO_NETDEV: "netdev", unix.NFPROTO_BRIDGE: "bridge", unix.NFPROTO_IPV6: "ip6",
}

func familyName(f uint8) string {
	if n, ok := nftFamilies[f]; ok {
		return n
	}
	return fmt.Sprintf("family%d", f)
}

// verdictString is the event's decision: a rule's verdict, or a chain's
// policy.
func (tr *nftTrace) verdictString() string {
	switch {
	case tr.hasVerdict:
		return verdictName(tr.verdict, tr.jump)
	case tr.hasPolicy:
		return verdictName(int32(tr.policy), "")
	}
	return ""
}
