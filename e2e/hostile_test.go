package e2e

// Hostile cases: a case folder from a ticket or from a compromised node is
// untrusted (SECURITY.md). Each attack below was reproduced against the
// shipped code before it was closed; each test plants a canary file
// outside the case and asserts that no output format ever shows it, and
// that the run ends in bounded time and memory.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/cli"
	"github.com/lvsdoctor/lvsdoctor/internal/memtest"
)

// canary writes a secret-looking file outside any case and returns its
// directory, its path and the string that must never be printed. Its one
// line is a keepalived keyword the parser would quote as unknown, so that
// a read of it would show.
func canary(t *testing.T) (dir, file, secret string) {
	t.Helper()
	dir = t.TempDir()
	secret = fmt.Sprintf("canary_%d_outside_the_case", time.Now().UnixNano())
	file = filepath.Join(dir, "shadow")
	must(t, os.WriteFile(file, []byte(secret+" {\n  "+secret+"_line2\n}\n"), 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "ssh"), 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "ssh", "ssh_host_ed25519_key"), []byte(secret+"\n"), 0o600))
	return dir, file, secret
}

// director writes a minimal director folder whose keepalived.conf ends
// with the given lines, and returns the case directory.
func director(t *testing.T, tail string) string {
	t.Helper()
	c := t.TempDir()
	must(t, os.WriteFile(filepath.Join(c, "case.yaml"), []byte("vip: 192.0.2.10\nport: 80\n"), 0o644))
	ds := filepath.Join(c, "ds1")
	must(t, os.MkdirAll(ds, 0o755))
	must(t, os.WriteFile(filepath.Join(ds, "role"), []byte("director\n"), 0o644))
	conf := `global_defs {
   router_id ds1
}
virtual_server 192.0.2.10 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.0.2.21 80 {
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
` + tail + "\n"
	must(t, os.WriteFile(filepath.Join(ds, "keepalived.conf"), []byte(conf), 0o644))
	must(t, os.WriteFile(filepath.Join(ds, "ipvsadm-Ln.txt"), []byte(`IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.0.2.10:80 rr
  -> 192.0.2.21:80                Route   1      0          0
`), 0o644))
	return c
}

// allFormats runs diagnose in every output format with a deadline and
// returns what each printed (stdout and stderr together) and the exit
// code of the text run.
func allFormats(t *testing.T, limit time.Duration, args ...string) (map[string]string, int) {
	t.Helper()
	out := map[string]string{}
	code := -1
	for _, f := range []string{"text", "json", "yaml", "markdown"} {
		type res struct {
			o, e string
			c    int
		}
		done := make(chan res, 1)
		go func() {
			o, e, c := run(append([]string{"diagnose", "-o", f}, args...)...)
			done <- res{o, e, c}
		}()
		select {
		case r := <-done:
			out[f] = r.o + r.e
			if f == "text" {
				code = r.c
			}
		case <-time.After(limit):
			t.Fatalf("diagnose -o %s %v did not finish within %s", f, args, limit)
		}
	}
	return out, code
}

func assertNoCanary(t *testing.T, outs map[string]string, secret string) {
	t.Helper()
	for f, o := range outs {
		if strings.Contains(o, secret) {
			t.Errorf("-o %s printed a file outside the case:\n%s", f, o)
		}
	}
}

func problemWith(outs map[string]string, words ...string) bool {
	for _, w := range words {
		if !strings.Contains(outs["json"], w) {
			return false
		}
	}
	return true
}

