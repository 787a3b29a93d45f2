package collect

import (
	"context"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"github.com/lvsdoctor/lvsdoctor/internal/sshexec"
)

// Remote collects every host of an inventory over SSH with the script of
// Items: the commands the hosts already have, nothing installed, nothing
// copied. A host that fails is a Bundle with Err; the others are still
// collected. Bundles come back in inventory order.
func Remote(ctx context.Context, hosts []inventory.Host, opt sshexec.Options) []*Bundle {
	nonce := NewNonce()
	script := Script(Items(), nonce)
	results := sshexec.Run(ctx, hosts, script, opt)
	out := make([]*Bundle, len(results))
	for i, r := range results {
		b := &Bundle{Host: r.Host.Name, Role: r.Host.Role, Elapsed: r.Elapsed}
		b.Files = Split(r.Stdout, nonce)
		for j := range b.Files {
			b.Files[j].settle()
			b.Files[j].Data, b.Files[j].Redacted = Redact(b.Files[j].Data)
		}
		if r.Err != nil && len(b.Files) == 0 {
			b.Err = r.Err.Error()
		}
		out[i] = b
	}
	return out
}
