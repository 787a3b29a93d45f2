package k8sservice

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lvsdoctor/lvsdoctor/internal/evidence"
)

// declared renders what a host was told to keep, one entry a line:
// name proto addr:port -> targetPort [nodePort] @line.
func declared(h *evidence.Host) string {
	var out []string
	for _, d := range h.Declared {
		addr := "?"
		if d.Addr.IsValid() {
			addr = d.Addr.String()
		}
		s := fmt.Sprintf("%s %s %s:%d -> %s", d.Name, d.Proto, addr, d.Port, d.TargetPort)
		if d.NodePort != 0 {
			s += fmt.Sprintf(" node %d", d.NodePort)
		}
		out = append(out, fmt.Sprintf("%s @%d", s, d.Ref.Line))
	}
	return strings.Join(out, "\n")
}

// TestManifests: Services as users and the documentation quote them.
func TestManifests(t *testing.T) {
	cases := []struct{ name, text, want string }{
		// kubernetes/kubernetes#72779 (field case kube-proxy-113-...):
		// an externalIP, a named targetPort, a YAML comment line after it.
		{"externalIPs, named targetPort", "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: test\nspec:\n  type: NodePort\n  externalIPs:\n    - 192.168.10.201\n  ports:\n    - name: test-port\n      protocol: TCP\n      port: 80\n      targetPort: test-port\n  selector:\n      app: test\n",
			"default/test TCP 192.168.10.201:80 -> test-port @11"},
		// cloudnativelabs/kube-router#715: no clusterIP (the API server
		// assigns it), no targetPort (it is the port).
		{"no clusterIP, no targetPort", "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n  labels:\n    app: someapp\nspec:\n  ports:\n    - name: http\n      port: 80\n  selector:\n    app: codis\n    component: fe\n",
			"default/svc TCP ?:80 -> 80 @9"},
		// https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport
		{"NodePort, comments", "apiVersion: v1\nkind: Service\nmetadata:\n  name: my-service\nspec:\n  type: NodePort\n  selector:\n    app.kubernetes.io/name: MyApp\n  ports:\n    - port: 80\n      # By default and for convenience, the `targetPort` is set to\n      # the same value as the `port` field.\n      targetPort: 80\n      # Optional field\n      # By default and for convenience, the Kubernetes control plane\n      # will allocate a port from a range (default: 30000-32767)\n      nodePort: 30007\n",
			"default/my-service TCP ?:80 -> 80 node 30007 @10"},
		// https://blog.csdn.net/qq_39680564/article/details/106232120
		// (the LoadBalancer example of the Kubernetes documentation then):
		// clusterIP and loadBalancerIP are both addresses of the service.
		{"LoadBalancer with clusterIP", "apiVersion: v1\nkind: Service\nmetadata:\n  name: demo-service\n  namespace: demo-space\n  labels:\n    name: demo-service\nspec:\n  type: LoadBalancer\n  selector:\n    app: nginx-pod\n  ports:\n  - protocol: TCP\n    port: 80\n    targetPort: 9376\n  clusterIP: 10.0.171.239\n  loadBalancerIP: 78.11.24.19\nstatus:\n  loadBalancer:\n    ingress:\n    - ip: 146.148.47.155\n",
			"demo-space/demo-service TCP 10.0.171.239:80 -> 9376 @13\ndemo-space/demo-service TCP 78.11.24.19:80 -> 9376 @13"},
		// a headless Service asks the proxy for nothing
		{"headless", "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  clusterIP: None\n  ports:\n  - port: 5432\n", ""},
	}
	for _, c := range cases {
		if !sniff(c.text) {
			t.Errorf("%s: not sniffed", c.name)
		}
		h := &evidence.Host{Name: "n"}
		if probs := apply(evidence.Doc{Host: "n", Source: "x", Start: 1, Text: c.text}, h); len(probs) != 0 {
			t.Errorf("%s: problems %v", c.name, probs)
		}
		if got := declared(h); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// TestAppliedAgain: the same Service applied twice (kube-router#715's
// port 8080, then 80) is what the last one says; another Service and
// lvscare's options stay.
func TestAppliedAgain(t *testing.T) {
	h := &evidence.Host{Name: "n", Declared: []evidence.DeclaredService{{Controller: "lvscare", Port: 6443}}}
	m := "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n    - name: http\n      port: %d\n"
	for _, p := range []int{8080, 80} {
		apply(evidence.Doc{Host: "n", Source: "x", Start: 1, Text: fmt.Sprintf(m, p)}, h)
	}
	other := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  clusterIP: 10.96.0.20\n  ports:\n  - port: 443\n    targetPort: 8443\n    protocol: TCP\n"
	apply(evidence.Doc{Host: "n", Source: "x", Start: 1, Text: other}, h)
	want := "  ?:6443 ->  @0\ndefault/svc TCP ?:80 -> 80 @7\nshop/web TCP 10.96.0.20:443 -> 8443 @9"
	if got := declared(h); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestNotAService: other objects, prose naming a Service, and YAML that
// does not parse declare nothing.
func TestNotAService(t *testing.T) {
	for _, text := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
		"We created a Service (kind: Service) with apiVersion: v1 but it fails.\n",
		"apiVersion: v1\nkind: Service\nspec:\n  ports: [\n",
	} {
		if svcs := Parse(text); len(svcs) != 0 {
			t.Errorf("%q: read %d services", text, len(svcs))
		}
	}
}
