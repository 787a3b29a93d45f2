// Command tracegen writes a synthetic director capture (see package
// tracegen) for bench/trace.sh.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lvsdoctor/lvsdoctor/internal/trace/tracegen"
)

func main() {
	out := flag.String("o", "", "output pcap file")
	mb := flag.Int64("mb", 0, "size in MiB")
	packets := flag.Int("packets", 0, "number of packets")
	flows := flag.Int("vip-flows", 100, "client connections to the VIP")
	mode := flag.String("mode", "dr", "forwarding: dr, tun, nat")
	flag.Parse()
	if *out == "" || *mb <= 0 && *packets <= 0 {
		fmt.Fprintln(os.Stderr, "usage: tracegen -o FILE (-mb N | -packets N) [-vip-flows N] [-mode dr|tun|nat]")
		os.Exit(2)
	}
	st, err := tracegen.WriteFile(*out, tracegen.Config{Bytes: *mb << 20, Packets: *packets, VIPFlows: *flows, Mode: *mode, Seed: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracegen:", err)
		os.Exit(1)
	}
	fmt.Printf("packets=%d bytes=%d vip_packets=%d vip_flows=%d vip=%s\n", st.Packets, st.Bytes, st.VIPPackets, st.VIPFlows, tracegen.VIP)
}
