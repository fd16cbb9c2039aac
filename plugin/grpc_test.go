package plugin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
)

// recordingHandler is an in-process Handler that remembers what it got and
// answers as told.
type recordingHandler struct {
	mu      sync.Mutex // the handler runs on gRPC's goroutines
	servers []Server
	call    *Call
	answer  func(w ResponseWriter) Outcome
}

func (h *recordingHandler) Describe(context.Context) (Description, error) {
	return Description{
		Identifier: "Test", Description: "test handler", ContractVersion: ContractVersion, Version: "9.9",
		Actions: []ActionSpec{{Name: "act", Options: []OptionSpec{
			{Name: "server", Type: OptionServer, Required: true},
			{Name: "flag", Type: OptionBool},
		}}},
	}, nil
}

func (h *recordingHandler) Configure(_ context.Context, s []Server) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.servers = s
	return nil
}

func (h *recordingHandler) Do(_ context.Context, c *Call, w ResponseWriter) Outcome {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.call = c
	return h.answer(w)
}

func (h *recordingHandler) seen() ([]Server, *Call) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.servers, h.call
}

func connect(t *testing.T, h Handler) *Conn {
	t.Helper()
	client, server := goplugin.TestPluginGRPCConn(t, false, pluginSet(h))
	t.Cleanup(func() {
		// Close asks the server to shut down (go-plugin's controller);
		// stopping it here as well would race with that shutdown.
		client.Close()
		select {
		case <-server.DoneCh:
		case <-time.After(5 * time.Second):
			t.Error("plugin server did not stop")
		}
	})
	raw, err := client.Dispense(pluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*Conn)
}

func TestConn_DescribeRoundTrip(t *testing.T) {
	h := &recordingHandler{}
	conn := connect(t, h)
	got, err := conn.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := h.Describe(context.Background())
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("describe:\n got %+v\nwant %+v", got, want)
	}
}

func TestConn_ConfigureRoundTrip(t *testing.T) {
	h := &recordingHandler{}
	conn := connect(t, h)
	servers := []Server{{
		Identifier: "child", URLs: []string{"https://a.example.org", "https://b.example.org/prefix"},
		TLSVerify: true, CAFile: "/etc/ca.pem", CertFile: "/c.pem", KeyFile: "/k.pem",
		Timeout: 1500 * time.Millisecond, Description: "dept",
	}}
	if err := conn.Configure(context.Background(), servers); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.seen(); !reflect.DeepEqual(got, servers) {
		t.Fatalf("configure:\n got %+v\nwant %+v", got, servers)
	}
}

func TestConn_DoStreamsHeadChunksAndTrailer(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80 KB: three chunks
	h := &recordingHandler{answer: func(w ResponseWriter) Outcome {
		hdr := http.Header{"Content-Type": {"application/json"}, "X-Child": {"a", "b"}}
		if err := w.WriteHead(201, hdr); err != nil {
			t.Error(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Error(err)
		}
		return Outcome{Origin: "http://child/validate/check", Server: "child", Attempts: 2}
	}}
	conn := connect(t, h)
	call := &Call{
		Event: "validate_check", Rule: "r1", Action: "act",
		Options: map[string]any{"server": "child", "flag": true, "n": int64(3)},
		Request: Request{
			Method: "POST", Path: "/validate/check", RawQuery: "a=1",
			Header:     http.Header{"User-Agent": {"FreeRADIUS"}},
			Body:       []byte(`{"user": "bob", "pass": "p%41+b&c \u00fc"}`),
			AllData:    map[string]any{"user": "bob", "n": float64(5), "ok": true},
			RemoteAddr: "192.0.2.1",
		},
		G:        Context{ClientIP: "192.0.2.9", PeerTrusted: true, RequestID: "rid", Hops: 1, Event: "validate_check", Origin: "o"},
		Response: &Response{Status: 200, Header: http.Header{"A": {"b"}}, Body: []byte("{}")},
	}
	reply, err := conn.Do(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	if !reply.Answered || reply.Status != 201 || !reflect.DeepEqual(reply.Header.Values("X-Child"), []string{"a", "b"}) {
		t.Fatalf("head: %+v", reply)
	}
	if _, ok := reply.Outcome(); ok {
		t.Fatal("outcome must not be complete before the body is read")
	}
	got, err := io.ReadAll(reply.Body)
	if err != nil {
		t.Fatal(err)
	}
	reply.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatalf("body: got %d bytes, want %d", len(got), len(body))
	}
	o, ok := reply.Outcome()
	if !ok || o.Origin != "http://child/validate/check" || o.Attempts != 2 || o.Server != "child" {
		t.Fatalf("outcome %+v ok=%v", o, ok)
	}
	if _, got := h.seen(); !reflect.DeepEqual(got, call) {
		t.Fatalf("call:\n got %+v\nwant %+v", got, call)
	}
}

func TestConn_DoFailureIsTrailerOnly(t *testing.T) {
	h := &recordingHandler{answer: func(ResponseWriter) Outcome {
		return Outcome{Server: "child", Attempts: 3, ErrorKind: ErrorUnreachable, ErrorMessage: "connection refused"}
	}}
	conn := connect(t, h)
	reply, err := conn.Do(context.Background(), &Call{Action: "act"})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Answered || reply.Body != nil {
		t.Fatalf("a failed action must not answer: %+v", reply)
	}
	o, ok := reply.Outcome()
	if !ok || o.ErrorKind != ErrorUnreachable || !o.Failed() || o.Attempts != 3 || o.ErrorMessage != "connection refused" {
		t.Fatalf("outcome %+v", o)
	}
}

func TestConn_BodyBeforeHeadIsRefused(t *testing.T) {
	var writeErr error
	h := &recordingHandler{answer: func(w ResponseWriter) Outcome {
		_, writeErr = w.Write([]byte("x"))
		return Outcome{ErrorKind: ErrorInternal, ErrorMessage: "broken"}
	}}
	conn := connect(t, h)
	if _, err := conn.Do(context.Background(), &Call{}); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !errors.Is(writeErr, errNoHead) {
		t.Fatalf("write before head: %v", writeErr)
	}
}

func TestConn_UnsupportedOptionType(t *testing.T) {
	conn := connect(t, &recordingHandler{})
	_, err := conn.Do(context.Background(), &Call{Options: map[string]any{"x": 1.5}})
	if err == nil || !strings.Contains(err.Error(), "unsupported type") {
		t.Fatalf("want unsupported type error, got %v", err)
	}
}

func TestConn_AllDataWithInfinity(t *testing.T) {
	h := &recordingHandler{answer: func(ResponseWriter) Outcome { return Outcome{ErrorKind: ErrorInternal} }}
	conn := connect(t, h)
	// {"n": 1e400} decodes to +Inf, which JSON cannot encode.
	call := &Call{Request: Request{AllData: map[string]any{"n": math.Inf(1), "user": "bob", "l": []any{math.Inf(-1)}}}}
	if _, err := conn.Do(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	_, got := h.seen()
	if got.Request.AllData["n"] != "+Inf" || got.Request.AllData["user"] != "bob" || got.Request.AllData["l"].([]any)[0] != "-Inf" {
		t.Fatalf("all_data %+v", got.Request.AllData)
	}
}
