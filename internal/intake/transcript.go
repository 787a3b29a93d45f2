package intake

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// Block is one command's output cut out of a file.
type Block struct {
	Host string // host named by the prompt, "" when the prompt names none
	// Netns is the network namespace the command ran in (ip netns exec,
	// nsenter --net): its output is that namespace's, not the prompt
	// host's, whose session goes on after it.
	Netns string
	// NetnsLine is the line whose command entered Netns, as written.
	NetnsLine string
	Command   string // command line without prompt and sudo; "" when unknown
	Start     int    // 1-based line of the block's first output line
	Text      string // the output, a substring of the file
}

var (
	// [root@Director1 ~]# cmd   [admin@rs-1 /etc]$ cmd   [10:32:11 root@lb01 ~]# cmd
	bracketPrompt = regexp.MustCompile(`^\[(?:\d{1,2}:\d{2}(?::\d{2})?\s+)?([A-Za-z0-9_.-]+)@([A-Za-z0-9_.-]+)(?: [^\]]*)?\][#$%] ?(.*)$`)
	// ops@lb01 ~ % cmd (zsh)   root@lb01 /etc # cmd
	spacePathPrompt = regexp.MustCompile(`^([A-Za-z0-9_.-]+)@([A-Za-z0-9_.-]+)\s+[~/][^\s#$%]*\s*[#$%] ?(.*)$`)
	// lb01:~ # cmd (SUSE)   lb01 ~ # cmd (Gentoo): no user, so only with a
	// known command, like a bare prompt.
	hostPathPrompt = regexp.MustCompile(`^([A-Za-z0-9_.-]+)(?::|\s+)[~/][^\s#$%]*\s*[#$%] ?(\S.*)$`)
	// [lb01]# cmd   [remote client] ~ # cmd: a bracketed name without a
	// user, as PS1='[\h]\$ ' or a ticket's "[one-hop-up]#" prints it; no
	// user, so only with a known command, like a bare prompt.
	bracketNamePrompt = regexp.MustCompile(`^\[([A-Za-z0-9_.-]+(?: [A-Za-z0-9_.-]+){0,2})\](?:\s*[~/][^\s#$%]*)?\s*[#$%]\s*(\S.*)$`)
	// What shells put before a prompt: a virtualenv or conda "(prod) ", a
	// time "[10:32:11] " or "10:32:11 ".
	promptPrefix = regexp.MustCompile(`^(?:\([^()\s]{1,40}\)\s*|\[\d{1,2}:\d{2}(?::\d{2})?\]\s*|\d{1,2}:\d{2}:\d{2}\s+)+`)
	// A shell's own name in its prompt is no host: "-bash-4.2$", "sh-5.1#".
	shellName = regexp.MustCompile(`^-?(?:ba|z|k|da|c|tc|fi)?sh(?:-\d[\d.]*)?$`)
	// root@rs1:~# cmd   admin@ds1:/etc$ cmd
	colonPrompt = regexp.MustCompile(`^([A-Za-z0-9_.-]+)@([A-Za-z0-9_.-]+):[^\s#$]*[#$] ?(.*)$`)
	// $ cmd   # cmd   ds1# cmd   ds1> cmd — only trusted when cmd starts with a known command.
	barePrompt = regexp.MustCompile(`^(?:([A-Za-z0-9_.-]+)\s?)?[#$>] +(\S.*)$`)
	// A prompt glued to the end of the previous output line by a paste that
	// lost its line breaks: "...arp_ignore = 1# sysctl -ar arp_announce".
	gluedPrompt = regexp.MustCompile(`([#$]) ?((?:sudo )?(?:` + knownCommandAlt + `)\b)`)
)

// A prose line that says whose output follows, as wiki pages and tickets
// do: "On rs1 (192.0.2.11):", "Capture on ds1 at the same time:",
// "From the client 192.0.2.10 I send ...:".
var hostMarker = regexp.MustCompile(`^(?i:on|capture on|captured on|from|at|output of|and on)\s+(?:(?i:the)\s+)?` +
	`(?:((?i:director|client|real ?server|realserver|hypervisor|host|router))\s+)?([A-Za-z0-9][\w.-]*)[^:]{0,100}:\s*$`)

