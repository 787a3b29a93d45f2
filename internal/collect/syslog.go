package collect

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// keepalivedSyslog is keepalived's lines from the classic syslog files,
// for hosts without journald (busybox syslogd, CentOS 6): the last 5000.
//
// One syslog can serve keepalived daemons of several network namespaces
// (containers, or the lab's hosts): lines of a keepalived process running
// in another namespace are another host's and are left out. Lines of
// processes that are gone are kept: they are this host's history.
func keepalivedSyslog(ctx context.Context) ([]byte, error) {
	foreign := foreignKeepalivedPIDs()
	var lines [][]byte
	found := false
	for _, p := range []string{"/var/log/messages", "/var/log/syslog"} {
		data, err := readLimited(p, 512<<20)
		if err != nil && err != errTruncated {
			continue
		}
		found = true
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			if !bytes.Contains(l, []byte("Keepalived")) {
				continue
			}
			if m := kaPIDRE.FindSubmatch(l); m != nil && foreign[string(m[1])] {
				continue
			}
			lines = append(lines, l)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if !found {
		return nil, errors.New("cannot read /var/log/messages or /var/log/syslog")
	}
	if len(lines) > 5000 {
		lines = lines[len(lines)-5000:]
	}
	return bytes.Join(lines, nil), nil
}

var kaPIDRE = regexp.MustCompile(`Keepalived(?:_[a-z]+)?\[(\d+)\]`)

// foreignKeepalivedPIDs are the keepalived processes (and their
// children) of other network namespaces.
func foreignKeepalivedPIDs() map[string]bool {
	self, _ := os.Readlink("/proc/self/ns/net")
	procs, _ := filepath.Glob("/proc/[0-9]*")
	out := map[string]bool{}
	for _, p := range procs {
		comm, err := os.ReadFile(p + "/comm")
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "keepalived") {
			continue
		}
		if ns, err := os.Readlink(p + "/ns/net"); err == nil && ns != self {
			out[filepath.Base(p)] = true
		}
	}
	return out
}
