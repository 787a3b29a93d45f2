package sshexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"golang.org/x/crypto/ssh"
)

// connErr carries what went wrong connecting to one host with the context
// explain needs; jump says it happened on the way, at that jump host.
type connErr struct {
	host inventory.Host
	jump *inventory.Host
	err  error
	auth *auth
}

func (e *connErr) Error() string { return e.err.Error() }
func (e *connErr) Unwrap() error { return e.err }

// connect dials h (through its jump host when it has one), checks its host
// key and logs in. ctx bounds all of it: when it ends, the connection is
// closed under the handshake.
func (r *runner) connect(ctx context.Context, h inventory.Host, st *stage, hops int) (*ssh.Client, error) {
	a, err := r.keys.forHost(h)
	if err != nil {
		return nil, &connErr{host: h, err: err}
	}
	known, err := r.knownFor(h)
	if err != nil {
		return nil, &connErr{host: h, err: err}
	}
	addr := hostPort(h)
	var conn net.Conn
	jh, err := r.jumpOf(h)
	if err != nil {
		return nil, &connErr{host: h, err: err}
	}
	if jh != nil {
		if hops >= inventory.MaxJumpHops {
			return nil, &connErr{host: h, err: fmt.Errorf("more than %d jump hosts in a row; the chain of jump: entries loops or is too long", inventory.MaxJumpHops)}
		}
		st.set("connecting to jump host " + jh.Name)
		jc, err := r.jumps.get(ctx, *jh, hops+1)
		if err != nil {
			return nil, err
		}
		st.set("connecting through jump host " + jh.Name)
		conn, err = jc.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, &connErr{host: h, jump: jh, err: err}
		}
	} else {
		st.set("connecting")
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, &connErr{host: h, err: err}
		}
	}
	st.set("logging in (SSH handshake)")
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	cfg := &ssh.ClientConfig{
		User:              h.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(a.signers...)},
		HostKeyCallback:   known.callback(h.Name, addr, r.hostKeyCheckOf(h)),
		HostKeyAlgorithms: known.algorithms(addr),
		ClientVersion:     "SSH-2.0-lvsdoctor",
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if !stop() {
		// The context ended during the handshake and closed the connection;
		// its error, not the handshake's, says what happened.
		if err == nil {
			c.Close()
		}
		return nil, &connErr{host: h, err: ctx.Err(), auth: a}
	}
	if err != nil {
		conn.Close()
		return nil, &connErr{host: h, err: err, auth: a}
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// jumpOf resolves h's jump host. Load fills JumpHost; hosts built by hand
// may name another host of the run, or an address.
func (r *runner) jumpOf(h inventory.Host) (*inventory.Host, error) {
	if h.JumpHost != nil {
		return h.JumpHost, nil
	}
	if h.Jump == "" || h.Jump == "none" {
		return nil, nil
	}
	if i, ok := r.byName[h.Jump]; ok {
		j := r.hosts[i]
		return &j, nil
	}
	j := inventory.Host{Name: h.Jump, User: h.User, Port: 22, Identity: h.Identity, Timeout: h.Timeout}
	rest := h.Jump
	if u, a, ok := strings.Cut(rest, "@"); ok {
		j.User, rest = u, a
	}
	j.Address = rest
	if host, port, err := net.SplitHostPort(rest); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("jump %q: port %q is not a TCP port", h.Jump, port)
		}
		j.Address, j.Port = host, n
	}
	return &j, nil
}

// jumpPool shares one connection per jump host among all the hosts behind
// it: one login on the bastion instead of one per target, which also keeps
// us under sshd's MaxStartups there.
type jumpPool struct {
	r   *runner
	ctx context.Context // the Run's
	mu  sync.Mutex
	m   map[string]*jumpConn
}

type jumpConn struct {
	ready  chan struct{}
	client *ssh.Client
	err    error
}

func jumpKey(h inventory.Host) string {
	k := h.User + "@" + hostPort(h) + "|" + strings.Join(h.Identity, "|") +
		fmt.Sprintf("|%s|%v|%v|%s", strings.Join(h.KnownHosts, "|"), h.StrictHostKeyChecking, h.IdentitiesOnly, h.ConnectTimeout)
	for j := h.JumpHost; j != nil; j = j.JumpHost {
		k += "<" + j.User + "@" + hostPort(*j)
	}
	return k
}

