// Package sshexec runs one POSIX sh script on many hosts over SSH and
// gathers what each printed: the transport of remote collection.
//
// Every host is visited on its own: a host that refuses us, cannot be
// reached, or hangs costs only its own result and its own timeout.
package sshexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvsdoctor/lvsdoctor/internal/inventory"
	"golang.org/x/crypto/ssh"
)

// Defaults for the zero Options.
const (
	DefaultConcurrency = 16
	DefaultMaxOutput   = 256 << 20
	defaultTimeout     = 30 * time.Second
	// maxStderr bounds what is kept of a host's stderr; beyond it the rest is
	// dropped silently, since stderr is only read for messages.
	maxStderr = 1 << 20
)

// Options tune a Run; the zero value is Strict host keys, no agent,
// DefaultConcurrency hosts at once and DefaultMaxOutput per host.
type Options struct {
	// KnownHosts are the known_hosts files; default ~/.ssh/known_hosts and
	// /etc/ssh/ssh_known_hosts. AcceptNew appends to the first. When set,
	// they are used for every host, instead of the ones a Host names.
	KnownHosts []string
	// HostKeys AcceptNew accepts new keys for every host; Strict leaves
	// each host's StrictHostKeyChecking to decide, strict when unset.
	HostKeys HostKeyPolicy
	// Agent uses the ssh-agent at SSH_AUTH_SOCK, when set, besides the
	// identity files.
	Agent       bool
	Concurrency int
	// MaxOutput caps each host's stdout; a host passing it has its script
	// stopped, keeps the first MaxOutput bytes (a Job's Stdout reads them,
	// then ErrOutputCap) and gets an error.
	MaxOutput int64
	// Progress, if set, is called when a host starts and when it ends; calls
	// never overlap, so it may write a terminal line without locking.
	Progress func(Event)
}

// EventKind tells a host's start from its end.
type EventKind int

const (
	HostStarted EventKind = iota
	HostDone
)

// Event reports progress for one host.
type Event struct {
	Kind  EventKind
	Index int // the host's place in the list given to Run
	Host  inventory.Host
	// Result is set for HostDone.
	Result *Result
	// Running and Done count hosts at the time of the event, of Total.
	Running, Done, Total int
}

// Result is what one host gave back.
type Result struct {
	Host   inventory.Host
	Stdout []byte
	Stderr []byte
	// ExitStatus is the script's exit status, or -1 when it did not run to
	// its end.
	ExitStatus int
	// Err says, naming the host and what to do, why the script could not run
	// or complete. A script that ran and exited non-zero is not an error.
	Err     error
	Elapsed time.Duration
}

// A Job is what one host runs, and who reads what it prints.
type Job struct {
	Script string
	// Stdout, when set, reads the host's stdout as it arrives, and
	// Result.Stdout stays empty: a host's output need not fit in memory.
	// Past Options.MaxOutput, r returns ErrOutputCap. When Stdout returns
	// nil, the rest of the output is discarded and the script runs to its
	// end; an error stops the script and fails the host with it (the
	// error says what went wrong; Result.Err adds which host).
	Stdout func(r io.Reader) error
	// Done, when set, is called with the host's result as soon as the host
	// ends, before Options.Progress hears of it, in the host's goroutine.
	Done func(*Result)
}

// ErrOutputCap is what a Job's Stdout reads past Options.MaxOutput.
var ErrOutputCap = errors.New("output cap reached")

// Run runs script with `sh -s` (`sudo -n sh -s` for Sudo hosts) on every
// host and returns one Result per host, in the order given.
func Run(ctx context.Context, hosts []inventory.Host, script string, opt Options) []Result {
	return RunJobs(ctx, hosts, func(int, inventory.Host) Job { return Job{Script: script} }, opt)
}

// RunJobs is Run with a Job of its own for each host, which job makes just
// before the host is visited (not at all for a host never started).
func RunJobs(ctx context.Context, hosts []inventory.Host, job func(i int, h inventory.Host) Job, opt Options) []Result {
	if opt.Concurrency <= 0 {
		opt.Concurrency = DefaultConcurrency
	}
	if opt.MaxOutput <= 0 {
		opt.MaxOutput = DefaultMaxOutput
	}
	results := make([]Result, len(hosts))
	for i, h := range hosts {
		results[i] = Result{Host: h, ExitStatus: -1}
	}
	if len(hosts) == 0 {
		return results
	}
	r := &runner{opt: opt, total: len(hosts), hosts: hosts, byName: make(map[string]int, len(hosts))}
	for i, h := range hosts {
		if _, dup := r.byName[h.Name]; !dup {
			r.byName[h.Name] = i
		}
	}
	kh, err := newKnownHosts(opt.KnownHosts)
	if err != nil {
		for i := range results {
			results[i].Err = fmt.Errorf("%s: %v", where(hosts[i]), err)
		}
		return results
	}
	r.known = kh
	r.knownBy = map[string]*knownHosts{}
	r.keys = newKeys(opt.Agent)
	defer r.keys.close()
	r.jumps = &jumpPool{r: r, ctx: ctx, m: map[string]*jumpConn{}}
	defer r.jumps.close()

	sem := make(chan struct{}, opt.Concurrency)
	var wg sync.WaitGroup
	for i := range hosts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			for j := i; j < len(hosts); j++ {
				results[j].Err = fmt.Errorf("%s: not started: %v", where(hosts[j]), context.Cause(ctx))
			}
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			r.event(HostStarted, i, nil)
			j := job(i, hosts[i])
			results[i] = r.runOne(ctx, hosts[i], j)
			if j.Done != nil {
				j.Done(&results[i])
			}
			r.event(HostDone, i, &results[i])
		}(i)
	}
	wg.Wait()
	return results
}

