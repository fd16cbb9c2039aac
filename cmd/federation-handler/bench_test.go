package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/actions/forward"
)

// benchBody is the POST /validate/check both benchmarks send, as the
// plugin's rewrite (realm, forward_client_ip) leaves it for the child.
const benchBody = "user=bob&pass=bob-child"

// BenchmarkPluginForward is one forwarded POST /validate/check end to end
// as the host runs it: host -> gRPC (AutoMTLS unix socket) -> the real
// plugin process -> rewrite -> pooled HTTP to a loopback child answering
// eduMFA's p02 body -> origin set -> streamed back to the host, read to
// the trailer. Compare with BenchmarkDirectPOST: the difference is what the
// plugin hop and the forward's work cost per request.
func BenchmarkPluginForward(b *testing.B) {
	ch := startChild(b, nil)
	c := startPlugin(b, childServer(ch.URL))
	call := newCall("POST", "/validate/check", "", http.Header{
		"Content-Type": {ctForm}, "User-Agent": {"FreeRADIUS"}, "Accept": {"*/*"},
	}, benchBody, map[string]any{forward.OptionRealm: "childrealm", forward.OptionForwardClientIP: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*callTimeout)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		r, err := c.Do(ctx, call)
		if err != nil {
			b.Fatal(err)
		}
		if !r.Answered || r.Status != http.StatusOK {
			b.Fatalf("answered %v, status %d", r.Answered, r.Status)
		}
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			b.Fatal(err)
		}
		r.Body.Close()
		if out, ok := r.Outcome(); !ok || out.Failed() {
			b.Fatalf("outcome %+v, %v", out, ok)
		}
	}
	b.StopTimer()
	ch.reset()
}

// BenchmarkDirectPOST is the baseline: the same child, the same request as
// the plugin sends it (realm and client already added), with a pooled
// net/http client in the test process, body read whole.
func BenchmarkDirectPOST(b *testing.B) {
	ch := startChild(b, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	body := benchBody + "&realm=childrealm&client=" + testClientIP
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequest("POST", ch.URL+"/validate/check", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", ctForm)
		req.Header.Set("User-Agent", "FreeRADIUS")
		req.Header.Set("Accept", "*/*")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
	b.StopTimer()
	ch.reset()
}