func (p *jumpPool) get(ctx context.Context, jh inventory.Host, hops int) (*ssh.Client, error) {
	key := jumpKey(jh)
	p.mu.Lock()
	e := p.m[key]
	if e == nil {
		e = &jumpConn{ready: make(chan struct{})}
		p.m[key] = e
		// Its own timeout, not the first target's: a target giving up must
		// not take the shared connection down for the others.
		go func() {
			defer close(e.ready)
			jctx, cancel := context.WithTimeout(p.ctx, connectLimit(jh))
			defer cancel()
			e.client, e.err = p.r.connect(jctx, jh, &stage{}, hops)
		}()
	}
	p.mu.Unlock()
	select {
	case <-e.ready:
		if e.err != nil {
			return nil, &jumpFailed{jump: jh, err: e.err}
		}
		return e.client, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *jumpPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.m {
		go func(e *jumpConn) {
			<-e.ready
			if e.client != nil {
				e.client.Close()
			}
		}(e)
	}
}

// jumpFailed is a target that could not be reached because its jump host
// could not.
type jumpFailed struct {
	jump inventory.Host
	err  error
}

func (e *jumpFailed) Error() string { return e.err.Error() }
func (e *jumpFailed) Unwrap() error { return e.err }

// explain turns a failure into one message that names the host and says
// what to do.
func (r *runner) explain(parent, ctx context.Context, h inventory.Host, st *stage, err error) error {
	w := where(h)
	var jf *jumpFailed
	if errors.As(err, &jf) {
		return fmt.Errorf("%s: not reached: %s", w, jumpMessage(jf))
	}
	if parent.Err() != nil {
		return fmt.Errorf("%s: cancelled while %s (%v)", w, st.get(), context.Cause(parent))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: no answer within %s while %s; abandoned (the other hosts go on): if it is only slow, raise its timeout: in the inventory",
			w, timeoutOf(h), st.get())
	}
	var ce *connErr
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %s", w, describe(ce.host, ce.jump, ce.err, ce.auth))
	}
	var ex *ssh.ExitMissingError
	if errors.As(err, &ex) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: the connection ended before the script reported its exit status (host rebooted, sshd restarted, or the session was killed)", w)
	}
	var oc *ssh.OpenChannelError
	if errors.As(err, &oc) {
		return fmt.Errorf("%s: the server refused a session (%s); raise MaxSessions in its sshd_config if it is at its limit", w, oc.Message)
	}
	return fmt.Errorf("%s: %s: %v", w, st.get(), err)
}

// jumpMessage follows a chain of failed jump hosts to the one that failed
// first.
func jumpMessage(jf *jumpFailed) string {
	msg := fmt.Sprintf("its jump host %s", where(jf.jump))
	var inner *jumpFailed
	if errors.As(jf.err, &inner) {
		return msg + " was not reached either: " + jumpMessage(inner)
	}
	var ce *connErr
	if errors.As(jf.err, &ce) {
		return msg + " failed: " + describe(ce.host, ce.jump, ce.err, ce.auth)
	}
	return msg + " failed: " + jf.err.Error()
}

// describe says what a connection failure means; the caller adds the host.
func describe(h inventory.Host, jump *inventory.Host, err error, a *auth) string {
	var hk *hostKeyError
	if errors.As(err, &hk) {
		// Its message names the host already; keep only what follows.
		_, msg, _ := strings.Cut(hk.msg, ": ")
		return msg
	}
	if jump != nil {
		var oc *ssh.OpenChannelError
		if errors.As(err, &oc) {
			switch oc.Reason {
			case ssh.Prohibited:
				return fmt.Sprintf("jump host %s refused to forward to %s (%s); allow it there (AllowTcpForwarding, PermitOpen in sshd_config)", jump.Name, hostPort(h), oc.Message)
			case ssh.ConnectionFailed:
				return fmt.Sprintf("jump host %s could not connect to %s (%s); is sshd running there, and are address: and port: right as seen from %s?", jump.Name, hostPort(h), oc.Message, jump.Name)
			}
			return fmt.Sprintf("jump host %s could not forward to %s: %s", jump.Name, hostPort(h), oc.Message)
		}
		return fmt.Sprintf("through jump host %s: %v", jump.Name, err)
	}
	var dns *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", connectLimit(h))
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot resolve %s (%v); check its address:", h.Address, dns.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connection refused: nothing listens on port %d; is sshd running there, and is port: right?", portOf(h))
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("no route to it (%v); check its address: and the network path, or give it a jump:", unwrapAll(err))
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset during the SSH handshake (a firewall, or sshd dropping it under MaxStartups?)"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no answer within %s", connectLimit(h))
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "unable to authenticate"):
		if a != nil {
			return a.refusal(h)
		}
		return fmt.Sprintf("login as %s refused", h.User)
	case strings.Contains(s, "no common algorithm for host key"):
		return fmt.Sprintf("it offers none of the host key types known_hosts holds for it, so its keys may have changed: verify them, then run `ssh-keygen -R '%s'` and add the new one (%s)", knownHostsName(h), s)
	case strings.Contains(s, "handshake failed: EOF"):
		return "the server closed the connection during the SSH handshake (sshd refusing us early: MaxStartups, tcp wrappers, a firewall, or no SSH server on that port)"
	case strings.Contains(s, "ssh: handshake failed"):
		return "SSH handshake failed: " + strings.TrimPrefix(s, "ssh: handshake failed: ")
	}
	if strings.HasPrefix(s, "identity file") || strings.HasPrefix(s, "no key to log in") || strings.HasPrefix(s, "jump ") || strings.HasPrefix(s, "more than") ||
		strings.HasPrefix(s, "known hosts file") || strings.HasPrefix(s, "cannot read known hosts") {
		return s
	}
	return "cannot connect: " + s
}

func knownHostsName(h inventory.Host) string {
	if portOf(h) == 22 {
		return h.Address
	}
	return fmt.Sprintf("[%s]:%d", h.Address, portOf(h))
}

func portOf(h inventory.Host) int {
	if h.Port <= 0 {
		return 22
	}
	return h.Port
}

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
