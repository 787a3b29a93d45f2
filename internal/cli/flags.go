package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// outputFlag declares -o/--output, the output format, as kubectl does
// everywhere. --format, its old spelling, still works for one release
// with a deprecation notice on stderr.
func outputFlag(cmd *cobra.Command, f *pflag.FlagSet, p *string, def, usage string, formats ...string) {
	f.StringVarP(p, "output", "o", def, usage)
	f.StringVar(p, "format", def, usage)
	_ = f.MarkHidden("format")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion(formats...))
}

// oldSpellings are flags renamed to follow kubectl's habits, with what
// replaces them.
var oldSpellings = map[string]string{"format": "-o/--output"}

// warnOldSpellings says on stderr (never on stdout, where -o json goes)
// that an old spelling was used. pflag's own deprecation notice is
// printed where cobra prints usage, which is stdout here.
func warnOldSpellings(cmd *cobra.Command) {
	for old, now := range oldSpellings {
		if f := cmd.Flags().Lookup(old); f != nil && f.Changed {
			fmt.Fprintf(cmd.ErrOrStderr(), "lvsdoctor: --%s is deprecated and goes in the next release: use %s\n", old, now)
		}
	}
	if cmd.Name() == "collect" {
		if f := cmd.Flags().Lookup("output"); f != nil && f.Changed {
			fmt.Fprintln(cmd.ErrOrStderr(), "lvsdoctor: collect --output is deprecated and goes in the next release: use --dir")
		}
	}
}