// hostMarkerZH is the same in Chinese: "在RS服务器上执行:", "DS机器上:",
// "在 RS1 上执行：", "LVS节点:" (full-width colon too). The role word or
// name before 服务器/机器/节点/主机/上 names the host.
var hostMarkerZH = regexp.MustCompile(`^(?:在|从)?\s*([A-Za-z][\w.-]{0,30})\s*(?:服务器|机器|节点|主机)?\s*(?:上)?\s*(?:执行|运行|抓包|查看|操作)?(?:如下)?(?:的)?(?:命令|结果)?\s*[:：]\s*$`)

// roleLabel is a bare label naming a host by its role, as people write
// between outputs: "DS:", "RS1:", "Director:", "Real server 2:". Only role
// words: a bare "word:" ends many an output's line ("lo:", "Result:").
var roleLabel = regexp.MustCompile(`^((?i:director|ds|rs|real ?server|realserver|lvs|lb|client))[-_ ]?(\d{0,3})\s*[:：]$`)

// hostMarkerZHNoColon is a Chinese marker without its colon: "在RS上执行",
// "在DS服务器上".
var hostMarkerZHNoColon = regexp.MustCompile(`^在\s*([A-Za-z][\w.-]{0,30})\s*(?:服务器|机器|节点|主机)?\s*上\s*(?:执行|运行|抓包|查看|操作)?(?:如下)?(?:的)?(?:命令|结果)?\s*$`)

// markerHost returns the host a prose line names, if it is a marker.
func markerHost(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if len(line) > 160 {
		return "", false
	}
	if m := hostMarkerZHNoColon.FindStringSubmatch(t); m != nil && !isStopWord(m[1]) {
		return strings.ToLower(m[1]), true
	}
	if !(strings.HasSuffix(t, ":") || strings.HasSuffix(t, "：")) {
		return "", false
	}
	if m := roleLabel.FindStringSubmatch(t); m != nil {
		return strings.ToLower(strings.ReplaceAll(m[1], " ", "")) + m[2], true
	}
	if m := hostMarkerZH.FindStringSubmatch(t); m != nil && strings.TrimRight(m[0], ":： ") != m[1] && !isStopWord(m[1]) {
		// A bare "word:" is no marker (it ends many outputs' lines):
		// the Chinese words around the name make it one.
		return strings.ToLower(m[1]), true
	}
	m := hostMarker.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return "", false
	}
	name := m[2]
	role := strings.ToLower(m[1])
	if _, err := netip.ParseAddr(name); err == nil || strings.EqualFold(name, "the") {
		// "the client 192.0.2.10": the role word names the host better
		// than an address does.
		if role == "" {
			return "", false
		}
		return strings.ReplaceAll(role, " ", ""), true
	}
	if isStopWord(name) {
		if role == "" {
			return "", false
		}
		return strings.ReplaceAll(role, " ", ""), true
	}
	return name, true
}

func isStopWord(w string) bool {
	switch strings.ToLower(w) {
	case "a", "an", "all", "both", "each", "every", "this", "that", "it", "my", "our", "their", "same", "which":
		return true
	}
	return false
}

// knownCommands are the first words of commands whose output lvsdoctor
// reads or that commonly appear in incident transcripts. A bare "# word"
// line counts as a prompt only when word is one of these, because "#" also
// starts comments in iptables-save, nft and keepalived.conf.
var knownCommands = []string{
	"ipvsadm", "ip", "ifconfig", "sysctl", "iptables", "iptables-save", "ip6tables", "ip6tables-save",
	"iptables-legacy", "iptables-legacy-save", "iptables-nft", "iptables-nft-save", "nft", "ebtables", "ebtables-save",
	"ss", "netstat", "nstat", "conntrack", "ethtool", "uname", "lsmod", "modinfo", "grubby", "rpm", "dpkg", "cat", "dmidecode",
	"keepalived", "journalctl", "dmesg", "virsh", "arp", "arping", "tcpdump", "tshark", "curl", "ping", "nc", "ncat", "telnet",
	"systemctl", "service", "ps", "route", "bridge", "brctl", "grep", "tail", "head", "less", "more", "ls", "echo", "getenforce",
	"setenforce", "watch", "traceroute", "mtr", "wget", "hostname", "ipset", "firewall-cmd", "lsb_release", "modprobe",
	"nsenter", "kubectl", "docker",
}