// TestHostileIncludesStayInTheCase: no include, symlink or glob of a case
// reaches a file outside it, in any output format, and each refusal is
// said.
func TestHostileIncludesStayInTheCase(t *testing.T) {
	cdir, cfile, secret := canary(t)
	for _, tc := range []struct {
		name  string
		tail  string
		setup func(t *testing.T, ds string)
		said  []string // words the JSON's problems must hold
	}{
		{name: "relative climb", tail: "include ../../../../../../../../.." + cfile, said: []string{"no such file in ds1"}},
		{name: "relative climb, short", tail: "include ../" + filepath.Base(cfile)},
		{name: "symlinked folder then include", tail: "include etc/ssh/ssh_host_ed25519_key",
			setup: func(t *testing.T, ds string) { must(t, os.Symlink(cdir, filepath.Join(ds, "etc"))) },
			said:  []string{"symbolic link out of the host folder"}},
		{name: "glob over a symlinked folder", tail: "include x/*",
			setup: func(t *testing.T, ds string) { must(t, os.Symlink(cdir, filepath.Join(ds, "x"))) },
			said:  []string{"not followed"}},
		{name: "symlinked file included", tail: "include other.conf",
			setup: func(t *testing.T, ds string) { must(t, os.Symlink(cfile, filepath.Join(ds, "other.conf"))) },
			said:  []string{"not followed"}},
		{name: "absolute include", tail: "include " + cfile},
		{name: "symlinked evidence file", tail: "",
			setup: func(t *testing.T, ds string) { must(t, os.Symlink(cfile, filepath.Join(ds, "sysctl.txt"))) },
			said:  []string{"symbolic link: not followed"}},
		{name: "symlinked role", tail: "",
			setup: func(t *testing.T, ds string) {
				must(t, os.Remove(filepath.Join(ds, "role")))
				must(t, os.Symlink(cfile, filepath.Join(ds, "role")))
			},
			said: []string{"symbolic link: not followed"}},
		{name: "symlinked case.yaml", tail: "",
			setup: func(t *testing.T, ds string) {
				c := filepath.Dir(ds)
				must(t, os.Remove(filepath.Join(c, "case.yaml")))
				must(t, os.Symlink(cfile, filepath.Join(c, "case.yaml")))
			},
			said: []string{"case.yaml leads outside the case folder: not followed"}},
		{name: "symlinked host folder", tail: "",
			setup: func(t *testing.T, ds string) { must(t, os.Symlink(cdir, filepath.Join(filepath.Dir(ds), "rs1"))) },
			said:  []string{"symbolic link: not followed"}},
		{name: "link chain inside then out", tail: "include a.conf",
			setup: func(t *testing.T, ds string) {
				must(t, os.Symlink("b.conf", filepath.Join(ds, "a.conf")))
				must(t, os.Symlink(cfile, filepath.Join(ds, "b.conf")))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := director(t, tc.tail)
			if tc.setup != nil {
				tc.setup(t, filepath.Join(c, "ds1"))
			}
			outs, code := allFormats(t, time.Minute, c)
			if code == cli.ExitUsage {
				t.Fatalf("the hostile file made the whole run fail:\n%s", outs["text"])
			}
			assertNoCanary(t, outs, secret)
			if !problemWith(outs, tc.said...) {
				t.Errorf("the refusal is not said (want %q):\n%s", tc.said, outs["json"])
			}
		})
	}
}

// TestHostileSpecialFiles: devices and FIFOs, met directly or through an
// include, neither hang nor cost memory.
func TestHostileSpecialFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tail  string
		setup func(t *testing.T, ds string)
		said  string
	}{
		{name: "include of /dev/zero through a link", tail: "include zero.conf",
			setup: func(t *testing.T, ds string) { must(t, os.Symlink("/dev/zero", filepath.Join(ds, "zero.conf"))) },
			said:  "not followed"},
		{name: "FIFO as evidence", setup: func(t *testing.T, ds string) {
			must(t, syscall.Mkfifo(filepath.Join(ds, "sysctl.txt"), 0o644))
		}, said: "named pipe"},
		{name: "FIFO included", tail: "include pipe.conf", setup: func(t *testing.T, ds string) {
			must(t, syscall.Mkfifo(filepath.Join(ds, "pipe.conf"), 0o644))
		}, said: "named pipe"},
		{name: "FIFO as role", setup: func(t *testing.T, ds string) {
			must(t, os.Remove(filepath.Join(ds, "role")))
			must(t, syscall.Mkfifo(filepath.Join(ds, "role"), 0o644))
		}, said: "named pipe"},
		{name: "FIFO as capture", setup: func(t *testing.T, ds string) {
			must(t, syscall.Mkfifo(filepath.Join(ds, "eth0.pcap"), 0o644))
		}, said: "named pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := director(t, tc.tail)
			tc.setup(t, filepath.Join(c, "ds1"))
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			outs, code := allFormats(t, 30*time.Second, c)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if code == cli.ExitUsage {
				t.Fatalf("the special file made the whole run fail:\n%s", outs["text"])
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
				t.Errorf("four runs allocated %d MB", grew>>20)
			}
			if !problemWith(outs, tc.said) {
				t.Errorf("the skip is not said (want %q):\n%s", tc.said, outs["json"])
			}
		})
	}
}

