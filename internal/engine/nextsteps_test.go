package engine

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/diagnosis"
	"github.com/lvsdoctor/lvsdoctor/internal/intake"
	"github.com/lvsdoctor/lvsdoctor/internal/rules"
	"github.com/lvsdoctor/lvsdoctor/internal/topology"
)

var examples = filepath.Join("..", "..", "examples")

func diagnoseExample(t *testing.T, path string) *diagnosis.Diagnosis {
	t.Helper()
	c, err := intake.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return Run(c, topology.Hints{}, rules.All())
}

// placeholderRe matches what a command template holds where the case's
// value goes: <VIP>, <iface>, <director VM>.
var placeholderRe = regexp.MustCompile(`<[A-Za-z][^<>]*>`)

// The next steps of every bundled example: at most three, the one that
// settles most first, commands to paste as they are (the case's values
// filled in, no placeholder, no prose), each among the notes too.
func TestNextStepsOfExamples(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(examples, "*", "case.yaml"))
	for i := range paths {
		paths[i] = filepath.Dir(paths[i])
	}
	txts, _ := filepath.Glob(filepath.Join(examples, "transcripts", "*.txt"))
	paths = append(paths, txts...)
	if len(paths) < 8 {
		t.Fatalf("found %d examples", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			d := diagnoseExample(t, p)
			if len(d.NextSteps) == 0 || len(d.NextSteps) > diagnosis.MaxNextSteps {
				t.Fatalf("%d next steps", len(d.NextSteps))
			}
			for i, s := range d.NextSteps {
				if i > 0 && len(s.Settles) > len(d.NextSteps[i-1].Settles) {
					t.Errorf("step %d settles %d causes, more than step %d (%d)", i+1, len(s.Settles), i, len(d.NextSteps[i-1].Settles))
				}
				if m := placeholderRe.FindString(s.Command); m != "" {
					t.Errorf("step %q keeps the placeholder %s", s.Command, m)
				}
				if strings.Contains(s.Command, " while ") || strings.Contains(s.Command, " (or ") {
					t.Errorf("step %q holds prose", s.Command)
				}
				if (strings.HasPrefix(s.Command, "tcpdump") || strings.HasPrefix(s.Command, "lvsdoctor watch")) && !strings.Contains(s.Command, d.Service.VIP) &&
					!strings.Contains(s.Command, "port ") {
					t.Errorf("step %q does not name the service (%s)", s.Command, d.Service.VIP)
				}
				if !slices.Contains(d.Notes, s.Note()) {
					t.Errorf("step %q is not among the notes", s.Note())
				}
			}
			for _, n := range d.Notes {
				if m := placeholderRe.FindString(n); m != "" && strings.HasPrefix(n, "run `") {
					t.Errorf("note %q keeps the placeholder %s", n, m)
				}
			}
		})
	}
}

// No step asks for output the case holds: a filtered listing that shows
// the service's listener answers whether the application listens, a
// whole `sysctl -a` without nf_conntrack_max says the table cannot be
// full, and a host pasted in a transcript has no folder to write a role
// file in.
func TestNextStepsAskNothingHeld(t *testing.T) {
	d := diagnoseExample(t, filepath.Join(examples, "transcripts", "vpc-session.txt"))
	for _, n := range d.Notes {
		if strings.Contains(n, "`ss -lntup` on rs1") {
			t.Errorf("asks for the listeners `ss -lnup | grep 52002` shows: %s", n)
		}
		if strings.Contains(n, "/role to say otherwise") {
			t.Errorf("asks for a role file in a folder a transcript does not have: %s", n)
		}
	}
	d = diagnoseExample(t, filepath.Join(examples, "tun-rp-filter"))
	for _, n := range d.Notes {
		// rs1 and rs2 have sysctl -a; ds1 has not, and one command asks
		// for all of it.
		if strings.Contains(n, "nf_conntrack_") {
			t.Errorf("asks for conntrack sysctls the case holds or sysctl -a gives: %s", n)
		}
	}
	var capture *diagnosis.NextStep
	for _, s := range append(d.NextSteps, parseSteps(d.Notes)...) {
		if strings.HasPrefix(s.Command, "tcpdump") && s.On == "rs2" {
			capture = &s
			break
		}
	}
	if capture == nil || capture.Command != "tcpdump -n -i eth0 -w eth0.pcap '(host 198.51.100.100 and port 80) or ip proto 4'" {
		t.Errorf("capture on rs2 (TUN): %+v", capture)
	}
}

// parseSteps reads the steps back from the notes that say them.
func parseSteps(notes []string) []diagnosis.NextStep {
	re := regexp.MustCompile("^run `(.*)` on (\\S+)")
	var out []diagnosis.NextStep
	for _, n := range notes {
		if m := re.FindStringSubmatch(n); m != nil {
			out = append(out, diagnosis.NextStep{Command: m[1], On: m[2]})
		}
	}
	return out
}

// A role the case has no host of is one collection away; the real
// servers' addresses say where to run it.
func TestNextStepForMissingRole(t *testing.T) {
	d := diagnoseExample(t, filepath.Join(examples, "transcripts", "kvm-nwfilter-session.txt"))
	if len(d.NextSteps) == 0 {
		t.Fatal("no next step")
	}
	s := d.NextSteps[0]
	if s.Command != "lvsdoctor collect --dir case --role realserver" || !strings.Contains(s.On, "192.0.2.42") || len(s.Settles) < 5 {
		t.Errorf("first step: %+v", s)
	}
}

// What an output says it left out is asked for by the command that
// shows it: iptables-nft's warning that iptables-legacy tables exist asks
// for iptables-legacy-save on that director, first (it settles the most),
// and the check it would settle is not counted as run there.
func TestNextStepShowsHidden(t *testing.T) {
	corpus := filepath.Join("..", "..", "testdata", "corpus")
	d := diagnoseExample(t, filepath.Join(corpus, "lookalike--director.firewall-drops-vip--legacy-tables-hidden"))
	if len(d.NextSteps) == 0 || d.NextSteps[0].On != "director" || d.NextSteps[0].Command != "iptables-legacy-save -c" ||
		!strings.Contains(d.NextSteps[0].Why, "iptables-legacy tables") || !slices.Contains(d.NextSteps[0].Settles, "director.firewall-drops-vip") {
		t.Errorf("next steps %+v", d.NextSteps)
	}
	noted := false
	for _, n := range d.Notes {
		noted = noted || strings.Contains(n, "whether a rule there drops 192.0.2.100 is not decided")
	}
	if !noted {
		t.Errorf("no note that the hidden tables may drop the VIP: %q", d.Notes)
	}
	// The same case without the warning line hides nothing.
	base := diagnoseExample(t, filepath.Join(corpus, "lookalike--director.firewall-drops-vip--other-destination"))
	for _, s := range base.NextSteps {
		if strings.Contains(s.Command, "legacy") {
			t.Errorf("asks %+v", s)
		}
	}
}
