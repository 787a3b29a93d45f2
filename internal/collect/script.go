package collect

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Script is the POSIX sh program that collects items on a remote host with
// the commands it already has, nothing installed. Its output is a stream
// of sections framed by marker lines carrying a random nonce, so no file's
// content can forge a frame:
//
//	@@lvsdoctor-NONCE begin FILE
//	...the file...
//	@@lvsdoctor-NONCE end FILE RC
//	@@lvsdoctor-NONCE err FILE first line of stderr
//	@@lvsdoctor-NONCE skip FILE why
//
// A begin marker follows a newline the script prints, and the end marker
// one more; Split removes exactly those, so a file keeps its bytes.
func Script(items []Item, nonce string) string {
	var b strings.Builder
	b.WriteString("# lvsdoctor collect: read-only evidence collection\n")
	b.WriteString("export LC_ALL=C PATH=\"$PATH:/usr/sbin:/sbin\"\n")
	fmt.Fprintf(&b, "M='@@lvsdoctor-%s'\n", nonce)
	b.WriteString(shellPrelude)
	b.WriteString(`item() { # FILE HEADER LIMIT CMD...
    f=$1 h=$2 l=$3; shift 3
    have "$1" || { printf '%s skip %s %s\n' "$M" "$f" "$1 is not installed"; return; }
    printf '\n%s begin %s\n' "$M" "$f"
    [ -z "$h" ] || printf '$ %s\n' "$h"
    exec 3>&1
    err=$("$@" 2>&1 1>&3 3>&-)
    rc=$?
    exec 3>&-
    printf '\n%s end %s %s\n' "$M" "$f" "$rc"
    [ -z "$err" ] || printf '%s\n' "$err" | head -n 1 | sed "s|^|$M err $f |"
}
skip() { printf '%s skip %s %s\n' "$M" "$1" "$2"; }
`)
	for _, it := range items {
		var run string
		switch {
		case it.Path != "":
			run = "head -c " + strconv.FormatInt(it.limit(), 10) + " " + shQuote(it.Path)
			if it.Optional {
				// as the local collector: a file that is not there is skipped
				run = "if [ -e " + shQuote(it.Path) + " ]; then item " + shQuote(it.File) + " '' " + strconv.FormatInt(it.limit(), 10) + " " + run +
					"; else skip " + shQuote(it.File) + " " + shQuote(it.Path+" does not exist") + "; fi"
			}
		case len(it.Cmd) > 0:
			run = shJoin(it.Cmd)
		default:
			continue
		}
		hdr := "''"
		if it.Header {
			hdr = shQuote(it.header())
		}
		line := "item " + shQuote(it.File) + " " + hdr + " " + strconv.FormatInt(it.limit(), 10) + " " + run
		if strings.HasPrefix(run, "if ") {
			line = run
		}
		// innermost first: each failing condition reports its own reason
		for i := len(it.Guard) - 1; i >= 0; i-- {
			c := it.Guard[i]
			line = "if " + c.Shell + "; then " + line + "; else skip " + shQuote(it.File) + " " + shQuote(c.Why) + "; fi"
		}
		b.WriteString(line + "\n")
	}
	b.WriteString(expandScript)
	b.WriteString(keepalivedScript)
	return b.String()
}

// keepalivedScript finds the configuration like keepalivedFiles does: the
// -f of running keepalived processes of this network namespace, the
// default path, and their includes, each stored under its absolute path.
const keepalivedScript = `ka_confs() {
    self=$(readlink /proc/self/ns/net)
    for p in /proc/[0-9]*; do
        # the shell's read, not cat: a busy director has thousands of processes
        c=; read -r c <"$p/comm" 2>/dev/null
        [ "$c" = keepalived ] || continue
        [ "$(readlink "$p/ns/net")" = "$self" ] || continue
        c=$(tr '\0' '\n' <"$p/cmdline" 2>/dev/null | awk '
            f { print; exit } /^(-f|--use-file)$/ { f = 1; next }
            /^--use-file=/ { sub(/^--use-file=/, ""); print; exit }
            /^-f./ { print substr($0, 3); exit }')
        [ -n "$c" ] || continue
        case $c in /*) ;; *) c="$(readlink "$p/cwd")/$c";; esac
        echo "$c"
    done
    [ -e /etc/keepalived/keepalived.conf ] && echo /etc/keepalived/keepalived.conf
}
ka_files() { # FILE DEPTH: the file and what it includes
    [ "$2" -le 8 ] || return 0
    echo "$1"
    d=$(dirname "$1")
    sed -n 's/^[[:space:]]*include[[:space:]][[:space:]]*\([^[:space:]]*\).*/\1/p' "$1" 2>/dev/null |
    while read -r pat; do
        case $pat in /*) ;; *) pat="$d/$pat";; esac
        for g in $pat; do [ -f "$g" ] && ka_files "$g" $(($2 + 1)); done
    done
}
ka_confs | while read -r c; do ka_files "$c" 0; done | sort -u | while read -r f; do
    item "${f#/}" '' 16777216 head -c 16777216 "$f"
done
`

// NewNonce returns a random marker nonce.
func NewNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Split cuts a script's output into files. Anything outside a frame
// (a login banner, a motd) is ignored; a frame cut short by a dropped
// connection keeps what arrived, marked truncated.
func Split(out []byte, nonce string) []File {
	mark := []byte("@@lvsdoctor-" + nonce + " ")
	var files []File
	index := map[string]int{}
	var cur *File
	var body bytes.Buffer
	rest := out
	for len(rest) > 0 {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		if !bytes.HasPrefix(line, mark) {
			if cur != nil {
				body.Write(line)
			}
			continue
		}
		verb, args, _ := strings.Cut(strings.TrimRight(string(line[len(mark):]), "\n"), " ")
		name, arg, _ := strings.Cut(args, " ")
		switch verb {
		case "begin":
			files = append(files, File{Name: name, How: "ssh"})
			index[name] = len(files) - 1
			cur = &files[len(files)-1]
			body.Reset()
		case "end":
			if cur == nil || cur.Name != name {
				continue
			}
			data := bytes.TrimSuffix(body.Bytes(), []byte("\n")) // the newline before "end"
			cur.Data = append([]byte(nil), data...)
			if arg != "0" {
				cur.Err = "exit status " + arg
			}
			cur = nil
		case "err":
			if i, ok := index[name]; ok {
				if files[i].Err != "" {
					files[i].Err = arg + " (" + files[i].Err + ")"
				} else if len(files[i].Data) == 0 {
					files[i].Err = arg
				}
			}
		case "skip":
			files = append(files, File{Name: name, Skipped: arg})
		}
	}
	if cur != nil {
		cur.Data = append([]byte(nil), body.Bytes()...)
		cur.Truncated = true
		cur.Err = "output ended inside this file"
	}
	return files
}
