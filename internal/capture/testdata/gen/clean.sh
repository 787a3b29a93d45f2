#!/bin/bash
for n in sw a b c; do ip netns del lvsd-cap-$n 2>/dev/null; done; true
