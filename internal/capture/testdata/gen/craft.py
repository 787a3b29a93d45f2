# Crafts packets that no ordinary tool here sends: tunnels (this kernel has
# no ipip/gre/vxlan modules), VRRPv2, ICMP errors, an 802.1Q-tagged frame,
# and packets written into a tun device (raw IP capture).
import fcntl, os, socket, struct, sys

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

def tcp(src, dst, sport, dport, seq, flags=0x02, data=b''):
    opts = struct.pack('!BBH', 2, 4, 1460)
    h = struct.pack('!HHIIBBHHH', sport, dport, seq, 0, (5+1) << 4, flags, 64240, 0, 0) + opts + data
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(h))
    c = csum(pseudo + h)
    return h[:16] + struct.pack('!H', c) + h[18:]

def udp(src, dst, sport, dport, data):
    h = struct.pack('!HHHH', sport, dport, 8+len(data), 0) + data
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, len(h))
    c = csum(pseudo + h) or 0xffff
    return h[:6] + struct.pack('!H', c) + h[8:]

def icmp_err(code, quoted, extra=0):
    m = struct.pack('!BBHI', 3, code, 0, extra) + quoted[:28]
    return m[:2] + struct.pack('!H', csum(m)) + m[4:]

def syn_to_vip(seq, sport):
    return ip4('192.0.2.10', '192.0.2.100', 6, tcp('192.0.2.10', '192.0.2.100', sport, 80, seq), ident=0x4d70 + sport % 16)

raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
what = sys.argv[1]
if what == 'ipip':
    raw.sendto(ip4('192.0.2.11', '192.0.2.12', 4, syn_to_vip(1000, 5000), ident=0x0101), ('192.0.2.12', 0))
elif what == 'gre':
    gre = struct.pack('!HH', 0, 0x0800) + syn_to_vip(3000, 5002)
    raw.sendto(ip4('192.0.2.11', '192.0.2.12', 47, gre, ident=0x0303), ('192.0.2.12', 0))
elif what == 'vxlan':
    inner = bytes.fromhex('020000000112') + bytes.fromhex('020000000111') + struct.pack('!H', 0x0800) + syn_to_vip(4000, 5003)
    vx = struct.pack('!BBHI', 0x08, 0, 0, 100 << 8) + inner
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(('192.0.2.11', 40000))
    u.sendto(vx, ('192.0.2.12', 4789))
elif what == 'vrrp':
    # VRRPv2 advert: vrid 51, prio 100, 1 address, auth simple "1111", interval 1
    body = struct.pack('!BBBBBBH', 0x21, 51, 100, 1, 1, 1, 0) + socket.inet_aton('192.0.2.100') + b'1111\0\0\0\0'
    body = body[:6] + struct.pack('!H', csum(body)) + body[8:]
    pkt = ip4('192.0.2.11', '224.0.0.18', 112, body, ident=0, ttl=255, df=False)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('192.0.2.11'))
    raw.sendto(pkt, ('224.0.0.18', 0))
elif what == 'fragneeded':
    orig = ip4('192.0.2.10', '192.0.2.100', 6, tcp('192.0.2.10', '192.0.2.100', 5001, 80, 2000, 0x18))
    raw.sendto(ip4('192.0.2.11', '192.0.2.10', 1, icmp_err(4, orig, 1480), ident=0x2222, df=False), ('192.0.2.10', 0))
elif what == 'hostunreach':
    orig = syn_to_vip(5000, 5004)
    raw.sendto(ip4('192.0.2.11', '192.0.2.10', 1, icmp_err(1, orig), ident=0x2223, df=False), ('192.0.2.10', 0))
elif what == 'adminprohib':
    orig = syn_to_vip(6000, 5005)
    raw.sendto(ip4('192.0.2.11', '192.0.2.10', 1, icmp_err(13, orig), ident=0x2224, df=False), ('192.0.2.10', 0))
elif what == 'vlan':
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(('eth0', 0))
    payload = ip4('192.0.2.11', '192.0.2.10', 17, udp('192.0.2.11', '192.0.2.10', 4000, 4001, b'hello'), ident=0x4444)
    frame = bytes.fromhex('020000000010') + bytes.fromhex('020000000011') + struct.pack('!HH', 0x8100, 100) + struct.pack('!H', 0x0800) + payload
    s.send(frame)
elif what == 'tun':
    # Packets a tunnel device hands up after decapsulation: the client's
    # SYN to the VIP, a UDP datagram, an echo request.
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'tun0', 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN|IFF_NO_PI
    os.write(fd, ip4('203.0.113.57', '198.51.100.100', 6, tcp('203.0.113.57', '198.51.100.100', 51514, 80, 2203741190), ident=0x5151))
    os.write(fd, ip4('203.0.113.57', '198.51.100.100', 17, udp('203.0.113.57', '198.51.100.100', 5353, 53, b'\0' * 12), ident=0x5152))
    echo = struct.pack('!BBHHH', 8, 0, 0, 0x77, 1) + b'x' * 56
    echo = echo[:2] + struct.pack('!H', csum(echo)) + echo[4:]
    os.write(fd, ip4('203.0.113.57', '203.0.113.1', 1, echo, ident=0x5153))
    os.close(fd)
