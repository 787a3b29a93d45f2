package ipvsnl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
)

// include/uapi/linux/ip_vs.h
const (
	familyName  = "IPVS"
	genlVersion = 1

	cmdGetService = 4
	cmdGetDest    = 8
	cmdGetConfig  = 13
	cmdGetInfo    = 15

	cmdAttrService       = 1
	cmdAttrDest          = 2
	cmdAttrTimeoutTCP    = 4
	cmdAttrTimeoutTCPFin = 5
	cmdAttrTimeoutUDP    = 6

	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrStats     = 10
	svcAttrPEName    = 11
	svcAttrStats64   = 12

	destAttrAddr         = 1
	destAttrPort         = 2
	destAttrFwdMethod    = 3
	destAttrWeight       = 4
	destAttrUThresh      = 5
	destAttrLThresh      = 6
	destAttrActiveConns  = 7
	destAttrInactConns   = 8
	destAttrPersistConns = 9
	destAttrStats        = 10
	destAttrAddrFamily   = 11
	destAttrStats64      = 12
	destAttrTunType      = 13
	destAttrTunPort      = 14
	destAttrTunFlags     = 15

	statsConns    = 1
	statsInPkts   = 2
	statsOutPkts  = 3
	statsInBytes  = 4
	statsOutBytes = 5
	statsCPS      = 6
	statsInPPS    = 7
	statsOutPPS   = 8
	statsInBPS    = 9
	statsOutBPS   = 10

	infoVersion     = 1
	infoConnTabSize = 2

	// libipvs's buffer sizes: IP_VS_SCHEDNAME_MAXLEN-1, IP_VS_PENAME_MAXLEN
	schedNameMax = 15
	peNameMax    = 32
)

// The decoders read the attributes of one genetlink answer (after the
// genetlink header), keep the last of a repeated attribute and ignore
// unknown ones (as libnl's nla_parse), and fail where libipvs fails: on a
// missing required attribute or one of the wrong size. They never panic.

var errShort = errors.New("attribute too short")

