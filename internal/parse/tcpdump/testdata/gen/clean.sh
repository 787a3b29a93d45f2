for n in sw a b c; do ip netns del lvsd-sys-$n 2>/dev/null; done; true
