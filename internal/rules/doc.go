// Package rules holds one small unit per root cause. Like an analyzer of
// golang.org/x/tools/go/analysis, a Rule declares its cause ID, what it
// checks, the evidence it needs and the causes it explains; Run reads the
// resolved topology and reports findings that cite their evidence.
//
// # What we took from the models
//
//   - go/analysis (x/tools, passes/*): a unit declares itself before it
//     runs (ID, Doc, Needs, Requires) and the declaration is never
//     patched at run time; shared work is a result the driver computes
//     once and hands to the units that require it (the packet path), not
//     a cache a unit keeps; analysistest pins the line a diagnostic is
//     reported on, and so do our corpus cases (cites:).
//   - aquasecurity/defsec's checks: one check per file, named by its ID,
//     over one typed model whose values carry where they were read (our
//     evidence.Ref); a check cites by passing the value it judged, and one
//     test runs every check against bad and good examples and asserts the
//     cited lines (e2e's one expectation checker over corpus, lab and
//     examples, with cites and wrong_cite).
//   - Not taken: defsec registers checks as a side effect of importing a
//     package; our list (all.go) is explicit, and layout_test.go holds it
//     against the files.
//
// # Where things are
//
// A rule lives in the file named after its cause ID, dots and dashes
// turned into underscores: rs.rp-filter-strict is rs_rp_filter_strict.go,
// holding the rule's var (the ID in lowerCamelCase, rsRPFilterStrict) and
// the functions only it uses; a test of that rule alone sits beside it in
// rs_rp_filter_strict_test.go. What several rules share lives in a file
// named for what it reads or computes:
//
//   - rule.go: Rule, Need and Pass, the API a rule is written against
//   - all.go: the list of rules the engine runs
//   - addresses.go: who holds an address or a MAC, and on which interface
//   - routes.go: route lookups (main table, policy rules) and the
//     interface a real server receives on
//   - services.go: a service's IPVS destinations, mode, real servers and
//     their ports and listeners
//   - frames.go: packets in captures (keys, flows, times)
//   - director_view.go: a director's captures split into arrivals and
//     forwarded copies
//   - transit_loss.go: forwarded packets no later capture point saw
//   - packet_trace.go: the trace.* rules' reading of the packet path
//   - firewall_walk.go: the client's packet walked through a firewall
//   - spoof_filters.go: anti-spoofing filters of hypervisors' VM ports
//   - icmp_errors.go: ICMP unreachables decoded from captures
//   - conntrack_table.go: how full a host's conntrack table is
//   - logs.go: keepalived's health-check log lines
//   - evidence_refs.go: citations of whole listings and tables
//   - text.go: the words of findings (clip, upperFirst, orName)
//
// # Shared results
//
// Work several rules need is computed once by the engine and handed to
// the rules that declare it in Requires, as go/analysis passes an
// analyzer's Requires through Pass.ResultOf: today the packet path
// (Requires: []Requirement{PacketPath}, read with Pass.PacketPath), the
// packet tracer's view of a service through the case's captures. The
// diagnosis carries the same path (packet_path) and `lvsdoctor trace`
// prints it, so the trace.* causes are one computation wherever they
// are shown. A rule that reads a result it did not require panics (the
// engine turns that into a note).
//
// Nothing patches a rule at run time: what it explains, kernel.drop
// included, is in its own declaration. layout_test.go fails when a rule
// is not in its file, when a rule is declared twice or outside All, or
// when the package grows an init function.
//
// # How to add a cause, in five steps
//
//  1. Catalog: add the cause to internal/catalog/causes.yaml (id, area,
//     breaks, evidence, fix, confirm). IDs are a contract: never rename or
//     reuse one.
//  2. Rule: write <id>.go here, with . and - as _, declaring
//     var <idInCamelCase> = &Rule{...}: ID; Doc, one sentence on what it
//     checks; Needs, the evidence by role and the command that collects
//     it; Explains, the causes it is the reason for, with "kernel.drop"
//     when the kernel can see the drop (then map the drop reason to the
//     cause in dropCauses, kernel_drop.go); Modes when only some
//     forwarding modes can have it; Rank, its tier (see Rule.Rank); and
//     Run, which reports findings through Pass.Report, each citing the
//     evidence lines that decide it (a finding without evidence becomes a
//     note).
//  3. List: add the var to All in all.go.
//  4. Corpus: a fault case testdata/corpus/<id>--<variant>/ whose
//     expected.yaml says first: <id>, and a look-alike
//     testdata/corpus/lookalike--<id>--<variant>/ that resembles it and
//     must not be reported (testdata/corpus/README.md has the layout);
//     e2e runs them.
//  5. Lab, optionally: a scenario lab/scenarios/<id>.sh that breaks a real
//     cluster that way (lab/README.md).
package rules
