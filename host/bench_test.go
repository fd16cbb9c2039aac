package host_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/simulator"
)

// unsigned simulators: RSA signing of every answer would dominate the
// numbers and is the same cost with or without the gateway.
func unsignedParent() *simulator.Server {
	c := simulator.ParentConfig()
	c.Unsigned = true
	return simulator.New(c)
}

func unsignedChild() *simulator.Server {
	c := simulator.ChildConfig()
	c.Unsigned = true
	return simulator.New(c)
}

func benchPost(b *testing.B, target string, form url.Values) {
	body := form.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.Post(target, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkLogin measures one /validate/check side by side: straight to the
// parent simulator, through the gateway when no rule forwards (the parent
// answers), through the gateway with a post rule forwarding to the child
// (parent, rule, plugin hop, child), and straight to the child.
func BenchmarkLogin(b *testing.B) {
	parent, child := httptest.NewServer(unsignedParent()), httptest.NewServer(unsignedChild())
	b.Cleanup(parent.Close)
	b.Cleanup(child.Close)
	accept := url.Values{"user": {"alice"}, "pass": {"alice-parent"}}
	federated := url.Values{"user": {"bob"}, "pass": {"bob-child"}}

	b.Run("direct-parent", func(b *testing.B) { benchPost(b, parent.URL+"/validate/check", accept) })
	b.Run("gateway-parent-answers", func(b *testing.B) {
		g := startGateway(b, gatewayOpts{quiet: true, parent: unsignedParent(), child: unsignedChild(),
			rules: map[string]string{"servers.yaml": serversYAML, "10.yaml": seedRule}})
		benchPost(b, g.url+"/validate/check", accept)
	})
	b.Run("gateway-post-forward", func(b *testing.B) {
		g := startGateway(b, gatewayOpts{quiet: true, parent: unsignedParent(), child: unsignedChild(),
			rules: map[string]string{"servers.yaml": serversYAML, "10.yaml": seedRule}})
		benchPost(b, g.url+"/validate/check", federated)
	})
	b.Run("gateway-pre-forward", func(b *testing.B) {
		g := startGateway(b, gatewayOpts{quiet: true, parent: unsignedParent(), child: unsignedChild(),
			rules: map[string]string{"servers.yaml": serversYAML, "30.yaml": preRealmRule}})
		benchPost(b, g.url+"/validate/check", url.Values{"user": {"bob"}, "realm": {"childrealm"}, "pass": {"bob-child"}})
	})
	b.Run("direct-child", func(b *testing.B) { benchPost(b, child.URL+"/validate/check", federated) })
}
