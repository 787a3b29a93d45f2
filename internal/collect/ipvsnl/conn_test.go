package ipvsnl

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// The socket side (family lookup, dump iteration, sequence numbers, the
// bounds, refusals) against a scripted peer answering as the kernel does
// (ip_vs_genl_dump_services/_dests: one message per entry, multi-part,
// an empty dump for a service that is gone). The kernel itself is met in
// the lab: TestLabCapture and the 'collect' scenario.

const fakeFamily = 0x22

type peer struct {
	tb      *Table
	refuse  uint8 // answer this command with EPERM
	reqs    []uint8
	noDests bool // the services are gone by the time their real servers are asked
}

func (p *peer) serve(reqs []netlink.Message) ([]netlink.Message, error) {
	req := reqs[0]
	var gm genetlink.Message
	if err := gm.UnmarshalBinary(req.Data); err != nil {
		return nil, err
	}
	answer := func(cmd uint8, bodies ...[]byte) []netlink.Message {
		var out []netlink.Message
		for _, b := range bodies {
			data, _ := genetlink.Message{Header: genetlink.Header{Command: cmd, Version: genlVersion}, Data: b}.MarshalBinary()
			out = append(out, netlink.Message{Header: netlink.Header{Type: req.Header.Type, Sequence: req.Header.Sequence, PID: nltest.PID}, Data: data})
		}
		return out
	}
	if req.Header.Type == unix.GENL_ID_CTRL {
		ae := netlink.NewAttributeEncoder()
		ae.Uint16(unix.CTRL_ATTR_FAMILY_ID, fakeFamily)
		ae.String(unix.CTRL_ATTR_FAMILY_NAME, familyName)
		ae.Uint32(unix.CTRL_ATTR_VERSION, genlVersion)
		b, _ := ae.Encode()
		return answer(unix.CTRL_CMD_NEWFAMILY, b), nil
	}
	cmd := gm.Header.Command
	p.reqs = append(p.reqs, cmd)
	if cmd == p.refuse {
		return []netlink.Message{kernelError(req, unix.EPERM)}, nil
	}
	dump := func(bodies [][]byte) ([]netlink.Message, error) {
		msgs := answer(cmd, bodies...)
		done := netlink.Message{Header: netlink.Header{Type: netlink.Done, Sequence: req.Header.Sequence, PID: nltest.PID},
			Data: make([]byte, 4)} // NLMSG_DONE carries an errno, 0
		msgs = append(msgs, done)
		for i := range msgs {
			msgs[i].Header.Flags |= netlink.Multi
		}
		return msgs, nil
	}
	switch cmd {
	case cmdGetInfo:
		return answer(cmd, encInfo(p.tb.Info)), nil
	case cmdGetConfig:
		return answer(cmd, encConfig(Config{900, 120, 300})), nil
	case cmdGetService:
		var bs [][]byte
		for _, s := range p.tb.Services {
			bs = append(bs, encService(s, false))
		}
		return dump(bs)
	case cmdGetDest:
		var bs [][]byte
		for _, s := range p.tb.Services {
			k, _ := destRequest(s)
			if string(k) == string(gm.Data) && !p.noDests {
				for _, d := range s.Dests {
					bs = append(bs, encDest(d, false))
				}
			}
		}
		return dump(bs)
	}
	return []netlink.Message{kernelError(req, unix.EOPNOTSUPP)}, nil
}

// kernelError is an NLMSG_ERROR as the kernel sends it: -errno, then the
// request's header and body.
func kernelError(req netlink.Message, errno unix.Errno) netlink.Message {
	hdr, _ := req.MarshalBinary()
	data := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	return netlink.Message{Header: netlink.Header{Type: netlink.Error, Sequence: req.Header.Sequence, PID: nltest.PID}, Data: append(data, hdr...)}
}

func withPeer(t *testing.T, p *peer) {
	t.Helper()
	oldProc, oldDial, oldS, oldD := procIPVS, dialGenl, maxServices, maxDests
	t.Cleanup(func() { procIPVS, dialGenl, maxServices, maxDests = oldProc, oldDial, oldS, oldD })
	procIPVS = filepath.Join(t.TempDir(), "ip_vs")
	if err := os.WriteFile(procIPVS, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dialGenl = func(time.Time) (*netlink.Conn, error) { return nltest.Dial(p.serve), nil }
}

func TestReadOverSocket(t *testing.T) {
	p := &peer{tb: formatsTable()}
	withPeer(t, p)
	for _, c := range []struct {
		f    Format
		file string
	}{
		{FormatList, "testdata/lab/formats/ipvsadm-Ln.txt"},
		{FormatStats, "testdata/lab/formats/ipvsadm-Ln-stats.txt"},
		{FormatRate, "testdata/lab/formats/ipvsadm-Ln-rate.txt"},
		{FormatTimeout, "testdata/lab/formats/ipvsadm-Ln-timeout.txt"},
	} {
		out, err := Show(t.Context(), c.f)
		if err != nil {
			t.Fatal(err)
		}
		if want := golden(t, c.file); string(out) != want {
			t.Errorf("%s\n--- got\n%s--- want\n%s", c.f.Command(), out, want)
		}
	}
	// GET_INFO, the services, then one GET_DEST per service
	if got := len(p.reqs); got != 3*(2+5)+1 {
		t.Errorf("%d requests: %v", got, p.reqs)
	}
}

func TestReadBounds(t *testing.T) {
	p := &peer{tb: formatsTable()}
	withPeer(t, p)
	maxServices = 2
	tb, err := Read(t.Context())
	if !errors.Is(err, ErrTruncated) || tb == nil || len(tb.Services) != 2 {
		t.Fatalf("services bound: %v, %+v", err, tb)
	}
	out, err := Show(t.Context(), FormatList)
	if !errors.Is(err, ErrTruncated) || !strings.Contains(string(out), "TCP  192.0.2.102:80 sh") {
		t.Errorf("Show keeps what was read: %v\n%s", err, out)
	}

	maxServices, maxDests = MaxServices, 3 // the first service has 2, the next 2 more
	tb, err = Read(t.Context())
	if !errors.Is(err, ErrTruncated) || len(tb.Services) != 2 || len(tb.Services[0].Dests)+len(tb.Services[1].Dests) != 3 {
		t.Fatalf("real servers bound: %v, %+v", err, tb)
	}
}

func TestReadRefusedAndVanished(t *testing.T) {
	p := &peer{tb: formatsTable(), refuse: cmdGetService}
	withPeer(t, p)
	_, err := Read(t.Context())
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "CAP_NET_ADMIN") || !strings.Contains(err.Error(), "IPVS_CMD_GET_SERVICE") {
		t.Errorf("refusal: %v", err)
	}
	p.refuse, p.noDests = 0, true
	tb, err := Read(t.Context())
	if err != nil || len(tb.Services) != 5 || len(tb.Services[0].Dests) != 0 {
		t.Errorf("services whose real servers are gone: %v %+v", err, tb)
	}
}
