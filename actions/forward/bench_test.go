package forward

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkForward is one forwarded POST /validate/check to a loopback
// child answering eduMFA's p02 body: parameter rewrite, header build,
// retryablehttp over the pooled transport, origin rewrite, relay.
// Compare with BenchmarkDirect, the same POST with plain net/http.
func BenchmarkForward(b *testing.B) {
	c := newChild(b, nil)
	h := newHandler(b, server(c.URL))
	call := newCall("POST", "/validate/check", "", http.Header{
		"Content-Type": {ctForm}, "User-Agent": {"FreeRADIUS"}, "Accept": {"*/*"},
	}, "user=bob&pass=bob-child", map[string]any{OptionRealm: "childrealm", OptionForwardClientIP: true})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var rec recorder
		if out := h.Do(ctx, call, &rec); out.Failed() || rec.status != 200 {
			b.Fatal(out)
		}
	}
}

// BenchmarkDirect is the baseline: the same POST to the same child with a
// pooled net/http client, body read whole.
func BenchmarkDirect(b *testing.B) {
	c := newChild(b, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: maxIdleConnsPerHost}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("POST", c.URL+"/validate/check", strings.NewReader("user=bob&pass=bob-child&realm=childrealm&client=127.0.0.2"))
		req.Header.Set("Content-Type", ctForm)
		req.Header.Set("User-Agent", "FreeRADIUS")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}
