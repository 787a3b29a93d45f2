package sshexec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// maxKeyFile bounds what is read from an identity file; OpenSSH keys are a
// few KiB even for RSA-16384.
const maxKeyFile = 1 << 20

// keys loads each identity file once per Run, however many hosts name it.
type keys struct {
	agentOn  bool // Options.Agent
	agent    agent.ExtendedAgent
	agentWhy string // why the agent is not used, for messages

	mu     sync.Mutex
	loaded map[string]*keyFile
}

type keyFile struct {
	once      sync.Once
	signer    ssh.Signer
	encrypted bool
	err       error
}

func newKeys(useAgent bool) *keys {
	k := &keys{agentOn: useAgent, loaded: map[string]*keyFile{}}
	if !useAgent {
		return k
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		k.agentWhy = "SSH_AUTH_SOCK is not set"
		return k
	}
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		k.agentWhy = fmt.Sprintf("cannot reach ssh-agent at %s (%v)", sock, err)
		return k
	}
	k.agent = agent.NewClient(conn)
	return k
}

func (k *keys) close() {
	if c, ok := k.agent.(io.Closer); ok {
		c.Close()
	}
}

func (k *keys) file(path string) *keyFile {
	k.mu.Lock()
	f := k.loaded[path]
	if f == nil {
		f = &keyFile{}
		k.loaded[path] = f
	}
	k.mu.Unlock()
	f.once.Do(func() { f.signer, f.encrypted, f.err = loadKey(path) })
	return f
}

func loadKey(path string) (ssh.Signer, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("identity file %s does not exist", tilde(path))
		}
		return nil, false, fmt.Errorf("cannot read identity file %s: %v", tilde(path), err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, false, fmt.Errorf("cannot read identity file %s: %v", tilde(path), err)
	}
	if len(data) > maxKeyFile {
		return nil, false, fmt.Errorf("identity file %s is larger than 1 MiB; it is not a private key", tilde(path))
	}
	s, err := ssh.ParsePrivateKey(data)
	if err == nil {
		return s, false, nil
	}
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) {
		return nil, true, fmt.Errorf("identity file %s is protected by a passphrase, which lvsdoctor does not ask for: load it into ssh-agent (`ssh-add %s`) and use the agent", tilde(path), tilde(path))
	}
	if strings.HasPrefix(strings.TrimSpace(string(data)), "ssh-") || strings.HasSuffix(path, ".pub") {
		return nil, false, fmt.Errorf("identity file %s holds a public key; name the private key (the file without .pub)", tilde(path))
	}
	return nil, false, fmt.Errorf("identity file %s is not a private key lvsdoctor can read (%v)", tilde(path), err)
}

// auth is what one connection logs in with, and what to say if the server
// accepts none of it.
type auth struct {
	signers []ssh.Signer
	offered []string // for the refusal message
	skipped []string // passphrase-protected files left to the agent
}

// forHost gathers the keys for h: its identity files (or the OpenSSH default
// ones when it names none) and the agent's. All go in one publickey method
// because the ssh client tries each method name only once.
func (k *keys) forHost(h inventory.Host) (*auth, error) {
	a := &auth{}
	explicit := len(h.Identity) > 0
	files := h.Identity
	if !explicit {
		files = defaultIdentities()
	}
	for _, p := range files {
		f := k.file(p)
		switch {
		case f.err == nil:
			a.signers = append(a.signers, f.signer)
			a.offered = append(a.offered, tilde(p))
		case f.encrypted && k.agent != nil:
			// The agent may well hold it; say so only if login fails.
			a.skipped = append(a.skipped, tilde(p))
		case !explicit && !f.encrypted:
			// A default key file that is absent is the common case.
		case f.encrypted && !explicit:
			a.skipped = append(a.skipped, tilde(p))
		default:
			return nil, f.err
		}
	}
	if k.agent != nil {
		if ss, err := k.agent.Signers(); err == nil {
			if h.IdentitiesOnly {
				ss = onlyIdentities(ss, files, k)
			}
			a.signers = append(a.signers, ss...)
			if len(ss) > 0 {
				a.offered = append(a.offered, fmt.Sprintf("%d key(s) from ssh-agent", len(ss)))
			}
		}
	}
	if len(a.signers) == 0 {
		var why []string
		if explicit {
			why = append(why, "its identity files are all passphrase-protected ("+strings.Join(a.skipped, ", ")+")")
		} else {
			why = append(why, "it names no identity: and ~/.ssh holds no usable id_ed25519, id_ecdsa or id_rsa")
			if len(a.skipped) > 0 {
				why[0] += " (" + strings.Join(a.skipped, ", ") + " need a passphrase)"
			}
		}
		switch {
		case k.agent != nil:
			why = append(why, "ssh-agent holds no key")
		case k.agentOn:
			why = append(why, "ssh-agent is not usable: "+k.agentWhy)
		default:
			why = append(why, "the agent is not in use")
		}
		return nil, fmt.Errorf("no key to log in with: %s; set identity: in the inventory or load a key into ssh-agent", strings.Join(why, "; "))
	}
	return a, nil
}

// onlyIdentities keeps the agent's keys that are one of files' (their
// private key, or the .pub beside a passphrase-protected one), as ssh does
// for IdentitiesOnly.
func onlyIdentities(agentKeys []ssh.Signer, files []string, k *keys) []ssh.Signer {
	want := map[string]bool{}
	for _, p := range files {
		if f := k.file(p); f.signer != nil {
			want[string(f.signer.PublicKey().Marshal())] = true
			continue
		}
		if pub, ok := readPublicKey(p + ".pub"); ok {
			want[string(pub.Marshal())] = true
		}
	}
	var out []ssh.Signer
	for _, s := range agentKeys {
		if want[string(s.PublicKey().Marshal())] {
			out = append(out, s)
		}
	}
	return out
}

func readPublicKey(path string) (ssh.PublicKey, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, false
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	return pub, err == nil
}

func defaultIdentities() []string {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		out = append(out, filepath.Join(home, ".ssh", n))
	}
	return out
}

func (a *auth) refusal(h inventory.Host) string {
	home := "~" + h.User
	if h.User == "root" {
		home = "/root"
	}
	msg := fmt.Sprintf("login as %s refused: the server accepted none of the keys offered (%s); add the matching public key to %s/.ssh/authorized_keys on %s, or set the right identity: or user: in the inventory",
		h.User, strings.Join(a.offered, ", "), home, h.Name)
	if len(a.skipped) > 0 {
		msg += fmt.Sprintf("; %s skipped for their passphrase (`ssh-add` them)", strings.Join(a.skipped, ", "))
	}
	return msg
}
