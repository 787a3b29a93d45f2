package kernel

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// History is what `dnf history info` / `yum history info` showed of the
// kernel packages: each change, in transaction order.
type History struct {
	Changes []HistoryChange
	// Transactions is how many transactions the output showed.
	Transactions int
}

// HistoryChange is one kernel package a transaction altered.
type HistoryChange struct {
	Transaction int
	Action      string // Install, Upgrade, Removed, Erase, Upgraded, ...
	Version     string // as uname -r prints it
	Ref         evidence.Ref
}

var (
	historyTxnRE = regexp.MustCompile(`^Transaction ID\s*:\s*(\d+)`)
	// historyAltRE is a line of "Packages Altered:": dnf 4's
	// (dnf/cli/commands/history.py, output.py historyInfoCmdPkgsAltered)
	// and yum 3's, which may mark a line with "**" or a one-letter state.
	historyAltRE = regexp.MustCompile(`^\s+(?:\*\*\s*|[A-Z]\s+)?(Install|Dep-Install|Upgrade|Upgraded|Update|Updated|Erase|Erased|Removed|Remove|Reinstall|Reinstalled|Downgrade|Downgraded|Obsoleting|Obsoleted|Obsolete|Reason Change)\s+(\S+)`)
	historyRowRE = regexp.MustCompile(`^\s*\d+\s+\|`)
	historyKeyRE = regexp.MustCompile(`^[A-Z][A-Za-z -]*?\s*:(?:\s|$)`)
)

// installs is whether a history action leaves the package installed.
var installs = map[string]bool{
	"Install": true, "Dep-Install": true, "Upgrade": true, "Update": true, "Reinstall": true, "Reinstalled": true,
	"Downgrade": true, "Obsoleting": true, "Reason Change": true,
}

// ParseHistory reads `dnf history info` and `yum history info` (one
// transaction or several, the last one without an ID, or those of a
// package) and `history list`, whose rows name no package. Only the
// kernel packages' changes are kept; other packages and the fields of a
// transaction are not problems.
func ParseHistory(doc evidence.Doc) (History, []evidence.Problem) {
	var h History
	var probs []evidence.Problem
	txn, altered := 0, false
	for i, line := range doc.Lines() {
		s := strings.TrimRight(line, " \t\r")
		t := strings.TrimSpace(s)
		switch {
		case t == "":
			continue
		case historyTxnRE.MatchString(t):
			txn, _ = strconv.Atoi(historyTxnRE.FindStringSubmatch(t)[1])
			h.Transactions++
			altered = false
			continue
		case t == "Packages Altered:":
			altered = true
			continue
		case strings.HasSuffix(t, ":") && !strings.Contains(t, " : ") && s == t:
			// "Transaction performed with:", "Scriptlet output:", "Changed by:"
			altered = false
			continue
		case strings.HasPrefix(t, "---"):
			altered = false // between transactions
			continue
		case strings.HasPrefix(t, "ID "), strings.HasPrefix(t, "Loaded plugins:"), historyRowRE.MatchString(t),
			historyKeyRE.MatchString(t) && s == t:
			continue
		}
		if m := historyAltRE.FindStringSubmatch(s); m != nil {
			if !altered {
				continue // the packages a transaction was performed with
			}
			if k := kernelPkgRe.FindStringSubmatch(m[2]); k != nil {
				h.Changes = append(h.Changes, HistoryChange{Transaction: txn, Action: m[1], Version: k[1], Ref: doc.Ref(i, line)})
			}
			continue
		}
		if s != t {
			continue // an indented line of a field (scriptlet output, a long command line)
		}
		probs = append(probs, doc.Problemf(i, "not a line of dnf/yum history: %q", evidence.Clip(t, 80)))
	}
	// `history info` of several transactions lists the newest first.
	slices.SortStableFunc(h.Changes, func(a, b HistoryChange) int { return cmp.Compare(a.Transaction, b.Transaction) })
	return h, probs
}

// Kernels are the kernel packages the history shows, each as its last
// change left it: installed, or removed.
func (h History) Kernels() []evidence.InstalledKernel {
	var out []evidence.InstalledKernel
	at := map[string]int{}
	for _, c := range h.Changes {
		ik := evidence.InstalledKernel{Version: c.Version, History: true, Removed: !installs[c.Action], Ref: c.Ref}
		if j, ok := at[c.Version]; ok {
			if c.Action == "Reason Change" && !out[j].Removed {
				continue // still installed: the line that installed it says more
			}
			out[j] = ik
			continue
		}
		at[c.Version] = len(out)
		out = append(out, ik)
	}
	return out
}