var knownCommandAlt = func() string {
	// Longest first so that "iptables-save" wins over "iptables".
	cmds := append([]string(nil), knownCommands...)
	for i := 1; i < len(cmds); i++ {
		for j := i; j > 0 && len(cmds[j]) > len(cmds[j-1]); j-- {
			cmds[j], cmds[j-1] = cmds[j-1], cmds[j]
		}
	}
	for i, c := range cmds {
		cmds[i] = regexp.QuoteMeta(c)
	}
	return strings.Join(cmds, "|")
}()

var knownCommandSet = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range knownCommands {
		m[c] = true
	}
	return m
}()

// promptOf recognises a prompt line and returns the host it names (may be
// empty) and the command it runs.
func promptOf(line string) (host, cmd string, ok bool) {
	// Cheap tests first: a transcript can hold a million lines of output,
	// and almost none of them are prompts.
	if !hasPromptChar(line, true) {
		return "", "", false
	}
	if (line[0] == '(' || line[0] == '[' || line[0] >= '0' && line[0] <= '9') && promptPrefix.MatchString(line) {
		if rest := promptPrefix.ReplaceAllString(line, ""); rest != line && rest != "" {
			if h, c, ok := promptOf(rest); ok {
				return h, c, true
			}
		}
	}
	host, cmd, ok = promptStyle(line)
	if ok && shellName.MatchString(host) {
		host = ""
	}
	return host, cmd, ok
}

// promptStyle recognises the prompts shells print by default: bash's of
// Red Hat ([user@host path]#) and Debian (user@host:path#), zsh's
// (user@host path %), SUSE's (host:path #), Gentoo's (host path #), and a
// bare "#", "$" or ">".
func promptStyle(line string) (host, cmd string, ok bool) {
	if line[0] == '[' {
		if m := bracketPrompt.FindStringSubmatch(line); m != nil {
			return m[2], cleanCommand(m[3]), true
		}
		if m := bracketNamePrompt.FindStringSubmatch(line); m != nil {
			if c := cleanCommand(m[2]); knownCommandSet[firstWord(c)] {
				// "remote client": one host, named as a host could be
				return strings.ReplaceAll(m[1], " ", "-"), c, true
			}
		}
	}
	if strings.IndexByte(line, '@') > 0 {
		if m := colonPrompt.FindStringSubmatch(line); m != nil {
			return m[2], cleanCommand(m[3]), true
		}
		if m := spacePathPrompt.FindStringSubmatch(line); m != nil {
			return m[2], cleanCommand(m[3]), true
		}
	}
	if m := hostPathPrompt.FindStringSubmatch(line); m != nil {
		if c := cleanCommand(m[2]); knownCommandSet[firstWord(c)] {
			return m[1], c, true
		}
	}
	if m := barePrompt.FindStringSubmatch(line); m != nil {
		c := cleanCommand(m[2])
		if knownCommandSet[firstWord(c)] {
			return m[1], c, true
		}
	}
	return "", "", false
}

// cleanCommand strips what does not change which output a command prints:
// sudo, "ip netns exec NS", leading/trailing blanks.
func cleanCommand(c string) string {
	c = strings.TrimSpace(c)
	for {
		switch {
		case strings.HasPrefix(c, "sudo "):
			c = strings.TrimSpace(strings.TrimPrefix(c, "sudo "))
			for strings.HasPrefix(c, "-") { // sudo -i, sudo -u root
				f := strings.Fields(c)
				if len(f) > 1 && (f[0] == "-u" || f[0] == "-g") && len(f) > 2 {
					c = strings.Join(f[2:], " ")
				} else if len(f) > 1 {
					c = strings.Join(f[1:], " ")
				} else {
					return ""
				}
			}
		case strings.HasPrefix(c, "su ") && strings.Contains(c, " -c "):
			// su -c 'ipvsadm -Ln', su - root -c "ip a"
			c = strings.TrimSpace(c[strings.Index(c, " -c ")+4:])
			if len(c) >= 2 && (c[0] == '\'' || c[0] == '"') && c[len(c)-1] == c[0] {
				c = c[1 : len(c)-1]
			}
		case strings.HasPrefix(c, "nsenter "):
			// nsenter --net=/var/run/docker/netns/lb_x cat ...,
			// nsenter -t 1234 -n ip addr: the options, then the command.
			f := strings.Fields(c)
			k := 1
			for k < len(f) && strings.HasPrefix(f[k], "-") {
				if (f[k] == "-t" || f[k] == "--target") && k+1 < len(f) {
					k++
				}
				k++
			}
			if k >= len(f) {
				return c
			}
			c = strings.Join(f[k:], " ")
		case strings.HasPrefix(c, "ip netns exec "), strings.HasPrefix(c, "ip -n "):
			f := strings.Fields(c)
			if f[1] == "-n" && len(f) > 3 { // ip -n NS addr → ip addr
				c = "ip " + strings.Join(f[3:], " ")
				return c
			}
			if len(f) > 4 {
				c = strings.Join(f[4:], " ")
			} else {
				return c
			}
		default:
			return c
		}
	}
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t|;"); i >= 0 {
		return s[:i]
	}
	return s
}

