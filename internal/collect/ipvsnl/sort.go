package ipvsnl

import "encoding/binary"

// cmpServices is libipvs's ipvs_cmp_services: C int arithmetic, where an
// unsigned difference converted to int wraps. The order it gives is not
// always transitive, so the sort below must be glibc's own to print the
// same order as ipvsadm.
func cmpServices(a, b *Service) int {
	if r := int32(a.FWMark - b.FWMark); r != 0 {
		return int(r)
	}
	if r := int(a.AF) - int(b.AF); r != 0 {
		return r
	}
	if r := int(a.Protocol) - int(b.Protocol); r != 0 {
		return r
	}
	if r := cmpAddr(a.AF, &a.Addr, &b.Addr); r != 0 {
		return r
	}
	return int(a.Port) - int(b.Port)
}

// cmpDests is libipvs's ipvs_cmp_dests.
func cmpDests(a, b *Dest) int {
	if r := cmpAddr(a.AF, &a.Addr, &b.Addr); r != 0 {
		return r
	}
	return int(a.Port) - int(b.Port)
}

// cmpAddr compares as libipvs: ntohl(a) - ntohl(b) as int, word by word
// for IPv6 (the family is the first operand's).
func cmpAddr(af uint16, a, b *[16]byte) int {
	n := 1
	if af == afInet6 {
		n = 4
	}
	for i := 0; i < n; i++ {
		if r := int32(binary.BigEndian.Uint32(a[4*i:]) - binary.BigEndian.Uint32(b[4*i:])); r != 0 {
			return int(r)
		}
	}
	return 0
}

// msort is glibc's qsort (msort_with_tmp): a top-down merge sort that
// splits n into n/2 and n-n/2 and takes from the left run while
// cmp(left, right) <= 0. Same comparator, same splits, same result, even
// where the comparator is not a total order.
func msort[T any](s []T, cmp func(a, b *T) int) {
	if len(s) <= 1 {
		return
	}
	tmp := make([]T, len(s))
	msortTmp(s, tmp, cmp)
}

func msortTmp[T any](s, tmp []T, cmp func(a, b *T) int) {
	n := len(s)
	if n <= 1 {
		return
	}
	n1 := n / 2
	b1, b2 := s[:n1], s[n1:]
	msortTmp(b1, tmp, cmp)
	msortTmp(b2, tmp, cmp)
	k := 0
	i, j := 0, 0
	for i < len(b1) && j < len(b2) {
		if cmp(&b1[i], &b2[j]) <= 0 {
			tmp[k] = b1[i]
			i++
		} else {
			tmp[k] = b2[j]
			j++
		}
		k++
	}
	// the rest of the left run goes after; what is left of the right run
	// is already in place
	k += copy(tmp[k:], b1[i:])
	copy(s, tmp[:k])
}
