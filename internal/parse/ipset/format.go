package ipset

import (
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
	"github.com/lvsdoctor/lvsdoctor/internal/messages"
)

var (
	listSniffRE = regexp.MustCompile(`\AName: \S+\nType: (?:hash|bitmap|list):[a-z,]+\n`)
	saveSniffRE = regexp.MustCompile(`\Acreate \S+ (?:hash|bitmap|list):[a-z,]+(?: |\n)`)
)

// Formats is what this package reads: `ipset list` (-t, -n, one set) and
// `ipset save`; and the errors of the other ipset commands a user runs by
// hand to test it (`ipset create foo hash:ip comment`).
func Formats() []format.Format {
	return []format.Format{{
		Name:     "ipset",
		MaxBytes: format.LargeOutput,
		Commands: format.Patterns(`^(?:\S*/)?ipset\s+(?:(?:-\S+\s+)*)(?:list|-L|save|-S|-l|-s)\b`),
		Files:    format.Patterns(`^ipsets?`+format.FileTail, `^ipsets?\.(?:conf|save|rules)$`),
		Sniff: func(head string) bool {
			head = trimLeadingBlank(head)
			return listSniffRE.MatchString(head) || saveSniffRE.MatchString(head)
		},
		Apply: format.LimitedLines(apply),
	}, {
		Name:            "ipset-command",
		Commands:        format.Patterns(`^(?:\S*/)?ipset\s+(?:-\S+\s+)*(?:create|-N|n|add|-A|test|-T|version|-v|--version|-V)\b`),
		Apply:           applyCommand,
		ErrorIsEvidence: func(doc evidence.Doc) bool { return len(commandMessages(doc)) > 0 },
	}}
}

func trimLeadingBlank(s string) string {
	for len(s) > 0 && (s[0] == '\n' || s[0] == '\r' || s[0] == ' ') {
		s = s[1:]
	}
	return s
}

func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	sets, probs := Parse(doc)
	h.AddIPSets(sets)
	if len(sets) > 0 {
		h.MarkSeen(evidence.KindIPSets, format.BlockRef(doc))
	}
	return probs
}

// applyCommand keeps the ipset command's own errors that the message table
// ties to a cause: "ipset v6.29: Unknown argument: `comment'" says this
// ipset cannot create the sets kube-proxy's IPVS mode needs.
func applyCommand(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	h.Logs = append(h.Logs, commandMessages(doc)...)
	return nil
}

func commandMessages(doc evidence.Doc) []evidence.LogEvent {
	var out []evidence.LogEvent
	for i, l := range doc.Lines() {
		if i >= 50 {
			break // an error is in the first lines; the rest is a listing
		}
		e, ok := messages.Match(strings.TrimSpace(l))
		if !ok || e.Project != "ipset" || !e.Decides() {
			continue
		}
		out = append(out, evidence.LogEvent{Kind: evidence.LogMessage, Subject: e.ID, Detail: strings.TrimSpace(l), Message: e.ID, Ref: doc.Ref(i, l)})
	}
	return out
}