// SplitTranscript cuts a file into command blocks at prompt lines. Text
// before the first prompt becomes a block with no command. Prompts glued to
// the end of an output line (lost line breaks) are split off first. Each
// block's Text is a substring of text: a million-line output is not copied.
func SplitTranscript(text string) []Block {
	text = strings.TrimSuffix(text, "\n")
	var blocks []Block
	cur := Block{Start: 1}
	from, to, has := 0, 0, false // cur's text span, once it has a line
	marked := ""                 // host named by the last prose marker
	fenceOpen := false
	skip := -1 // a bare command line opening a fence, already taken
	// A fence whose first line is a bare command holds a session without
	// prompts: each later command line in it starts a block too.
	fenceCommands := false
	heredocEnd := "" // the word ending a here-document being skipped
	// The here-document's own text (from, to, first line): a Kubernetes
	// manifest that `kubectl apply` reads is the intent the tables are
	// judged by, so it becomes a block of its own.
	hdFrom, hdTo, hdLine := -1, 0, 0
	flush := func() {
		if has {
			cur.Text = text[from:to]
		}
		if cur.Command != "" || strings.TrimSpace(cur.Text) != "" {
			blocks = append(blocks, cur)
		}
	}
	start := func(b Block) {
		flush()
		cur, has = b, false
	}
	add := func(lineNo, lo, hi int) {
		if !has {
			has, from = true, lo
			if cur.Command == "" {
				cur.Start = lineNo
			}
		}
		to = hi
	}
	var prompts promptChars
	for pos, i := 0, 0; pos <= len(text); i++ {
		end := strings.IndexByte(text[pos:], '\n')
		lineEnd := len(text)
		if end >= 0 {
			lineEnd = pos + end
		}
		line := strings.TrimSuffix(text[pos:lineEnd], "\r")
		lineStart := pos
		pos = lineEnd + 1
		if _, n, ok := evidence.ParseRunMarker(line); ok {
			// A run of a connection table counted as it was read: its
			// lines are output, and the lines after it keep their numbers.
			add(i+1, lineStart, lineEnd)
			i += n - 1
			continue
		}

		if heredocEnd != "" {
			// A here-document is the command's input, not its output.
			if i == skip {
				continue // the command line opening the fence and the here-document
			}
			if strings.TrimSpace(line) != heredocEnd {
				if hdFrom < 0 {
					hdFrom, hdLine = lineStart, i+1
				}
				hdTo = lineEnd
				continue
			}
			heredocEnd = ""
			if hdFrom >= 0 && isManifest(text[hdFrom:hdTo]) {
				host, netns := cur.Host, cur.Netns
				start(Block{Host: host, Netns: netns, Start: hdLine})
				has, from, to = true, hdFrom, hdTo
				start(Block{Host: host, Netns: netns, Start: i + 2})
			}
			hdFrom = -1
			continue
		}
		if fenceCommands && i != skip {
			if c := bareCommand(line); c != "" {
				start(Block{Host: marked, Netns: netnsOf(line), NetnsLine: netnsLine(line), Command: c, Start: i + 2})
				heredocEnd = heredocWord(c)
				continue
			}
		}
		if screenLines && !prompts.within(text, lineStart, lineEnd) {
			// Neither a prompt nor a glued one (both need '#', '$' or
			// '>'): only a marker, a fence or output.
			if !mayBeMarkerOrFence(line) && i != skip {
				add(i+1, lineStart, lineEnd)
				continue
			}
		}
		if head, glued := splitGlued(line); glued != "" {
			// The output line keeps its own line number; the glued prompt
			// starts a block whose output begins on the next line.
			if head != "" {
				add(i+1, lineStart, lineStart+len(head))
			}
			line = glued
		}
		if host, cmd, ok := promptOf(line); ok {
			if host == "" {
				host = marked
			} else {
				marked = ""
			}
			start(Block{Host: host, Netns: netnsOf(line), NetnsLine: netnsLine(line), Command: cmd, Start: i + 2})
			heredocEnd = heredocWord(cmd)
			continue
		}
		if host, ok := markerHost(line); ok {
			marked = host
			start(Block{Start: i + 2})
			continue
		}
		// Markdown fences (tickets, wikis) delimit outputs; a fenced block
		// often starts with the bare command line, without a prompt.
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			start(Block{Host: marked, Start: i + 2})
			fenceOpen = !fenceOpen
			fenceCommands = false
			if fenceOpen && pos <= len(text) {
				next := text[pos:]
				if k := strings.IndexByte(next, '\n'); k >= 0 {
					next = next[:k]
				}
				next = strings.TrimSuffix(next, "\r")
				if c := bareCommand(next); c != "" {
					cur.Command = c
					cur.Netns = netnsOf(next)
					cur.NetnsLine = netnsLine(next)
					cur.Start = i + 3
					skip = i + 1
					fenceCommands = true
					heredocEnd = heredocWord(c)
				}
			}
			continue
		}
		if i == skip {
			continue
		}
		add(i+1, lineStart, lineEnd)
	}
	flush()
	return blocks
}

