package droptrace

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns add` bind-mounts named namespaces.
const netnsDir = "/var/run/netns"

// netnsPath turns an `ip netns` name into its file; paths pass through.
func netnsPath(name string) (string, error) {
	if strings.ContainsRune(name, '/') {
		return name, nil
	}
	if name == "" || name == "." || name == ".." {
		return "", fmt.Errorf("bad netns name %q", name)
	}
	return filepath.Join(netnsDir, name), nil
}

// netnsInode is the inode the kernel reports as net->ns.inum.
func netnsInode(name string) (uint32, error) {
	p, err := netnsPath(name)
	if err != nil {
		return 0, err
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return 0, fmt.Errorf("netns %s: %w", name, err)
	}
	return uint32(st.Ino), nil
}

// netnsNames maps namespace inodes to `ip netns` names. Namespaces come and
// go while tracing, so an unknown inode rereads the directory, at most once
// a second.
type netnsNames struct {
	mu     sync.Mutex
	names  map[uint32]string
	loaded time.Time
}

func newNetnsNames() *netnsNames {
	n := &netnsNames{}
	n.load()
	return n
}

func (n *netnsNames) load() {
	names := map[uint32]string{}
	ents, _ := os.ReadDir(netnsDir)
	for _, e := range ents {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(netnsDir, e.Name()), &st) == nil {
			names[uint32(st.Ino)] = e.Name()
		}
	}
	n.names = names
	n.loaded = time.Now()
}

// name returns the `ip netns` name of inode ino, "" if it has none.
func (n *netnsNames) name(ino uint32) string {
	if ino == 0 {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	name, ok := n.names[ino]
	if !ok && time.Since(n.loaded) > time.Second {
		n.load()
		name = n.names[ino]
	}
	return name
}

// inNetns runs fn on an OS thread switched into the named namespace ("":
// the current one). Files under /proc/thread-self/net and sockets opened by
// fn belong to that namespace.
func inNetns(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	p, err := netnsPath(name)
	if err != nil {
		return err
	}
	target, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", p, err)
	}
	defer unix.Close(target)

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return // still locked: the runtime discards the thread
		}
		defer unix.Close(orig)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// A thread stuck in a foreign namespace must not run other
			// goroutines: exiting locked makes the runtime kill it.
			errc <- fmt.Errorf("leave netns %s: %w", name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// openNetns opens a namespace file for APIs that take an fd (netlink).
func openNetns(name string) (int, error) {
	p, err := netnsPath(name)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open netns %s: %w", p, err)
	}
	return fd, nil
}
