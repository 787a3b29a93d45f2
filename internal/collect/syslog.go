package collect

import (
	"bytes"
	"context"
	"errors"
)

// keepalivedSyslog is keepalived's lines from the classic syslog files,
// for hosts without journald (busybox syslogd, CentOS 6): the last 5000.
func keepalivedSyslog(ctx context.Context) ([]byte, error) {
	var lines [][]byte
	found := false
	for _, p := range []string{"/var/log/messages", "/var/log/syslog"} {
		data, err := readLimited(p, 512<<20)
		if err != nil && err != errTruncated {
			continue
		}
		found = true
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			if bytes.Contains(l, []byte("Keepalived")) {
				lines = append(lines, l)
			}
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