// bareCommand returns the command a line without a prompt runs, when it
// is one: a known command (after sudo, ip netns exec, nsenter) shaped like
// a command line. "" otherwise.
func bareCommand(line string) string {
	c := cleanCommand(line)
	if !knownCommandSet[firstWord(c)] || !looksLikeCommandLine(c) {
		return ""
	}
	return c
}

// manifestRE: the lines that open a Kubernetes object.
var manifestRE = regexp.MustCompile(`(?m)^\s*apiVersion:\s*\S+\s*$[\s\S]*?^\s*kind:\s*\S+|^\s*kind:\s*\S+\s*$[\s\S]*?^\s*apiVersion:\s*\S+`)

// isManifest: text holds a Kubernetes object (apiVersion and kind lines).
func isManifest(text string) bool { return manifestRE.MatchString(text) }

// heredoc finds the word ending a here-document: cat << EOF > svc.yaml,
// cat <<-'END'.
var heredoc = regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`)

func heredocWord(cmd string) string {
	if m := heredoc.FindStringSubmatch(cmd); m != nil {
		return m[1]
	}
	return ""
}

// netnsPrefix finds the network namespace a command runs in: "ip netns
// exec lb_x cmd", "ip -n lb_x cmd", "nsenter --net=/var/run/docker/netns/lb_x cmd".
var netnsPrefix = regexp.MustCompile(`(?:^|\s)(?:ip\s+netns\s+exec|ip\s+-n(?:etns)?)\s+([A-Za-z0-9_.-]+)\s|(?:^|\s)nsenter\s+(?:-\S+\s+)*?(?:--net=|-n)(?:/[^\s/]+)*/([A-Za-z0-9_.-]+)\s`)

// netnsOf is the network namespace a command line enters, which has its
// own addresses, routes and sysctls (Docker swarm's load balancer lb_*, a
// lab's rs1); "" when it enters none.
func netnsOf(line string) string {
	if !strings.Contains(line, "netns") && !strings.Contains(line, "nsenter") && !strings.Contains(line, "ip -n") {
		return ""
	}
	if m := netnsPrefix.FindStringSubmatch(line); m != nil {
		return m[1] + m[2]
	}
	return ""
}

// netnsLine is line when it enters a network namespace, else "".
func netnsLine(line string) string {
	if netnsOf(line) == "" {
		return ""
	}
	return line
}

// swarmLBNetns matches the path of one of Docker swarm's load-balancer
// namespaces: lb_<network id> per overlay network, ingress_sbox for the
// routing mesh. Docker keeps them in /var/run/docker/netns (or /run/...);
// the name alone could be anyone's namespace.
var swarmLBNetns = regexp.MustCompile(`(?:^|[\s=]|\s-n)(?:/var)?/run/docker/netns/(?:lb_[A-Za-z0-9]+|ingress_sbox)\s`)

// IsSwarmLB reports whether a line enters one of Docker swarm's load-
// balancer namespaces by its path (nsenter --net=/var/run/docker/netns/lb_x).
func IsSwarmLB(line string) bool { return swarmLBNetns.MatchString(line + " ") }

// looksLikeCommandLine tells "cat /etc/keepalived/keepalived.conf" from
// output that happens to start with a command's name ("ip 192.0.2.1 is
// ..."): short, one line, arguments shaped like options or paths.
func looksLikeCommandLine(c string) bool {
	if len(c) > 200 {
		return false
	}
	f := strings.Fields(c)
	if len(f) == 1 {
		return true
	}
	a := f[1]
	if f[0] == "sysctl" && sysctlKey.MatchString(a) {
		return true // sysctl net.ipv4.tcp_keepalive_time net.ipv4...
	}
	return strings.HasPrefix(a, "-") || strings.HasPrefix(a, "/") || strings.HasPrefix(a, "<<") ||
		(len(a) > 0 && a[0] >= 'a' && a[0] <= 'z' && !strings.ContainsAny(a, ".:"))
}

var sysctlKey = regexp.MustCompile(`^(?:net|kernel|vm|fs|dev|user|abi)(?:\.[\w/-]+)+$`)

// screenLines lets the lines without '#', '$' or '>' skip the prompt
// tests (off only in tests, to compare with every line going through them).
var screenLines = true

// promptChars finds the lines holding '#', '$', '>' or '%' (hasPromptChar)
// with one IndexByte per character over the whole text, instead of a
// byte loop over every line: a million-line output holds almost none.
type promptChars struct {
	next  [4]int // next position of each at or after from, -1 when none left
	valid bool
}

// '%' ends zsh's prompts.
var promptCharList = [4]byte{'#', '$', '>', '%'}

// within reports whether text[from:to] holds one of the characters; calls
// come with increasing from.
func (p *promptChars) within(text string, from, to int) bool {
	hit := false
	for k, c := range promptCharList {
		n := p.next[k]
		if !p.valid || (n >= 0 && n < from) {
			n = strings.IndexByte(text[from:], c)
			if n >= 0 {
				n += from
			}
			p.next[k] = n
		}
		if n >= 0 && n < to {
			hit = true
		}
	}
	p.valid = true
	return hit
}

// mayBeMarkerOrFence is true for the lines markerHost or the fence test
// could take: ending in ':' or starting with "```", blanks aside.
func mayBeMarkerOrFence(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasSuffix(t, ":") || strings.HasSuffix(t, "：") || strings.HasPrefix(t, "```") || strings.HasPrefix(t, "在")
}

