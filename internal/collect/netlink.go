package collect

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/lvsdoctor/lvsdoctor/internal/collect/ipvsnl"
	"github.com/lvsdoctor/lvsdoctor/internal/collect/nltext"
)

// In-process readers of the network state: netlink dumps rendered as ip
// and ss print them (nltext), so the files read like an engineer's paste
// and the parsers tested on the real tools' output read them.
var (
	netlinkAddr      = func(context.Context) ([]byte, error) { return nltext.Addr() }
	netlinkLink      = func(context.Context) ([]byte, error) { return nltext.Link() }
	netlinkRoute4    = func(context.Context) ([]byte, error) { return nltext.Route(unix.AF_INET, "all") }
	netlinkRoute6    = func(context.Context) ([]byte, error) { return nltext.Route(unix.AF_INET6, "all") }
	netlinkRule4     = func(context.Context) ([]byte, error) { return nltext.Rule(unix.AF_INET) }
	netlinkRule6     = func(context.Context) ([]byte, error) { return nltext.Rule(unix.AF_INET6) }
	netlinkNeigh     = func(context.Context) ([]byte, error) { return nltext.Neigh() }
	netlinkListeners = func(context.Context) ([]byte, error) { return nltext.Listeners() }
)

// IPVS from generic netlink, as ipvsadm prints it. The items' guard
// (/proc/net/ip_vs exists) is checked again inside: asking genetlink for
// IPVS before ip_vs is loaded would load it. No "$ ipvsadm" header: no
// command ran (Item.Header applies to command runs only).
var (
	ipvsList    = func(ctx context.Context) ([]byte, error) { return ipvsnl.Show(ctx, ipvsnl.FormatList) }
	ipvsStats   = func(ctx context.Context) ([]byte, error) { return ipvsnl.Show(ctx, ipvsnl.FormatStats) }
	ipvsRate    = func(ctx context.Context) ([]byte, error) { return ipvsnl.Show(ctx, ipvsnl.FormatRate) }
	ipvsTimeout = func(ctx context.Context) ([]byte, error) { return ipvsnl.Show(ctx, ipvsnl.FormatTimeout) }
)
