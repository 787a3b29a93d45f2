package collect

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// sysctlTree reads every readable sysctl under root as `sysctl -a` prints
// it ("net.ipv4.conf.all.rp_filter = 1"). Reading /proc/sys has no side
// effect; write-only entries (route/flush) are skipped as sysctl -a does.
func sysctlTree(root string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		var out bytes.Buffer
		var firstErr error
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if firstErr == nil && !os.IsPermission(err) {
					firstErr = err
				}
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil || info.Mode().Perm()&0o444 == 0 {
				return nil
			}
			v, err := readLimited(p, 64<<10)
			if err != nil {
				return nil // EPERM for non-root (stable_secret...), EIO for unset ones
			}
			rel, _ := filepath.Rel("/proc/sys", p)
			key := strings.ReplaceAll(filepath.ToSlash(rel), "/", ".")
			// multi-valued entries (tcp_rmem) print tab-separated, as sysctl does
			val := strings.TrimRight(string(v), "\n")
			for _, line := range strings.Split(val, "\n") {
				out.WriteString(key + " = " + line + "\n")
			}
			return nil
		})
		if err == nil {
			err = firstErr
		}
		return out.Bytes(), err
	}
}

// readLimited reads at most max bytes of a file; more is errTruncated,
// with the first max bytes returned.
func readLimited(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAtMost(f, max)
}

func readAtMost(r io.Reader, max int64) ([]byte, error) {
	var b bytes.Buffer
	if _, err := b.ReadFrom(io.LimitReader(r, max+1)); err != nil {
		return b.Bytes(), err
	}
	if int64(b.Len()) > max {
		return b.Bytes()[:max], errTruncated
	}
	return b.Bytes(), nil
}
