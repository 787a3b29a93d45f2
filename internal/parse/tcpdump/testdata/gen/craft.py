# Crafts packets that no ordinary tool here sends: IPIP (no ipip module on
# this kernel), VRRPv2, ICMP frag-needed, and an 802.1Q-tagged frame.
import socket, struct, sys

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip4(src, dst, proto, payload, ident=0x1234, ttl=64, df=True):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20+len(payload), ident, 0x4000 if df else 0, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    return hdr + payload

def tcp(src, dst, sport, dport, seq, flags=0x02):
    opts = struct.pack('!BBH', 2, 4, 1460)
    h = struct.pack('!HHIIBBHHH', sport, dport, seq, 0, (5+1) << 4, flags, 64240, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(h))
    c = csum(pseudo + h)
    return h[:16] + struct.pack('!H', c) + h[18:]

raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
what = sys.argv[1]
if what == 'ipip':
    inner = ip4('192.0.2.10', '192.0.2.100', 6, tcp('192.0.2.10', '192.0.2.100', 5000, 80, 1000), ident=0x4d70)
    pkt = ip4('192.0.2.11', '192.0.2.12', 4, inner, ident=0x0101)
    raw.sendto(pkt, ('192.0.2.12', 0))
elif what == 'vrrp':
    # VRRPv2 advert: vrid 51, prio 100, 1 address, auth simple "1111", interval 1
    body = struct.pack('!BBBBBBH', 0x21, 51, 100, 1, 1, 1, 0) + socket.inet_aton('192.0.2.100') + b'1111\0\0\0\0'
    body = body[:6] + struct.pack('!H', csum(body)) + body[8:]
    pkt = ip4('192.0.2.11', '224.0.0.18', 112, body, ident=0, ttl=255, df=False)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('192.0.2.11'))
    raw.sendto(pkt, ('224.0.0.18', 0))
elif what == 'fragneeded':
    orig = ip4('192.0.2.10', '192.0.2.100', 6, tcp('192.0.2.10', '192.0.2.100', 5001, 80, 2000, 0x18))
    icmp = struct.pack('!BBHHH', 3, 4, 0, 0, 1480) + orig[:28]
    icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
    raw.sendto(ip4('192.0.2.11', '192.0.2.10', 1, icmp, ident=0x2222, df=False), ('192.0.2.10', 0))
elif what == 'vlan':
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(('eth0', 0))
    payload = ip4('192.0.2.11', '192.0.2.10', 17, struct.pack('!HHHH', 4000, 4001, 13, 0) + b'hello')
    frame = bytes.fromhex('020000000010') + bytes.fromhex('020000000011') + struct.pack('!HH', 0x8100, 100) + struct.pack('!H', 0x0800) + payload
    s.send(frame)
