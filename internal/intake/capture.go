package intake

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/capture"
	"github.com/lvsdoctor/lvsdoctor/internal/casedir"
	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/tcpdump"
)

// filterAbove is the capture size beyond which only frames about the
// case's service and client are kept, when case.yaml names them: a busy
// director's capture holds millions of frames about other traffic.
var filterAbove int64 = 64 << 20

// readCapture reads the capture at p into h, and makes sure no packet is
// counted twice: a tcpdump printout of the same capture in the folder
// (`tcpdump -r eth0.pcap`, or the live output of the capture that wrote
// it) gives up its frames for the capture's, which carry IP IDs and exact
// times.
func readCapture(c *evidence.Case, h *evidence.Host, hf hostFolder, p, rel string) {
	if head := hf.head(p, 8); len(head) > 0 && !capture.IsCapture(head) {
		// Named like a capture, holding something else: most often the
		// text tcpdump printed, saved as eth0.cap.
		if data, err := hf.read(p, MaxFileSize); err == nil {
			if bad, _ := looksBinary(data); !bad {
				readText(c, h.Name, rel, filepath.Base(p), data, hf.include, nil)
				return
			}
		}
	}
	opt := capture.Options{Host: h.Name, Source: rel, Iface: captureIface(rel)}
	if isCookedV2(hf.head(p, 24)) {
		opt.IfNames = ifNames(h, hf, p)
	}
	f, st, err := hf.dir.OpenFile(hf.rel(p))
	if err != nil {
		c.Problems = append(c.Problems, evidence.Problem{Host: h.Name, Source: rel, Message: err.Error()})
		return
	}
	defer f.Close()
	if st.Size() > filterAbove {
		opt.Addrs = serviceAddrs(c, hf.root)
	}
	frames, info, probs := capture.ReadOpened(f, opt)
	c.Problems = append(c.Problems, probs...)
	c.Read.Blocks++
	if info.Format == "" {
		return // not a capture at all: no evidence that one ran
	}
	c.Read.Understood++
	dropPrintouts(c, h, hf, p, frames)
	h.Frames = append(h.Frames, frames...)
	ref := evidence.Ref{Host: h.Name, Source: rel}
	if len(frames) > 0 {
		ref = frames[0].Ref
	}
	// Even a capture that saw nothing says something: it ran.
	h.MarkSeen(evidence.KindFrames, ref)
}

// captureIface is the interface a capture is named after: eth0.pcap,
// tcpdump-br0.pcapng, ds1-tunl0.cap, eth0.pcap.gz.
func captureIface(rel string) string { return tcpdump.IfaceFromName(rel) }

// isCookedV2 tells from a pcap's header whether it is a `tcpdump -i any`
// capture whose packets carry interface indexes (pcapng files may hold
// any link type per interface: assume they might).
func isCookedV2(hdr []byte) bool {
	if len(hdr) < 24 {
		return false
	}
	switch binary.LittleEndian.Uint32(hdr[:]) {
	case 0x0a0d0d0a:
		return true
	case 0xa1b2c3d4, 0xa1b23c4d:
		return binary.LittleEndian.Uint32(hdr[20:]) == 276
	case 0xd4c3b2a1, 0x4d3cb2a1:
		return binary.BigEndian.Uint32(hdr[20:]) == 276
	}
	return false
}

// ifNames maps interface indexes to names from the host's `ip link` or
// `ip addr` output, read ahead of its turn when the folder has not been
// read that far.
func ifNames(h *evidence.Host, hf hostFolder, p string) map[int]string {
	links := h.Links
	if len(links) == 0 {
		scratch := evidence.NewHost(h.Name)
		for _, f := range hf.files {
			if f == p || isCapture(filepath.Base(f)) || !linkFileRe.MatchString(filepath.Base(f)) {
				continue
			}
			data, err := hf.read(f, 8<<20)
			if err != nil {
				continue
			}
			blocks := SplitTranscript(string(data))
			for _, b := range blocks {
				k, _ := Detect(b.Command, filepath.Base(f), len(blocks) == 1, b.Text)
				if k != nil && (k.Name == "ip-link" || k.Name == "ip-addr") {
					k.Apply(evidence.Doc{Host: h.Name, Source: f, Start: b.Start, Command: b.Command, Text: b.Text}, scratch)
				}
			}
			if len(scratch.Links) > 0 {
				break
			}
		}
		links = scratch.Links
	}
	if len(links) == 0 {
		return nil
	}
	m := make(map[int]string, len(links))
	for _, l := range links {
		if l.Index > 0 && l.Name != "" {
			m[l.Index] = l.Name
		}
	}
	return m
}

var linkFileRe = regexp.MustCompile(`(?i)(^ip[-_ ].*(link|addr|-a\b|-a\.)|^ip-a|link|addr)`)

