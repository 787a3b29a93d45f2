package sshexec

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyPolicy says what to do with a host key known_hosts does not hold.
type HostKeyPolicy int

const (
	// Strict refuses unknown and changed host keys.
	Strict HostKeyPolicy = iota
	// AcceptNew records an unknown key in the first known_hosts file and
	// goes on, as OpenSSH's StrictHostKeyChecking=accept-new; a changed key
	// is still refused.
	AcceptNew
)

// hostKeyError is a refused host key; its message is the whole story for
// the user, host included.
type hostKeyError struct{ msg string }

func (e *hostKeyError) Error() string { return e.msg }

// hostKeyCheck is how one host's key is checked.
type hostKeyCheck struct {
	policy HostKeyPolicy
	// hash records new keys under a hashed host name (HashKnownHosts).
	hash bool
	// sshNo says the ssh configuration set StrictHostKeyChecking no, which
	// in ssh lets a changed key through and here does not.
	sshNo bool
}

// knownHosts checks host keys against the files read once in a Run (when
// the first host that names them is visited) and remembers the keys it
// accepted during it, so hosts that share an address (or are visited
// twice) append one line, not one each.
type knownHosts struct {
	files   []string // as given, for messages
	check   ssh.HostKeyCallback
	writeTo string

	mu       sync.Mutex
	accepted map[string]ssh.PublicKey
	probe    ssh.PublicKey
}

func defaultKnownHosts() []string {
	var files []string
	if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".ssh", "known_hosts"))
	}
	return append(files, "/etc/ssh/ssh_known_hosts")
}

func newKnownHosts(files []string) (*knownHosts, error) {
	if len(files) == 0 {
		files = defaultKnownHosts()
	}
	k := &knownHosts{files: files, accepted: map[string]ssh.PublicKey{}}
	k.writeTo = files[0]
	var existing []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("known hosts file %s: %w", tilde(f), err)
		}
	}
	cb, err := knownhosts.New(existing...)
	if err != nil {
		return nil, fmt.Errorf("cannot read known hosts (%v); fix or remove the line it names", err)
	}
	k.check = cb
	// A throw-away key asks the database which keys it holds for a host
	// without matching any of them.
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	if k.probe, err = ssh.NewPublicKey(pub); err != nil {
		return nil, err
	}
	return k, nil
}

// algorithms lists the host key algorithms to offer a host so the server
// picks a key type known_hosts holds; without it a server whose preferred
// type is not the one recorded would look like a changed key.
func (k *knownHosts) algorithms(addr string) []string {
	var types []string
	err := k.check(addr, zeroAddr, k.probe)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		for _, w := range ke.Want {
			types = append(types, w.Key.Type())
		}
	}
	k.mu.Lock()
	if key, ok := k.accepted[knownhosts.Normalize(addr)]; ok {
		types = append(types, key.Type())
	}
	k.mu.Unlock()
	var algos []string
	seen := map[string]bool{}
	for _, t := range types {
		for _, a := range algorithmsForKeyType(t) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

func algorithmsForKeyType(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}

var zeroAddr = &net.TCPAddr{IP: net.IPv4zero}

// callback checks one connection's host key; name is the host as the
// inventory calls it, addr the host:port dialled.
func (k *knownHosts) callback(name, addr string, hc hostKeyCheck) ssh.HostKeyCallback {
	return func(_ string, remote net.Addr, key ssh.PublicKey) error {
		where := fmt.Sprintf("%s (%s)", name, addr)
		err := k.check(addr, remote, key)
		if err == nil {
			return nil
		}
		var revoked *knownhosts.RevokedError
		if errors.As(err, &revoked) {
			return &hostKeyError{fmt.Sprintf("%s: host key %s is marked @revoked in %s:%d; refusing it: find out why it was revoked before adding a new key",
				where, fingerprint(key), tilde(revoked.Revoked.Filename), revoked.Revoked.Line)}
		}
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) {
			return &hostKeyError{fmt.Sprintf("%s: cannot check the host key: %v", where, err)}
		}
		if len(ke.Want) > 0 {
			msg := changedMessage(where, addr, key, ke.Want)
			if hc.sshNo {
				msg += "; StrictHostKeyChecking no in the ssh configuration does not make lvsdoctor accept a changed key"
			}
			return &hostKeyError{msg}
		}
		norm := knownhosts.Normalize(addr)
		k.mu.Lock()
		defer k.mu.Unlock()
		if prev, ok := k.accepted[norm]; ok {
			if string(prev.Marshal()) == string(key.Marshal()) {
				return nil
			}
			return &hostKeyError{fmt.Sprintf("%s: HOST KEY CHANGED during this run: it offered %s but %s was just accepted for the same address; two different hosts answer at %s, refusing both until you check",
				where, fingerprint(key), fingerprint(prev), addr)}
		}
		if hc.policy != AcceptNew {
			return &hostKeyError{fmt.Sprintf("%s: host key is not in %s (it offered %s); verify it and add it with `ssh-keyscan %s >> %s`, or pass --accept-new-host-keys (or set StrictHostKeyChecking accept-new for it in the ssh configuration)",
				where, k.fileList(), fingerprint(key), keyscanArgs(addr), tilde(k.writeTo))}
		}
		recorded := norm
		if hc.hash {
			recorded = knownhosts.HashHostname(norm)
		}
		if err := appendKnownHost(k.writeTo, recorded, key); err != nil {
			return &hostKeyError{fmt.Sprintf("%s: cannot record its new host key in %s: %v", where, tilde(k.writeTo), err)}
		}
		k.accepted[norm] = key
		return nil
	}
}

func changedMessage(where, addr string, key ssh.PublicKey, want []knownhosts.KnownKey) string {
	var known []string
	for i, w := range want {
		if i == 3 {
			known = append(known, fmt.Sprintf("and %d more", len(want)-i))
			break
		}
		known = append(known, fmt.Sprintf("%s (%s:%d)", fingerprint(w.Key), tilde(w.Filename), w.Line))
	}
	return fmt.Sprintf("%s: HOST KEY CHANGED: it offered %s but known_hosts holds %s; someone may be intercepting the connection, or the host was reinstalled: verify the new key out of band, then run `ssh-keygen -R '%s'` and add the new one (--accept-new-host-keys does not override a changed key)",
		where, fingerprint(key), strings.Join(known, ", "), knownhosts.Normalize(addr))
}

func appendKnownHost(file, norm string, key ssh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	// A file whose last line lacks its newline would glue ours onto it.
	prefix := ""
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if r, err := os.Open(file); err == nil {
			if _, err := r.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
				prefix = "\n"
			}
			r.Close()
		}
	}
	_, err = fmt.Fprintf(f, "%s%s\n", prefix, knownhosts.Line([]string{norm}, key))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (k *knownHosts) fileList() string {
	var s []string
	for _, f := range k.files {
		s = append(s, tilde(f))
	}
	return strings.Join(s, " or ")
}

func keyscanArgs(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if port == "22" {
		return host
	}
	return "-p " + port + " " + host
}

func fingerprint(k ssh.PublicKey) string {
	t := strings.ToUpper(strings.TrimPrefix(k.Type(), "ssh-"))
	if strings.HasPrefix(k.Type(), "ecdsa") {
		t = "ECDSA"
	}
	return t + " " + ssh.FingerprintSHA256(k)
}

// tilde shortens a path under the home folder the way users write it.
func tilde(p string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" || home == "/" {
		return p
	}
	if rel, ok := strings.CutPrefix(p, home+string(filepath.Separator)); ok {
		return "~/" + rel
	}
	return p
}
