package collect

import "context"

// In-process readers of the network state (netlink dumps rendered as ip
// and ss print them). Nil until wired: the item's command is used then.
var (
	netlinkAddr, netlinkLink, netlinkRoute4, netlinkRoute6     func(context.Context) ([]byte, error)
	netlinkRule4, netlinkRule6, netlinkNeigh, netlinkListeners func(context.Context) ([]byte, error)
)