// TestHostileSizes: what a file claims or holds does not decide what
// lvsdoctor allocates.
func TestHostileSizes(t *testing.T) {
	if testing.Short() {
		t.Skip("writes hundreds of MB")
	}
	t.Run("gzipped capture with a 1 GiB record", func(t *testing.T) {
		c := director(t, "")
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		hdr := make([]byte, 24)
		binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
		binary.LittleEndian.PutUint16(hdr[4:], 2)
		binary.LittleEndian.PutUint16(hdr[6:], 4)
		binary.LittleEndian.PutUint32(hdr[16:], 0xffffffff)
		binary.LittleEndian.PutUint32(hdr[20:], 1)
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[8:], 1<<30)
		binary.LittleEndian.PutUint32(rec[12:], 1<<30)
		zw.Write(hdr)
		zw.Write(rec)
		zero := make([]byte, 1<<20)
		for range 1024 {
			zw.Write(zero)
		}
		zw.Close()
		must(t, os.WriteFile(filepath.Join(c, "ds1", "eth0.pcap"), buf.Bytes(), 0o644))
		var outs map[string]string
		peak := memtest.PeakHeap(func() { outs, _ = allFormats(t, time.Minute, c) })
		if peak > 200<<20 {
			t.Errorf("a %d KB capture held %d MB", buf.Len()>>10, peak>>20)
		}
		if !problemWith(outs, "not a packet record") {
			t.Errorf("the oversized record is not reported:\n%s", outs["json"])
		}
	})
	t.Run("forty includes of a big file", func(t *testing.T) {
		c := director(t, strings.Repeat("include big.conf\n", 40))
		line := "! " + strings.Repeat("x", 98) + "\n"
		must(t, os.WriteFile(filepath.Join(c, "ds1", "big.conf"), []byte(strings.Repeat(line, 400_000)), 0o644)) // 40 MB
		var outs map[string]string
		peak := memtest.PeakHeap(func() { outs, _ = allFormats(t, 2*time.Minute, c) })
		if peak > 400<<20 {
			t.Errorf("40 includes of a 40 MB file held %d MB", peak>>20)
		}
		if !problemWith(outs, "exceed") {
			t.Errorf("the include budget is not said:\n%s", outs["json"])
		}
	})
	t.Run("sparse file", func(t *testing.T) {
		c := director(t, "")
		f, err := os.Create(filepath.Join(c, "ds1", "sysctl.txt"))
		must(t, err)
		must(t, f.Truncate(2<<30))
		f.Close()
		start := time.Now()
		var outs map[string]string
		peak := memtest.PeakHeap(func() { outs, _ = allFormats(t, time.Minute, c) })
		if peak > 64<<20 {
			t.Errorf("a 2 GiB sparse file held %d MB", peak>>20)
		}
		if el := time.Since(start); el > 30*time.Second {
			t.Errorf("a 2 GiB sparse file took %s", el)
		}
		if !problemWith(outs, "binary") {
			t.Errorf("the sparse file is not reported as binary:\n%s", outs["json"])
		}
	})
}

// TestErrorTextIsNotEvidence: a command's error in place of its output
// says the command failed, and decides nothing.
func TestErrorTextIsNotEvidence(t *testing.T) {
	for _, text := range []string{
		"Permission denied\n",
		"bash: ip: command not found\n",
		"-bash: /usr/sbin/ip: No such file or directory\n",
		"sudo: a password is required\n",
		"Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n       ip [ -force ] -batch filename\nwhere  OBJECT := { address | addrlabel | link }\n",
		"Object \"adr\" is unknown, try \"ip help\".\n",
	} {
		c := director(t, "")
		must(t, os.WriteFile(filepath.Join(c, "ds1", "ip-addr.txt"), []byte(text), 0o644))
		outs, code := allFormats(t, time.Minute, c)
		var d struct{ Findings []struct{ ID string } }
		must(t, json.Unmarshal([]byte(outs["json"]), &d))
		if slices.ContainsFunc(d.Findings, func(f struct{ ID string }) bool { return f.ID == "director.vip-not-local" }) {
			t.Errorf("%q read as an address listing without the VIP (exit %d):\n%s", text, code, outs["text"])
		}
		if !problemWith(outs, "failed") {
			t.Errorf("%q: the failure is not said:\n%s", text, outs["json"])
		}
	}
}

// TestSecretsNeverPrinted: secrets in a case, in any syntax keepalived or
// a paste gives them, appear in no output format, not even in the
// messages that quote lines not understood.
func TestSecretsNeverPrinted(t *testing.T) {
	const s = "Sup3rS3cr3tValue"
	c := director(t, `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    authentication { auth_type PASS auth_pass `+s+`1 }
    @ds1 auth_pass `+s+`2
    virtual_ipaddress {
        192.0.2.10
    }
}
$PW=`+s+`3
vrrp_script chk_db {
    script "/usr/bin/mysql -uroot -p`+s+`4 -e 'select 1'"
}
not a keyword password=`+s+`5`)
	ds := filepath.Join(c, "ds1")
	must(t, os.WriteFile(filepath.Join(ds, "notes.txt"), []byte("db_password: "+s+"6\ntoken="+s+"7\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(ds, "id_rsa.txt"), []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"+s+"8\nb3BlbnNzaC1rZXktdjEAAAAA\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(ds, "ip-addr.txt"), []byte("$ curl http://admin:"+s+"9@10.0.0.1/status\n"), 0o644))
	outs, _ := allFormats(t, time.Minute, c)
	for f, o := range outs {
		if strings.Contains(o, s) {
			i := strings.Index(o, s)
			t.Errorf("-o %s printed a secret: …%s…", f, o[max(0, i-80):min(len(o), i+40)])
		}
	}
}
