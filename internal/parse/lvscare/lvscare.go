// Package lvscare reads lvscare's settings as tickets show them: its
// command line (`lvscare care --vs 10.103.97.12:6443 --rs 192.168.0.2:6443
// ...`), the same split over continued lines in an environment file
// (`LVSCARE_OPTS="care \`), or a static pod manifest's argument list
// (`- --vs`, `- 10.103.97.12:6443`). lvscare (labring/lvscare, sealos's
// HA for the Kubernetes API) keeps one IPVS virtual service, --vs, with
// the real servers --rs that pass its health check: the options name the
// service the host's table should hold.
package lvscare

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// argValueRE is a manifest's argument line holding only a value.
var argValueRE = regexp.MustCompile(`^\s*-\s+["']?([0-9A-Fa-f.:\[\]]+:\d+)["']?\s*$`)

// options returns the --vs and --rs options of a line, in order, with
// their value when the line holds it ("--vs 10.0.20.30:16443 \",
// "--rs=192.0.2.11:6443", "LVSCARE_OPTS=\"care --vs ..."), without when
// it is on the next argument line ("- --vs").
func options(line string) (names, vals []string) {
	line = strings.NewReplacer("--vs=", "--vs ", "--rs=", "--rs ", `"`, " ", "'", " ", `\`, " ", ",", " ").Replace(line)
	f := strings.Fields(line)
	for k := 0; k < len(f); k++ {
		if f[k] != "--vs" && f[k] != "--rs" {
			continue
		}
		name, val := f[k][2:], ""
		if k+1 < len(f) && !strings.HasPrefix(f[k+1], "-") {
			val = f[k+1]
			k++
		}
		names, vals = append(names, name), append(vals, val)
	}
	return names, vals
}

// Formats: lvscare's options, told by content or by a file named after it.
func Formats() []format.Format {
	return []format.Format{{
		Name:  "lvscare",
		Files: format.Patterns(`(?i)^lvscare.*\.(?:ya?ml|conf|txt|env)$`),
		Sniff: sniff,
		Apply: apply,
	}}
}

// sniff: a --vs with an address and port, a --rs, and lvscare named (its
// name, its `care` subcommand, or LVSCARE_ in an environment file).
func sniff(head string) bool {
	if !strings.Contains(head, "--vs") || !strings.Contains(head, "--rs") {
		return false
	}
	low := strings.ToLower(head)
	if !strings.Contains(low, "lvscare") && !strings.Contains(head, " care") && !strings.Contains(head, "- care") {
		return false
	}
	vs, rs := Parse(evidence.Doc{Text: head})
	return vs != nil && rs > 0
}

// Parse returns the virtual service the options declare and how many real
// servers they name; nil when they name none.
func Parse(doc evidence.Doc) (*evidence.DeclaredService, int) {
	var ds *evidence.DeclaredService
	var rss []netip.AddrPort
	pending := "" // an option whose value is on the next argument line
	for i, line := range doc.Lines() {
		type opt struct{ name, val string }
		var opts []opt
		if names, vals := options(line); names != nil {
			for k := range names {
				opts = append(opts, opt{names[k], vals[k]})
			}
		} else if pending != "" {
			if m := argValueRE.FindStringSubmatch(line); m != nil {
				opts = append(opts, opt{pending, m[1]})
			}
		}
		pending = ""
		for _, o := range opts {
			if o.val == "" {
				pending = o.name
				continue
			}
			ap, err := netip.ParseAddrPort(o.val)
			if err != nil {
				continue
			}
			if o.name == "rs" {
				rss = append(rss, ap)
			} else if ds == nil {
				ds = &evidence.DeclaredService{Controller: "lvscare", Proto: "TCP", Addr: ap.Addr().Unmap(), Port: ap.Port(), Ref: doc.Ref(i, line)}
			}
		}
	}
	if ds != nil {
		ds.RealServers = rss
	}
	return ds, len(rss)
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	ds, _ := Parse(doc)
	if ds == nil {
		return []evidence.Problem{doc.Problemf(-1, "lvscare options without a --vs ADDRESS:PORT")}
	}
	h.Declared = append(h.Declared, *ds)
	return nil
}