// hasPromptChar reports whether line holds '#' or '$' (or '>' when gt):
// the byte loop is several times faster than strings.ContainsAny, and it
// runs on every line of a million-line output.
func hasPromptChar(line string, gt bool) bool {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '#', '$':
			return true
		case '>', '%':
			if gt {
				return true
			}
		}
	}
	return false
}

// splitGlued finds "# cmd" glued after other text on one line and returns
// the text before it and the prompt part; glued is "" when there is none.
func splitGlued(line string) (head, glued string) {
	if len(line) < 4 || !hasPromptChar(line, false) {
		return line, ""
	}
	// A line that is itself a prompt is not glued.
	if _, _, ok := promptOf(line); ok {
		return line, ""
	}
	locs := gluedPrompt.FindAllStringSubmatchIndex(line, -1)
	for _, loc := range locs {
		start := loc[0]
		if start == 0 {
			continue
		}
		prev := line[start-1]
		// Glued prompts follow output text directly ("= 1# sysctl"), not a
		// space-separated comment ("x # ip addr is ..."), and the command
		// must look like a command line, not prose.
		if prev == ' ' || prev == '\t' {
			continue
		}
		rest := line[start:]
		if _, cmd, ok := promptOf(rest); ok && cmd != "" {
			return strings.TrimRight(line[:start], " \t"), rest
		}
	}
	return line, ""
}
