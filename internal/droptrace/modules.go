package droptrace

import (
	"bytes"
	"os"

	"golang.org/x/sys/unix"
)

// moduleReady reports whether using what module mod provides cannot make
// the kernel load it: the kernel has no module support, or mod is loaded,
// or built in. Opening a NETLINK_NETFILTER socket or asking nfnetlink for
// nf_tables autoloads modules; droptrace must leave the host's module set
// as it found it. /sys/module/NAME exists for every loaded module but not
// for every built-in one, hence modules.builtin.
func moduleReady(mod string) bool {
	if _, err := os.Stat("/proc/modules"); os.IsNotExist(err) {
		return true
	}
	if _, err := os.Stat("/sys/module/" + mod); err == nil {
		return true
	}
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	b, _ := os.ReadFile("/lib/modules/" + unix.ByteSliceToString(u.Release[:]) + "/modules.builtin")
	return bytes.Contains(b, []byte("/"+mod+".ko"))
}

// moduleLoaded reports whether mod is present now (loaded or built in),
// for probes that attach to its functions.
func moduleLoaded(mod string) bool {
	_, err := os.Stat("/sys/module/" + mod)
	return err == nil
}
