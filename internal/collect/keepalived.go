package collect

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// DefaultKeepalivedConf is where packages put the configuration.
const DefaultKeepalivedConf = "/etc/keepalived/keepalived.conf"

// keepalivedFiles collects keepalived's configuration: the files running
// keepalived processes of this network namespace were started with (-f),
// the default path, and extra, each with the files it includes. They are
// stored under their absolute path inside the host folder
// (etc/keepalived/keepalived.conf), which is how diagnose resolves an
// include of /etc/keepalived/conf.d/*.conf.
func keepalivedFiles(ctx context.Context, extra []string) []File {
	confs := append(runningKeepalivedConfs(), extra...)
	if _, err := os.Stat(DefaultKeepalivedConf); err == nil {
		confs = append(confs, DefaultKeepalivedConf)
	}
	seen := map[string]bool{}
	var out []File
	var add func(p string, depth int)
	add = func(p string, depth int) {
		// Stored under its absolute path, which is how diagnose finds an
		// include; a relative --keepalived-conf is the user's cwd's.
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		p = filepath.Clean(p)
		if seen[p] || depth > 8 || ctx.Err() != nil {
			return
		}
		seen[p] = true
		f := File{Name: strings.TrimPrefix(p, "/"), How: p}
		data, err := readLimited(p, 16<<20)
		switch {
		case err == errTruncated:
			f.Truncated = true
		case err != nil:
			f.Err = err.Error()
		}
		f.Data = data
		out = append(out, f)
		for _, pat := range includes(data) {
			if !filepath.IsAbs(pat) {
				pat = filepath.Join(filepath.Dir(p), pat)
			}
			m, _ := filepath.Glob(pat)
			for _, g := range m {
				add(g, depth+1)
			}
		}
	}
	for _, c := range confs {
		add(c, 0)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var includeRE = regexp.MustCompile(`^\s*include\s+(\S+)`)

func includes(conf []byte) []string {
	var pats []string
	sc := bufio.NewScanner(bytes.NewReader(conf))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if m := includeRE.FindStringSubmatch(sc.Text()); m != nil {
			pats = append(pats, m[1])
		}
	}
	return pats
}

// runningKeepalivedConfs reads -f/--use-file from the command lines of the
// keepalived processes in this network namespace (a host running several
// namespaces, as the lab does, has one keepalived per namespace).
func runningKeepalivedConfs() []string {
	self, _ := os.Readlink("/proc/self/ns/net")
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var confs []string
	for _, p := range procs {
		comm, err := os.ReadFile(p + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "keepalived" {
			continue
		}
		if ns, _ := os.Readlink(p + "/ns/net"); ns != self {
			continue
		}
		cmdline, err := os.ReadFile(p + "/cmdline")
		if err != nil {
			continue
		}
		cwd, _ := os.Readlink(p + "/cwd")
		if c := confArg(strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")); c != "" {
			if !filepath.IsAbs(c) && cwd != "" {
				c = filepath.Join(cwd, c)
			}
			confs = append(confs, c)
		}
	}
	return confs
}

// confArg finds the configuration file in keepalived's arguments.
func confArg(args []string) string {
	for i, a := range args {
		switch {
		case (a == "-f" || a == "--use-file") && i+1 < len(args):
			return args[i+1]
		case strings.HasPrefix(a, "--use-file="):
			return strings.TrimPrefix(a, "--use-file=")
		case strings.HasPrefix(a, "-f") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			return a[2:]
		}
	}
	return ""
}
