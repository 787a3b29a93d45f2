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
package parse
