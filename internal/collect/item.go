// Package collect gathers one host's evidence, read-only, into a host
// folder that `lvsdoctor diagnose` reads and a person can read too: on the
// host lvsdoctor runs on (netlink, procfs, sysfs, the config files, and the
// few commands that have no kernel interface worth reimplementing, such as
// iptables-save), and on remote hosts through a POSIX sh script built from
// the same item table (see Script), so both ways write the same files.
//
// Read-only is the first rule: nothing here writes a sysctl, rule, address
// or route, and nothing asks the kernel for something that would load a
// module. That last one is subtle: listing nftables, asking ctnetlink or
// sock_diag, or resolving the IPVS genetlink family all make the kernel
// call request_module when the module is absent. Every such item is
// guarded by a Guard that holds only when the module is already there.
package collect

import (
	"bytes"
	"context"
	"time"
)

// An Item is one file of the host folder and the ways to obtain it.
type Item struct {
	// File is the name in the host folder; the name tells diagnose what
	// the file holds (ip-d-addr.txt, sysctl-a.txt, ...).
	File string
	// Doc says what the item holds, for `collect --list` and the manifest.
	Doc string
	// Guard, when set, must hold for the item to be collected at all.
	Guard Guard
	// Go obtains the item in-process on the local host. When nil, the
	// local collector runs Cmd (or reads Path) like the remote script does.
	Go func(ctx context.Context) ([]byte, error)
	// GoUnguarded: the Go reader keeps itself read-only (nltext.Listeners
	// reads /proc/net/tcp when sock_diag would load a module), so the
	// guard applies to the command only.
	GoUnguarded bool
	// RemoteOnly items stand in, on remote hosts, for what the Go reader
	// does locally (netstat where ss would load sock_diag).
	RemoteOnly bool
	// Path is a file to copy (procfs, sysfs, /etc).
	Path string
	// Cmd is the command, argv form; the remote script quotes it.
	Cmd []string
	// Optional items are skipped quietly when their command is missing
	// (grubby on Debian, virsh off a hypervisor); the rest are noted.
	Optional bool
	// Limit bounds the file (0: DefaultLimit): /proc/net/ip_vs_conn of a
	// busy director is a gigabyte.
	Limit int64
	// Header names the command on the file's first line ("$ iptables-save
	// -c"), as an engineer's paste would, for items that ran a command.
	Header bool
	// Shows is the command the header names when Cmd is a wrapper (sh -c
	// "keepalived -v 2>&1": keepalived prints its version on stderr).
	Shows string
}

// DefaultLimit bounds one collected file. Diagnose reads at most 1 GiB of
// a file; the connection table is the only item that comes near.
const DefaultLimit = 256 << 20

func (it Item) limit() int64 {
	if it.Limit > 0 {
		return it.Limit
	}
	return DefaultLimit
}

// File is one collected file, or the reason it is not there.
type File struct {
	Name string
	Data []byte
	// How says where the data came from: "netlink", "procfs", the command.
	How     string
	Elapsed time.Duration
	// Skipped says why the item was not collected (guard, missing tool),
	// Err what went wrong collecting it. Data may still hold a part.
	Skipped   string
	Err       string
	Truncated bool
	Redacted  int // number of secrets replaced
}

// settle drops what a failed command left: the "$ command" header alone
// would read as "ran, printed nothing" (iptables-save with no rules) when
// the truth is "could not run" (no root), which the manifest says.
func (f *File) settle() {
	if f.Err == "" || len(f.Data) == 0 {
		return
	}
	if f.Data[0] == '$' {
		if i := bytes.IndexByte(f.Data, '\n'); i < 0 || len(bytes.TrimSpace(f.Data[i+1:])) == 0 {
			f.Data = nil
		}
	}
}

// header is the "$ command" first line of the item's file.
func (it Item) header() string {
	if it.Shows != "" {
		return it.Shows
	}
	return shJoin(it.Cmd)
}