type runner struct {
	opt    Options
	hosts  []inventory.Host
	byName map[string]int // the first host of each name, for jump: names
	known  *knownHosts    // Options.KnownHosts, or the default files
	// knownBy holds the known_hosts files hosts name (from the ssh
	// configuration), by their list.
	knownMu sync.Mutex
	knownBy map[string]*knownHosts
	keys    *keys
	jumps   *jumpPool

	evMu          sync.Mutex
	running, done int
	total         int
}

func (r *runner) event(kind EventKind, i int, res *Result) {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	if kind == HostStarted {
		r.running++
	} else {
		r.running--
		r.done++
	}
	if r.opt.Progress != nil {
		r.opt.Progress(Event{Kind: kind, Index: i, Host: r.hosts[i], Result: res, Running: r.running, Done: r.done, Total: r.total})
	}
}

func where(h inventory.Host) string {
	return fmt.Sprintf("%s (%s)", h.Name, hostPort(h))
}

func hostPort(h inventory.Host) string {
	p := h.Port
	if p <= 0 {
		p = 22
	}
	return net.JoinHostPort(h.Address, strconv.Itoa(p))
}

func timeoutOf(h inventory.Host) time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return defaultTimeout
}

// connectLimit bounds reaching h and logging in.
func connectLimit(h inventory.Host) time.Duration {
	if h.ConnectTimeout > 0 && h.ConnectTimeout < timeoutOf(h) {
		return h.ConnectTimeout
	}
	return timeoutOf(h)
}

// knownFor is the known_hosts database h's key is checked against.
func (r *runner) knownFor(h inventory.Host) (*knownHosts, error) {
	if len(r.opt.KnownHosts) > 0 || len(h.KnownHosts) == 0 {
		return r.known, nil
	}
	key := strings.Join(h.KnownHosts, "\x00")
	r.knownMu.Lock()
	defer r.knownMu.Unlock()
	if k := r.knownBy[key]; k != nil {
		return k, nil
	}
	k, err := newKnownHosts(h.KnownHosts)
	if err != nil {
		return nil, err
	}
	r.knownBy[key] = k
	return k, nil
}

// hostKeyCheckOf is how h's key is checked: --accept-new-host-keys for
// all, else its StrictHostKeyChecking, else strictly.
func (r *runner) hostKeyCheckOf(h inventory.Host) hostKeyCheck {
	hc := hostKeyCheck{policy: r.opt.HostKeys, hash: h.HashKnownHosts, sshNo: h.StrictHostKeyChecking == "no"}
	if h.StrictHostKeyChecking == "accept-new" || h.StrictHostKeyChecking == "no" {
		hc.policy = AcceptNew
	}
	return hc
}

// stage names what a host was doing, for the message when its time runs out.
type stage struct{ v atomic.Value }

func (s *stage) set(what string) { s.v.Store(what) }
func (s *stage) get() string {
	if v, ok := s.v.Load().(string); ok {
		return v
	}
	return "starting"
}

