// Package parse holds nothing itself: each subpackage parses one family of
// formats (ipvsadm, iproute, iptables, ...) into the types of package
// evidence.
//
// Conventions every parser keeps:
//   - Parse functions take an evidence.Doc and return typed evidence plus
//     []evidence.Problem. They never panic and never give up on a whole
//     document because of one bad line: the line becomes a Problem naming
//     its source and line, and parsing goes on.
//   - Every fact carries doc.Ref(i, line) so reports can cite it.
//   - Memory stays proportional to what is kept, not to the input: huge
//     inputs (a million IPVS connections) are aggregated while streaming.
//   - Fixtures in testdata/ are output the real tool printed (captured on
//     this machine or in the lab VM); variants of other versions are marked
//     with where their format comes from.
//   - Each parser has a Fuzz target seeded from its testdata.
//
// # What we took from prometheus/procfs
//
// procfs reads /proc and /sys with one typed parser per file, each beside
// the fixtures it is tested on, and each says in its own code which file
// it reads (the path is written next to the parsing, not in a table
// elsewhere); its tests are tables of fixture in, typed value out. We keep
// the same three habits: one package per family of formats with its
// testdata/ beside it; where a block comes from (the command that printed
// it, the file name it is saved under, what its first lines look like)
// declared in the package that reads it, in its format.go; table tests
// from real output to evidence. What procfs does not need and we do: one
// output can reach us under many names (pasted after a prompt, saved by
// hand, collected), so a format also says how to recognise it, and the
// order formats are tried in is kept in one place, internal/intake.
//
// # Adding a format
//
//  1. The parser: a function in the package of its family (or a new
//     package) from evidence.Doc to typed evidence and problems, with
//     fixtures of the real output in testdata/ and a Fuzz target.
//  2. The format: in that package's format.go, a format.Format in
//     Formats() with its name (what the text is: "ip-route"), the commands
//     and file names that print it, a strict Sniff for pasted output, and
//     Apply, which folds the parsed facts into the host (the Host methods
//     of package evidence merge what several formats show) and records the
//     evidence kinds it saw (what the host was seen to have:
//     evidence.KindRoutes) with h.MarkSeen, citing format.BlockRef(doc)
//     when no single fact decides.
//  3. The order: add the package's formats to the list in
//     internal/intake/formats.go, before any format that could also match
//     its commands, file names or content, and to TestDetectionOrder.
//  4. The test: detection (command, file name, content) and Apply on the
//     fixtures; a case in testdata/corpus that uses the format.
package parse