// serviceAddrs are the addresses case.yaml names, read ahead when the
// folders come before it.
func serviceAddrs(c *evidence.Case, root string) []netip.Addr {
	svc, client := c.Service.VIP, c.Client.Addr
	if !svc.IsValid() {
		top, err := casedir.Open(root)
		if err != nil {
			return nil
		}
		defer top.Close()
		for _, name := range []string{"case.yaml", "case.yml"} {
			if data, err := top.ReadFile(name, maxConfBytes, isText); err == nil {
				tmp := &evidence.Case{}
				readCaseYAML(tmp, data, nil, name)
				svc, client = tmp.Service.VIP, tmp.Client.Addr
				break
			}
		}
	}
	var out []netip.Addr
	for _, a := range []netip.Addr{svc, client} {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// printout is a tcpdump block of a text file that shows the same packets
// as a capture.
type printout struct {
	from, to int            // its lines
	zone     *time.Location // the zone its times are in, nil when unknown
	ref      evidence.Ref   // its first line
}

// dropPrintouts finds the tcpdump printouts of capture p among the
// folder's text files and keeps their frames out of h: the frames of a
// printout already read are removed, a file not read yet is read now
// without the printout's lines. frames' times are put in the zone the
// printout shows, so that they agree with the host's other printouts.
func dropPrintouts(c *evidence.Case, h *evidence.Host, hf hostFolder, p string, frames []evidence.Frame) {
	pi := slices.Index(hf.files, p)
	var zone *time.Location
	var zoneRef evidence.Ref
	for ti, t := range hf.files {
		base := filepath.Base(t)
		if t == p || isCapture(base) {
			continue
		}
		rel := relTo(hf.root, t)
		data, dups := printoutsIn(hf, h.Name, t, rel, base, p, frames)
		if len(dups) == 0 {
			continue
		}
		if zone == nil && dups[0].zone != nil {
			zone, zoneRef = dups[0].zone, dups[0].ref
		}
		if ti < pi || hf.consumed[t] {
			// Read already: take its frames back out, and what its
			// parser could not read of it, which the capture has.
			in := func(source string, line int) bool {
				if source != rel {
					return false
				}
				for _, d := range dups {
					if line >= d.from && line <= d.to {
						return true
					}
				}
				return false
			}
			h.Frames = slices.DeleteFunc(h.Frames, func(f evidence.Frame) bool { return in(f.Ref.Source, f.Ref.Line) })
			c.Problems = slices.DeleteFunc(c.Problems, func(p evidence.Problem) bool { return p.Host == h.Name && in(p.Source, p.Line) })
			continue
		}
		// Not read yet: read it now, the printout's lines left blank so
		// that every other block keeps its line numbers.
		hf.consumed[t] = true
		lines := bytes.SplitAfter(data, []byte("\n"))
		for _, d := range dups {
			for i := d.from; i <= d.to && i-1 < len(lines); i++ {
				l := lines[i-1]
				if bytes.HasSuffix(l, []byte("\n")) {
					lines[i-1] = []byte("\n")
				} else {
					lines[i-1] = nil
				}
			}
		}
		readText(c, h.Name, rel, base, bytes.Join(lines, nil), hf.include, nil)
	}
	if zone != nil {
		// The printout was printed in the host's local time: that is the
		// zone of its logs too.
		_, off := time.Unix(0, 0).In(zone).Zone()
		if h.Zone == nil {
			h.Zone = &evidence.Zone{Offset: off, Ref: zoneRef}
		}
		if off != 0 {
			capture.SetZone(frames, zone)
		}
	}
}

func relTo(root, p string) string {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}

// printoutsIn returns the text file t's data and its tcpdump blocks that
// print capture p: by the command (`tcpdump -r eth0.pcap`), or by showing
// the capture's packets.
func printoutsIn(hf hostFolder, host, t, rel, base, p string, frames []evidence.Frame) ([]byte, []printout) {
	head := hf.head(t, 64<<10)
	if bad, _ := looksBinary(head); bad || !bytes.Contains(head, []byte("tcpdump")) && !tcpdump.Sniff(string(head)) {
		return nil, nil
	}
	data, err := hf.read(t, MaxFileSize)
	if err != nil && len(data) == 0 {
		return nil, nil
	}
	text := strings.ToValidUTF8(string(data), "\uFFFD")
	blocks := SplitTranscript(text)
	var out []printout
	for _, b := range blocks {
		k, _ := Detect(b.Command, base, len(blocks) == 1, b.Text)
		if k == nil || k.Name != "tcpdump" {
			continue
		}
		nlines := strings.Count(strings.TrimSuffix(b.Text, "\n"), "\n") + 1
		d := printout{from: b.Start, to: b.Start + nlines - 1}
		named := readsFile(b.Command, filepath.Base(p))
		doc := evidence.Doc{Host: host, Source: rel, Start: b.Start, Command: b.Command, Text: b.Text}
		tf, _ := tcpdump.Parse(doc)
		same, zone := samePackets(frames, tf)
		if !named && !same {
			continue
		}
		d.zone = zone
		if len(tf) > 0 {
			d.ref = tf[0].Ref
		}
		out = append(out, d)
	}
	return data, out
}

// readsFile reports whether a tcpdump command line reads file base (-r).
func readsFile(cmd, base string) bool {
	fs := strings.Fields(cmd)
	for i, f := range fs {
		var arg string
		switch {
		case f == "-r" || f == "--read-file":
			if i+1 < len(fs) {
				arg = fs[i+1]
			}
		case strings.HasPrefix(f, "--read-file="):
			arg = strings.TrimPrefix(f, "--read-file=")
		case len(f) > 2 && f[0] == '-' && f[1] != '-' && strings.HasSuffix(f, "r") && i+1 < len(fs):
			arg = fs[i+1] // -nnr FILE
		case strings.HasPrefix(f, "-r") && len(f) > 2:
			arg = f[2:]
		}
		if arg != "" && filepath.Base(strings.Trim(arg, `"'`)) == base {
			return true
		}
	}
	return false
}

// pktID is what a packet looks like in both a capture and its printout.
type pktID struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto, flags string
	arp          string
	arpIP        netip.Addr
}

func idOf(f *evidence.Frame) pktID {
	return pktID{f.Src, f.Dst, f.SPort, f.DPort, f.Proto, f.Flags, f.ARPOp, f.ARPIP}
}

const (
	usPerDay     = 86400 * 1000000
	usPerQuarter = 900 * 1000000 // time zones differ from UTC by quarters of an hour
)

// samePackets reports whether a printout shows (nearly all) the packets
// of a capture, and in which time zone (nil when no time tells): a
// printout is printed in the local time of the host that printed it, a
// capture's times are UTC. A printout of other packets (another
// interface, another moment) is not the same.
func samePackets(capt, text []evidence.Frame) (bool, *time.Location) {
	if len(text) == 0 || len(text) > len(capt) {
		return false, nil
	}
	byID := make(map[pktID][]int64, len(capt))
	ifaces := map[string]bool{}
	for i := range capt {
		f := &capt[i]
		t, err := time.Parse(time.RFC3339Nano, f.Time)
		if err != nil {
			continue
		}
		t = t.UTC()
		us := (int64(t.Hour())*3600+int64(t.Minute())*60+int64(t.Second()))*1000000 + int64(t.Nanosecond()/1000)
		byID[idOf(f)] = append(byID[idOf(f)], us)
		ifaces[f.Iface] = true
	}
	shifts := map[int64]int{}
	untimed := 0
	for i := range text {
		f := &text[i]
		if f.Iface != "" && !ifaces[f.Iface] && !ifaces[""] {
			return false, nil
		}
		ts, ok := usOfDay(f.Time)
		cand := byID[idOf(f)]
		if !ok {
			if len(cand) > 0 {
				untimed++
			}
			continue
		}
		seen := map[int64]bool{}
		for _, c := range cand {
			d := ((ts-c)%usPerDay + usPerDay) % usPerDay
			if d%usPerQuarter == 0 && !seen[d] {
				seen[d] = true
				shifts[d]++
			}
		}
	}
	best, bestN := int64(0), 0
	for d, n := range shifts {
		if n > bestN || n == bestN && d < best {
			best, bestN = d, n
		}
	}
	matched := bestN + untimed
	if matched == 0 || matched*10 < len(text)*9 {
		return false, nil
	}
	if bestN == 0 {
		return true, nil // no time to compare: the zone is unknown
	}
	if best == 0 {
		return true, time.UTC
	}
	off := best / 1000000
	if off > 14*3600 {
		off -= 86400
	}
	return true, time.FixedZone("", int(off))
}

// usOfDay reads a tcpdump time ("16:41:17.226304", with -tttt's date
// before it, or -tt's seconds since the epoch) as microseconds since
// midnight.
func usOfDay(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if i := strings.LastIndexAny(s, " T"); i >= 0 {
		s = s[i+1:]
	}
	sec, frac, _ := strings.Cut(s, ".")
	us := int64(0)
	if frac != "" {
		frac = (frac + "000000")[:6]
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, false
		}
		us = n
	}
	if !strings.Contains(sec, ":") {
		n, err := strconv.ParseInt(sec, 10, 64)
		if err != nil {
			return 0, false
		}
		return (n%86400)*1000000 + us, true
	}
	parts := strings.Split(sec, ":")
	if len(parts) != 3 {
		return 0, false
	}
	var hms [3]int64
	for i, x := range parts {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, false
		}
		hms[i] = n
	}
	return (hms[0]*3600+hms[1]*60+hms[2])*1000000 + us, true
}
