package collect

import (
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
//	@@lvsdoctor-NONCE begin LIMIT FILE
//	...the file...
//	@@lvsdoctor-NONCE end RC FILE
//	@@lvsdoctor-NONCE err first line of stderr (of the file just ended)
//	@@lvsdoctor-NONCE skip FILE
//	@@lvsdoctor-NONCE why reason (the file just skipped)
//
// FILE ends its line, so a name keeps its spaces (a keepalived include
// may be "conf.d/my file.conf"); free text has a line of its own for the
// same reason. LIMIT is the item's cap: the reader drops what a file
// holds past it. A begin marker follows a newline the script prints, and
// the end marker one more; the reader removes exactly those, so a file
// keeps its bytes.
func Script(items []Item, nonce string) string {
	var b strings.Builder
	b.WriteString("# lvsdoctor collect: read-only evidence collection\n")
	b.WriteString("export LC_ALL=C PATH=\"$PATH:/usr/sbin:/sbin\"\n")
	fmt.Fprintf(&b, "M='@@lvsdoctor-%s'\n", nonce)
	b.WriteString(shellPrelude)
	b.WriteString(`item() { # FILE HEADER LIMIT CMD...
    f=$1 h=$2 l=$3; shift 3
    have "$1" || { skip "$f" "$1 is not installed"; return; }
    printf '\n%s begin %s %s\n' "$M" "$l" "$f"
    [ -z "$h" ] || printf '$ %s\n' "$h"
    exec 3>&1
    err=$("$@" 2>&1 1>&3 3>&-)
    rc=$?
    exec 3>&-
    printf '\n%s end %s %s\n' "$M" "$rc" "$f"
    [ -z "$err" ] || printf '%s\n' "$err" | head -n 1 | sed "s/^/$M err /"
}
skip() { printf '%s skip %s\n%s why %s\n' "$M" "$1" "$M" "$2"; }
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
		hdr, limit := "''", it.limit()
		if it.Header {
			hdr = shQuote(it.header())
			// as locally, where the "$ command" line comes on top of the cap
			limit += int64(len("$ " + it.header() + "\n"))
		}
		line := "item " + shQuote(it.File) + " " + hdr + " " + strconv.FormatInt(limit, 10) + " " + run
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
        printf '%s\n' "$c"
    done
    [ -e /etc/keepalived/keepalived.conf ] && echo /etc/keepalived/keepalived.conf
}
# printf, not echo, and IFS= read -r: a path keeps its spaces and backslashes
ka_files() { # FILE DEPTH: the file and what it includes
    [ "$2" -le 8 ] || return 0
    printf '%s\n' "$1"
    d=$(dirname "$1")
    sed -n 's/^[[:space:]]*include[[:space:]][[:space:]]*\([^[:space:]]*\).*/\1/p' "$1" 2>/dev/null |
    while read -r pat; do
        case $pat in /*) ;; *) pat="$d/$pat";; esac
        for g in $pat; do [ -f "$g" ] && ka_files "$g" $(($2 + 1)); done
    done
}
ka_confs | while IFS= read -r c; do ka_files "$c" 0; done | sort -u | while IFS= read -r f; do
    item "${f#/}" '' 16777216 head -c 16777216 "$f"
done
`

// NewNonce returns a random marker nonce.
func NewNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