func (r *runner) runOne(parent context.Context, h inventory.Host, job Job) (res Result) {
	start := time.Now()
	res = Result{Host: h, ExitStatus: -1}
	defer func() { res.Elapsed = time.Since(start) }()
	ctx, cancel := context.WithTimeout(parent, timeoutOf(h))
	defer cancel()
	st := &stage{}

	// ConnectTimeout (ssh configuration) bounds the way in only.
	cctx, ccancel := ctx, context.CancelFunc(func() {})
	if h.ConnectTimeout > 0 && h.ConnectTimeout < timeoutOf(h) {
		cctx, ccancel = context.WithTimeout(ctx, h.ConnectTimeout)
	}
	client, err := r.connect(cctx, h, st, 0)
	connectTimedOut := cctx.Err() != nil && ctx.Err() == nil
	ccancel()
	if err != nil {
		if connectTimedOut {
			res.Err = fmt.Errorf("%s: no answer within %s (its ConnectTimeout in the ssh configuration) while %s; abandoned (the other hosts go on)", where(h), h.ConnectTimeout, st.get())
			return res
		}
		res.Err = r.explain(parent, ctx, h, st, err)
		return res
	}
	defer client.Close()
	// Past the handshake, only closing the connection stops a script that
	// hangs; this covers the run and any wait on the session.
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()

	st.set("opening a session")
	sess, err := client.NewSession()
	if err != nil {
		res.Err = r.explain(parent, ctx, h, st, err)
		return res
	}
	defer sess.Close()
	var overflowed atomic.Bool
	stderr := &capped{max: maxStderr}
	sess.Stdin = strings.NewReader(job.Script)
	sess.Stderr = stderr
	var stdout *capped
	var pipe *capReader
	if job.Stdout == nil {
		stdout = &capped{max: r.opt.MaxOutput, over: func() {
			overflowed.Store(true)
			client.Close()
		}}
		sess.Stdout = stdout
	} else {
		p, err := sess.StdoutPipe()
		if err != nil {
			res.Err = r.explain(parent, ctx, h, st, err)
			return res
		}
		pipe = &capReader{r: p, left: r.opt.MaxOutput}
	}
	cmd := "sh -s"
	if h.Sudo {
		cmd = "sudo -n sh -s"
	}
	st.set("running the script")
	var readErr error
	if err = sess.Start(cmd); err == nil {
		if pipe != nil {
			readErr = job.Stdout(pipe)
			if readErr == nil && !pipe.over {
				_, _ = io.Copy(io.Discard, pipe)
			}
			if readErr != nil || pipe.over {
				overflowed.Store(pipe.over)
				client.Close()
			}
		}
		err = sess.Wait()
	}
	if stdout != nil {
		res.Stdout = stdout.buf
	}
	res.Stderr = stderr.buf
	if overflowed.Load() {
		res.Err = fmt.Errorf("%s: the script printed more than %s; kept the first %s and stopped it: collect less there, or raise the output cap",
			where(h), size(r.opt.MaxOutput), size(r.opt.MaxOutput))
		return res
	}
	if ctx.Err() != nil {
		res.Err = r.explain(parent, ctx, h, st, ctx.Err())
		return res
	}
	if readErr != nil {
		res.Err = fmt.Errorf("%s: %v", where(h), readErr)
		return res
	}
	var exit *ssh.ExitError
	switch {
	case err == nil:
		res.ExitStatus = 0
	case errors.As(err, &exit):
		if exit.Signal() != "" {
			res.Err = fmt.Errorf("%s: the script was killed by signal %s on the host (%s)", where(h), exit.Signal(), strings.TrimSpace(exit.Msg()))
			return res
		}
		res.ExitStatus = exit.ExitStatus()
		if h.Sudo {
			res.Err = sudoError(h, res.ExitStatus, res.Stderr)
		}
	default:
		res.Err = r.explain(parent, ctx, h, st, err)
	}
	return res
}

// sudoError turns sudo's own refusals into what to change; the script's
// exit statuses pass through untouched.
func sudoError(h inventory.Host, status int, stderr []byte) error {
	e := string(stderr)
	switch {
	case status == 127 && strings.Contains(e, "sudo") && strings.Contains(e, "not found"):
		return fmt.Errorf("%s: sudo is not installed there (the inventory sets sudo: true); install it, or log in as root and set sudo: false", where(h))
	case strings.Contains(e, "sudo: a password is required") || strings.Contains(e, "sudo: a terminal is required"):
		return fmt.Errorf("%s: sudo asks %s for a password, and lvsdoctor runs `sudo -n` so it never waits at a prompt: allow %s to run sh without a password (NOPASSWD in sudoers), or log in as root", where(h), h.User, h.User)
	case strings.Contains(e, "is not in the sudoers file") || strings.Contains(e, "is not allowed to execute") || strings.Contains(e, "may not run sudo"):
		return fmt.Errorf("%s: %s may not use sudo there (%s); give it sudo rights for sh, or log in as root", where(h), h.User, firstLine(e))
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// capped keeps up to max bytes. It never fails a write, because a failing
// writer would leave the channel undrained and the remote side blocked;
// over is called once when the cap is passed so the caller can stop the
// source.
type capped struct {
	max  int64
	buf  []byte
	over func()
	done bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - int64(len(c.buf))
	if int64(len(p)) <= room {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	if room > 0 {
		c.buf = append(c.buf, p[:room]...)
	}
	if !c.done {
		c.done = true
		if c.over != nil {
			c.over()
		}
	}
	return len(p), nil
}

// capReader passes on the first left bytes of r, then ErrOutputCap if r
// has more: the streaming counterpart of capped.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, ErrOutputCap
	}
	if c.left <= 0 {
		// exactly at the cap is fine: only a byte more is over it
		var one [1]byte
		for {
			n, err := c.r.Read(one[:])
			if n > 0 {
				c.over = true
				return 0, ErrOutputCap
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
