package sockets

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/parse/parsetest"
)

func sockKey(s evidence.Socket) string {
	k := fmt.Sprintf("%s %s %s recv=%d send=%d", s.Local, s.Peer, s.State, s.RecvQ, s.SendQ)
	if s.Process != "" {
		k += " " + s.Process
	}
	return k
}

// The fixtures are real (iproute2 6.1.0 ss, net-tools 2.10 netstat): a
// connection whose peer stopped acknowledging after 52 bytes were sent
// (testdata/README.md).
func TestParseSockets(t *testing.T) {
	const stuck = "192.0.2.72:34196 192.0.2.37:5432"
	tests := []struct {
		file, cmd string
		ss        bool
		want      string
	}{
		{"ss-tn.txt", "ss -tn", true, stuck + " ESTAB recv=0 send=52"},
		{"ss-tnp.txt", "ss -tnp", true, stuck + " ESTAB recv=0 send=52 python3"},
		{"netstat-tn.txt", "netstat -tn", false, stuck + " ESTABLISHED recv=0 send=52"},
		{"netstat-tnp.txt", "netstat -tnp", false, stuck + " ESTABLISHED recv=0 send=52 python3"},
		// listeners are not connections
		{"ss-lntup.txt", "ss -lntup", true, ""},
		{"netstat-lntup.txt", "netstat -lntup", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			doc := parsetest.Fixture(t, "h", tc.file, tc.cmd)
			var got []string
			for _, s := range ParseSockets(doc, tc.ss) {
				parsetest.CheckRef(t, doc, s.Ref)
				if !s.Established() {
					t.Errorf("%s: not established", sockKey(s))
				}
				got = append(got, sockKey(s))
			}
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A netstat row pasted alone (moby/moby#37466), the PID column a dash.
func TestParseSocketsLoneRow(t *testing.T) {
	row := "tcp        0     52 10.0.0.72:59338         10.0.0.37:5432          ESTABLISHED -"
	if !IsNetstatRow(row) {
		t.Fatal("row not recognised")
	}
	got := ParseSockets(evidence.Doc{Source: "paste.txt", Text: row + "\n"}, false)
	if len(got) != 1 || sockKey(got[0]) != "10.0.0.72:59338 10.0.0.37:5432 ESTABLISHED recv=0 send=52" {
		t.Fatalf("got %v", got)
	}
	for _, notRow := range []string{
		"tcp   LISTEN 0      9                  *:80              *:*", // ss
		"TCP  192.0.2.100:80 rr", // ipvsadm
		"tcp      6 431999 ESTABLISHED src=192.0.2.10 dst=192.0.2.100 sport=1 dport=80", // conntrack
		"tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN",    // a listener row is one, and kept by ParseNetstat
	} {
		if len(ParseSockets(evidence.Doc{Text: notRow}, false)) != 0 {
			t.Errorf("%q read as a connection", notRow)
		}
	}
}

func TestAddSocketsBounded(t *testing.T) {
	h := evidence.NewHost("h")
	var many []evidence.Socket
	for i := 0; i < evidence.MaxSockets+10; i++ {
		many = append(many, evidence.Socket{State: "ESTAB"})
	}
	many = append(many, evidence.Socket{State: "ESTAB", SendQ: 52})
	h.AddSockets(many)
	if len(h.Sockets) != evidence.MaxSockets || h.Sockets[0].SendQ != 52 {
		t.Fatalf("%d sockets, first %+v: want the bound, the queued one kept first", len(h.Sockets), h.Sockets[0])
	}
}

func FuzzParseSockets(f *testing.F) {
	f.Add("tcp        0     52 10.0.0.72:59338         10.0.0.37:5432          ESTABLISHED -\n", false)
	f.Add("State Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\nESTAB 0      52        192.0.2.72:34196   192.0.2.37:5432\n", true)
	f.Fuzz(func(t *testing.T, text string, ss bool) {
		for _, s := range ParseSockets(evidence.Doc{Source: "f", Text: text}, ss) {
			if !s.Local.IsValid() || !s.Peer.IsValid() || s.SendQ < 0 || s.RecvQ < 0 {
				t.Fatalf("bad socket %+v", s)
			}
		}
	})
}
