package rules

import "github.com/lvsdoctor/lvsdoctor/internal/evidence"

// seenRef is a citation for "this evidence was collected" (an empty
// table is still evidence).
func seenRef(h *evidence.Host, k evidence.Kind) evidence.Ref {
	refs := h.Seen[k]
	if len(refs) == 0 {
		return evidence.Ref{}
	}
	r := refs[0]
	if r.Host == "" {
		r.Host = h.Name
	}
	if r.Text == "" {
		r.Text = "(" + string(k) + " collected here)"
	}
	return r
}

// tableRef cites d's IPVS table: its header line, else the listing.
func tableRef(d *evidence.Host) evidence.Ref {
	if d.IPVS != nil && !d.IPVS.TableRef.IsZero() {
		return d.IPVS.TableRef
	}
	return seenRef(d, evidence.KindIPVS)
}

// firstRefs returns the refs of up to n frames.
func firstRefs(fs []*evidence.Frame, n int) []evidence.Ref {
	var out []evidence.Ref
	for i, f := range fs {
		if i == n {
			break
		}
		out = append(out, f.Ref)
	}
	return out
}

// wholeListing cites the whole source that showed evidence kind k on h,
// for a fact that is an absence (an interface, a module that is not
// there): no line of it decides, the listing as a whole does. Zero when k
// was not seen.
func wholeListing(h *evidence.Host, k evidence.Kind, what string) evidence.Ref {
	r := seenRef(h, k)
	if r.IsZero() {
		return r
	}
	return evidence.Ref{Host: r.Host, Source: r.Source, Text: "(the whole listing: " + what + ")"}
}
