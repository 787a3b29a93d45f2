package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lvsdoctor/lvsdoctor/internal/catalog"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
)

func newCausesCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "causes",
		Short: "List every root cause lvsdoctor can name",
		Long: `List the root-cause catalog: each ID a finding may carry. The IDs are
stable: scripts and alerts may key on them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			detected := map[string]bool{}
			for _, r := range rules.All() {
				detected[r.ID] = true
			}
			w := cmd.OutOrStdout()
			switch format {
			case "text":
				width := termWidth(w)
				for _, c := range catalog.All() {
					id := c.ID
					if !detected[id] {
						id += " (not yet detected)"
					}
					fmt.Fprintf(w, "%s  [%s]\n", id, c.Area)
					for _, l := range wrapWords(c.Breaks, width-4) {
						fmt.Fprintf(w, "    %s\n", l)
					}
				}
				return nil
			case "ids":
				for _, c := range catalog.All() {
					fmt.Fprintln(w, c.ID)
				}
				return nil
			case "json":
				type cause struct {
					catalog.Cause
					Detected bool `json:"detected"`
				}
				out := []cause{}
				for _, c := range catalog.All() {
					out = append(out, cause{c, detected[c.ID]})
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return usageErr("-o/--output %q: want text, ids or json", format)
		},
	}
	outputFlag(cmd, cmd.Flags(), &format, "text", "text, ids or json", "text", "ids", "json")
	return cmd
}

// termWidth is the width of the terminal w writes to: its size when it
// is one, else $COLUMNS, else 80.
func termWidth(w any) int {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols >= 40 {
			return cols
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	return 80
}

// wrapWords wraps s at width columns, between words.
func wrapWords(s string, width int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

func newExplainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "explain ID",
		Short: "Explain one root cause: what breaks, the evidence, the fix",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("explain needs one cause ID; see 'lvsdoctor causes'")
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var ids []string
			for _, c := range catalog.All() {
				ids = append(ids, c.ID)
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ok := catalog.Lookup(args[0])
			if !ok {
				msg := fmt.Sprintf("unknown cause %q", args[0])
				if s := catalog.Suggest(args[0]); len(s) > 0 {
					msg += "; did you mean: " + strings.Join(s, ", ")
				}
				return usageErr("%s", msg)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s  (%s)\n\n", c.ID, c.Area)
			section(w, "What breaks", c.Breaks)
			section(w, "How lvsdoctor recognises it", c.Evidence)
			for _, r := range rules.All() {
				if r.ID == c.ID {
					section(w, "What the rule checks", r.Doc)
					var needs []string
					for _, n := range r.Needs {
						needs = append(needs, fmt.Sprintf("%s on the %s", "`"+n.Generic()+"`", n.Role))
					}
					if len(needs) > 0 {
						section(w, "Evidence to collect", strings.Join(needs, "; "))
					}
				}
			}
			section(w, "Fix", c.Fix)
			section(w, "Confirm the fix", c.Confirm)
			return nil
		},
	}
}

func section(w interface{ Write([]byte) (int, error) }, title, body string) {
	if strings.TrimSpace(body) == "" {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	for _, l := range wrapText(body, 76) {
		fmt.Fprintf(w, "  %s\n", l)
	}
	fmt.Fprintln(w)
}

func wrapText(s string, width int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			out = append(out, line)
			line = word
			continue
		}
		if line == "" {
			line = word
		} else {
			line += " " + word
		}
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