// DecodeService decodes one answer of the IPVS_CMD_GET_SERVICE dump.
func DecodeService(b []byte) (Service, error) {
	var s Service
	var nest []byte
	if err := each(b, func(typ uint16, v []byte) error {
		if typ == cmdAttrService {
			nest = v
		}
		return nil
	}); err != nil {
		return s, err
	}
	if nest == nil {
		return s, errors.New("service answer without IPVS_CMD_ATTR_SERVICE")
	}
	var have [svcAttrStats64 + 1]bool
	var stats, stats64 []byte
	err := each(nest, func(typ uint16, v []byte) error {
		if int(typ) < len(have) {
			have[typ] = true
		}
		var err error
		switch typ {
		case svcAttrAF:
			s.AF, err = u16(v)
		case svcAttrProtocol:
			s.Protocol, err = u16(v)
		case svcAttrAddr:
			s.Addr = [16]byte{}
			copy(s.Addr[:], v)
		case svcAttrPort:
			s.Port, err = be16(v)
		case svcAttrFWMark:
			s.FWMark, err = u32(v)
		case svcAttrSchedName:
			s.Sched = cstring(v, schedNameMax)
		case svcAttrPEName:
			s.PE = cstring(v, peNameMax)
		case svcAttrFlags:
			// struct ip_vs_flags { __u32 flags, mask; }, copied as nla_memcpy does
			var f [8]byte
			copy(f[:], v)
			s.Flags = binary.NativeEndian.Uint32(f[:4]) & binary.NativeEndian.Uint32(f[4:])
		case svcAttrTimeout:
			s.Timeout, err = u32(v)
		case svcAttrNetmask:
			s.Netmask, err = u32(v)
		case svcAttrStats:
			stats = v
		case svcAttrStats64:
			stats64 = v
		}
		if err != nil {
			return fmt.Errorf("service attribute %d: %w", typ, err)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	if !have[svcAttrAF] || !(have[svcAttrFWMark] || have[svcAttrProtocol] && have[svcAttrAddr] && have[svcAttrPort]) ||
		!have[svcAttrSchedName] || !have[svcAttrNetmask] || !have[svcAttrTimeout] || !have[svcAttrFlags] {
		return s, errors.New("service answer lacks a required attribute")
	}
	if !have[svcAttrFWMark] {
		s.FWMark = 0
	}
	switch {
	case stats64 != nil:
		s.Stats, err = decodeStats(stats64, true)
	case stats != nil:
		s.Stats, err = decodeStats(stats, false)
	}
	if err != nil {
		return s, fmt.Errorf("service statistics: %w", err)
	}
	return s, nil
}

// DecodeDest decodes one answer of the IPVS_CMD_GET_DEST dump; svcAF is
// the address family of a real server whose answer does not say it.
func DecodeDest(b []byte, svcAF uint16) (Dest, error) {
	var d Dest
	var nest []byte
	if err := each(b, func(typ uint16, v []byte) error {
		if typ == cmdAttrDest {
			nest = v
		}
		return nil
	}); err != nil {
		return d, err
	}
	if nest == nil {
		return d, errors.New("real server answer without IPVS_CMD_ATTR_DEST")
	}
	var have [destAttrTunFlags + 1]bool
	var stats, stats64 []byte
	d.AF = svcAF
	err := each(nest, func(typ uint16, v []byte) error {
		if int(typ) < len(have) {
			have[typ] = true
		}
		var err error
		switch typ {
		case destAttrAddr:
			d.Addr = [16]byte{}
			copy(d.Addr[:], v)
		case destAttrPort:
			d.Port, err = be16(v)
		case destAttrFwdMethod:
			d.FwdMethod, err = u32(v)
		case destAttrWeight:
			d.Weight, err = u32(v)
		case destAttrUThresh:
			d.UThresh, err = u32(v)
		case destAttrLThresh:
			d.LThresh, err = u32(v)
		case destAttrActiveConns:
			d.ActiveConns, err = u32(v)
		case destAttrInactConns:
			d.InactConns, err = u32(v)
		case destAttrPersistConns:
			d.PersistConns, err = u32(v)
		case destAttrAddrFamily:
			d.AF, err = u16(v)
		case destAttrTunType:
			if len(v) < 1 {
				err = errShort
			} else {
				d.TunType = v[0]
			}
		case destAttrTunPort:
			d.TunPort, err = be16(v)
		case destAttrTunFlags:
			d.TunFlags, err = u16(v)
		case destAttrStats:
			stats = v
		case destAttrStats64:
			stats64 = v
		}
		if err != nil {
			return fmt.Errorf("real server attribute %d: %w", typ, err)
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	for _, a := range []uint16{destAttrAddr, destAttrPort, destAttrFwdMethod, destAttrWeight, destAttrUThresh,
		destAttrLThresh, destAttrActiveConns, destAttrInactConns, destAttrPersistConns} {
		if !have[a] {
			return d, fmt.Errorf("real server answer lacks attribute %d", a)
		}
	}
	switch {
	case stats64 != nil:
		d.Stats, err = decodeStats(stats64, true)
	case stats != nil:
		d.Stats, err = decodeStats(stats, false)
	}
	if err != nil {
		return d, fmt.Errorf("real server statistics: %w", err)
	}
	return d, nil
}

// decodeStats reads IPVS_*_ATTR_STATS (32-bit counters, 64-bit bytes) or
// _STATS64 (all 64-bit); libipvs wants all ten.
func decodeStats(b []byte, all64 bool) (Stats, error) {
	var st Stats
	var have [statsOutBPS + 1]bool
	err := each(b, func(typ uint16, v []byte) error {
		var p *uint64
		switch typ {
		case statsConns:
			p = &st.Conns
		case statsInPkts:
			p = &st.InPkts
		case statsOutPkts:
			p = &st.OutPkts
		case statsInBytes:
			p = &st.InBytes
		case statsOutBytes:
			p = &st.OutBytes
		case statsCPS:
			p = &st.CPS
		case statsInPPS:
			p = &st.InPPS
		case statsOutPPS:
			p = &st.OutPPS
		case statsInBPS:
			p = &st.InBPS
		case statsOutBPS:
			p = &st.OutBPS
		default:
			return nil // IPVS_STATS_ATTR_PAD
		}
		have[typ] = true
		if all64 || typ == statsInBytes || typ == statsOutBytes {
			if len(v) < 8 {
				return fmt.Errorf("statistics attribute %d: %w", typ, errShort)
			}
			*p = binary.NativeEndian.Uint64(v)
			return nil
		}
		x, err := u32(v)
		*p = uint64(x)
		if err != nil {
			return fmt.Errorf("statistics attribute %d: %w", typ, err)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	for _, h := range have[1:] {
		if !h {
			return st, errors.New("statistics lack a counter")
		}
	}
	return st, nil
}

// DecodeInfo decodes the answer to IPVS_CMD_GET_INFO.
func DecodeInfo(b []byte) (Info, error) {
	var in Info
	var ver, size bool
	err := each(b, func(typ uint16, v []byte) error {
		var err error
		switch typ {
		case infoVersion:
			in.Version, err = u32(v)
			ver = true
		case infoConnTabSize:
			in.ConnTabSize, err = u32(v)
			size = true
		}
		if err != nil {
			return fmt.Errorf("info attribute %d: %w", typ, err)
		}
		return nil
	})
	if err == nil && !(ver && size) {
		err = errors.New("info answer lacks the version or the table size")
	}
	return in, err
}

// DecodeConfig decodes the answer to IPVS_CMD_GET_CONFIG; a timeout the
// kernel does not send stays 0.
func DecodeConfig(b []byte) (Config, error) {
	var c Config
	err := each(b, func(typ uint16, v []byte) error {
		var err error
		switch typ {
		case cmdAttrTimeoutTCP:
			c.TCP, err = u32(v)
		case cmdAttrTimeoutTCPFin:
			c.TCPFin, err = u32(v)
		case cmdAttrTimeoutUDP:
			c.UDP, err = u32(v)
		}
		if err != nil {
			return fmt.Errorf("config attribute %d: %w", typ, err)
		}
		return nil
	})
	return c, err
}

// each calls fn for every attribute in b, in order.
func each(b []byte, fn func(typ uint16, v []byte) error) error {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return err
	}
	for ad.Next() {
		if err := fn(ad.Type(), ad.Bytes()); err != nil {
			return err
		}
	}
	return ad.Err()
}

// The getters read what libnl's nla_get_* read: the first bytes, so a
// longer attribute is accepted (as nla_get_u32 on a 64-bit counter).
func u16(v []byte) (uint16, error) {
	if len(v) < 2 {
		return 0, errShort
	}
	return binary.NativeEndian.Uint16(v), nil
}

func be16(v []byte) (uint16, error) {
	if len(v) < 2 {
		return 0, errShort
	}
	return binary.BigEndian.Uint16(v), nil
}

func u32(v []byte) (uint32, error) {
	if len(v) < 4 {
		return 0, errShort
	}
	return binary.NativeEndian.Uint32(v), nil
}

func cstring(v []byte, max int) string {
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	if len(v) > max {
		v = v[:max]
	}
	return string(v)
}
