// Package k8sservice reads Kubernetes Service objects as tickets quote
// them (a manifest, `kubectl get svc -o yaml`, the text of a heredoc that
// `kubectl apply` reads): the service proxy (kube-proxy, kube-router in
// IPVS mode) keeps one IPVS virtual service per port and address of the
// Service (its clusterIP(s), externalIPs, loadBalancerIP), whose real
// servers are the endpoints at targetPort. The Service is the
// controller's intent, which the running table should match.
package k8sservice

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
	"github.com/lvsdoctor/lvsdoctor/internal/format"
)

// Controller is the DeclaredService.Controller of a Service's ports.
const Controller = "kubernetes"

// Formats: a Service manifest, told by its apiVersion and kind lines.
func Formats() []format.Format {
	return []format.Format{{
		Name:  "k8s-service",
		Files: format.Patterns(`(?i)^(?:svc|service)[\w.-]*\.ya?ml$`),
		Sniff: sniff,
		Apply: apply,
	}}
}

var (
	kindRE       = regexp.MustCompile(`(?m)^\s*kind:\s*["']?Service["']?\s*$`)
	apiVersionRE = regexp.MustCompile(`(?m)^\s*apiVersion:\s*["']?v1["']?\s*$`)
	// topRE: a line that can belong to a manifest's YAML: a top-level
	// key, an indented or list line, a comment, a document marker or
	// nothing. Prose and another command's output end the manifest.
	topRE = regexp.MustCompile(`^(?:[A-Za-z][\w.-]*:(?:\s|$)|\s|-|#|---|$)`)
)

func sniff(head string) bool {
	return kindRE.MatchString(head) && apiVersionRE.MatchString(head)
}

// port is one entry of spec.ports, with the line it starts on.
type port struct {
	Name       string    `yaml:"name"`
	Protocol   string    `yaml:"protocol"`
	Port       int       `yaml:"port"`
	TargetPort yaml.Node `yaml:"targetPort"` // a number or a port's name
	NodePort   int       `yaml:"nodePort"`
	line       int
}

func (p *port) UnmarshalYAML(n *yaml.Node) error {
	type plain port
	var v plain
	if err := n.Decode(&v); err != nil {
		return err
	}
	*p = port(v)
	p.line = n.Line
	return nil
}

// Service is what a manifest of kind Service says the proxy should keep.
type Service struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Type                  string   `yaml:"type"`
		ClusterIP             string   `yaml:"clusterIP"`
		ClusterIPs            []string `yaml:"clusterIPs"`
		Ports                 []port   `yaml:"ports"`
		ExternalIPs           []string `yaml:"externalIPs"`
		ExternalTrafficPolicy string   `yaml:"externalTrafficPolicy"`
		LoadBalancerIP        string   `yaml:"loadBalancerIP"`
	} `yaml:"spec"`
	line int // the document's first line in the text (1-based)
}

// Name is the Service's namespace/name as kubectl names it.
func (s *Service) Name() string {
	ns := s.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return ns + "/" + s.Metadata.Name
}

// manifestLines returns the spans of text (0-based first line, lines)
// that can be YAML manifests: from a line opening one (apiVersion:,
// kind:, ---) to the first line that cannot belong to it.
func manifestLines(lines []string) [][2]int {
	var spans [][2]int
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "apiVersion:") && !strings.HasPrefix(l, "kind:") && !strings.HasPrefix(l, "---") {
			continue
		}
		j := i
		for j < len(lines) && topRE.MatchString(lines[j]) {
			j++
		}
		spans = append(spans, [2]int{i, j})
		i = j
	}
	return spans
}

// Parse returns the Services of the text, each with its first line
// (1-based, in text); documents of other kinds and YAML that does not
// parse are left out.
func Parse(text string) []*Service {
	lines := strings.Split(strings.ReplaceAll(text, "\r", ""), "\n")
	var out []*Service
	for _, sp := range manifestLines(lines) {
		dec := yaml.NewDecoder(strings.NewReader(strings.Join(lines[sp[0]:sp[1]], "\n")))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); err != nil {
				break // the end, or YAML that does not parse: keep what did
			}
			s := &Service{}
			if n.Decode(s) != nil || s.Kind != "Service" {
				continue
			}
			s.line = sp[0] + 1
			for k := range s.Spec.Ports {
				s.Spec.Ports[k].line += sp[0]
			}
			out = append(out, s)
		}
	}
	return out
}

// addresses are the Service's addresses the proxy puts virtual services
// on; none when the API server assigns the clusterIP (the manifest gives
// none) or the Service is headless (clusterIP: None).
func (s *Service) addresses() []netip.Addr {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, a := range append(append([]string{s.Spec.ClusterIP}, s.Spec.ClusterIPs...), append(s.Spec.ExternalIPs, s.Spec.LoadBalancerIP)...) {
		ip, err := netip.ParseAddr(strings.TrimSpace(a))
		if err != nil || seen[ip] {
			continue
		}
		seen[ip] = true
		out = append(out, ip.Unmap())
	}
	return out
}

// Declared is what the Service asks the proxy to keep: one entry per port
// and address (one per port, without address, when the manifest gives
// none). A headless or ExternalName Service asks for none.
func (s *Service) Declared(doc evidence.Doc, lines []string) []evidence.DeclaredService {
	if strings.EqualFold(strings.TrimSpace(s.Spec.ClusterIP), "None") || s.Spec.Type == "ExternalName" {
		return nil
	}
	addrs := s.addresses()
	if len(addrs) == 0 {
		addrs = []netip.Addr{{}}
	}
	var out []evidence.DeclaredService
	for _, p := range s.Spec.Ports {
		if p.Port <= 0 || p.Port > 65535 {
			continue
		}
		proto := strings.ToUpper(p.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		target := strings.TrimSpace(p.TargetPort.Value)
		if target == "" {
			target = strconv.Itoa(p.Port) // Kubernetes' default: the port itself
		}
		var nodePort uint16
		if p.NodePort > 0 && p.NodePort <= 65535 {
			nodePort = uint16(p.NodePort)
		}
		i := p.line - 1
		text := ""
		if i >= 0 && i < len(lines) {
			text = lines[i]
		}
		for _, a := range addrs {
			out = append(out, evidence.DeclaredService{Controller: Controller, Name: s.Name(), Proto: proto, Addr: a,
				Port: uint16(p.Port), TargetPort: target, NodePort: nodePort, Ref: doc.Ref(i, text)})
		}
	}
	return out
}

// apply records the Services' ports as declared services; a Service the
// host already has (a manifest applied again, edited) is replaced: the
// last one applied is what the controller is asked for.
func apply(doc evidence.Doc, h *evidence.Host) []evidence.Problem {
	lines := doc.Lines()
	svcs := Parse(doc.Text)
	if len(svcs) == 0 {
		return []evidence.Problem{doc.Problemf(-1, "a Kubernetes Service manifest that does not parse as YAML")}
	}
	for _, s := range svcs {
		name := s.Name()
		kept := h.Declared[:0]
		for _, d := range h.Declared {
			if d.Controller != Controller || d.Name != name {
				kept = append(kept, d)
			}
		}
		h.Declared = append(kept, s.Declared(doc, lines)...)
	}
	return nil
}
