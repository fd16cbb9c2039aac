package simulator

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

// TestFixtures_SimulatorAnswersLikeRecordedEduMFA replays every recorded
// request against a simulator configured like the recorded server and
// compares status, headers and the body byte for byte, except time and
// signature (and the system config's __timestamp__).
func TestFixtures_SimulatorAnswersLikeRecordedEduMFA(t *testing.T) {
	child, childSrv := start(t, ChildConfig())
	parent, parentSrv := start(t, ParentConfig())
	type server struct {
		sim *Server
		srv *httptest.Server
	}
	c, p := server{child, childSrv}, server{parent, parentSrv}
	tests := []struct {
		name     string // fixture file name without .request.http / .fwd-request.http
		fwd      bool   // the request the parent forwarded to the child
		to       server
		volatile [][]string
	}{
		{name: "c01-child-post-bob-right-pin", to: c},
		{name: "c02-child-post-bob-wrong-pin", to: c},
		{name: "c03-child-get-bob-right-pin", to: c},
		{name: "c04-child-post-unknown-user", to: c},
		{name: "c05-child-post-missing-pass", to: c},
		{name: "c06-child-post-carol-hotp", to: c},
		{name: "c07-child-post-bob-with-client-param", to: c},
		{name: "k03-child-get-system-config", to: c, volatile: [][]string{{"result", "value", "__timestamp__"}}},
		{name: "p01-parent-post-bob-parent-pin", to: p},
		{name: "p07-parent-post-carol-child-only-user", to: p},
		{name: "p08-parent-post-unknown-user", to: p},
		{name: "p09-parent-post-missing-pass", to: p},
		{name: "p10-parent-post-alice-parent-pin", to: p},
		{name: "p02-parent-post-bob-child-pin", fwd: true, to: c},
		{name: "p03-parent-post-bob-wrong-pin", fwd: true, to: c},
		{name: "p04-parent-get-bob-child-pin", fwd: true, to: c},
		{name: "p05-parent-get-bob-wrong-pin", fwd: true, to: c},
		{name: "p06-parent-post-dave-child-hotp", fwd: true, to: c},
		{name: "p11-parent-post-alice-wrong-pin", fwd: true, to: c},
		{name: "p12-parent-post-json-bob-child-pin", fwd: true, to: c},
		{name: "p13-parent-post-bob-child-pin-no-client-fwd", fwd: true, to: c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.to.sim.Reset()
			reqFile, respFile := tt.name+".request.http", tt.name+".response.http"
			if tt.fwd {
				reqFile, respFile = tt.name+".fwd-request.http", tt.name+".fwd-response.http"
			}
			got := replay(t, tt.to.srv, reqFile)
			want := recordedAnswer(t, respFile)

			if got.StatusCode != want.StatusCode {
				t.Errorf("status = %d, want %d", got.StatusCode, want.StatusCode)
			}
			for _, h := range []string{"Content-Type", "Cache-Control"} {
				if g, w := got.Header.Get(h), want.Header.Get(h); g != w {
					t.Errorf("%s = %q, want %q", h, g, w)
				}
			}
			if g := got.Header.Get(HeaderSimulator); g != tt.to.sim.Name() {
				t.Errorf("%s = %q, want %q", HeaderSimulator, g, tt.to.sim.Name())
			}
			if g, w := comparable(t, got.body, tt.volatile...), comparable(t, want.body, tt.volatile...); g != w {
				t.Errorf("body differs from the recording:\n got %s\nwant %s", g, w)
			}
			if err := envelope.Verify(tt.to.sim.PublicKey(), got.body); err != nil {
				t.Errorf("signature: %v", err)
			}
		})
	}
}

// The parent's own answer in p06 is not in the recording (the client saw
// the child's); the parent audit says "The user has no tokens assigned".
func TestParent_UserWithoutTokensIsRejectedWithEduMFAsMessage(t *testing.T) {
	_, srv := start(t, ParentConfig())
	got := replay(t, srv, "p06-parent-post-dave-child-hotp.request.http")
	want := `{"detail": {"message": "The user has no tokens assigned", "threadid": 139953660999360}, "id": 2, "jsonrpc": "2.0", ` +
		`"result": {"authentication": "REJECT", "status": true, "value": false}, "time": 0, "version": "eduMFA 2.9.5", "versionnumber": "2.9.5"}`
	if got.StatusCode != 200 {
		t.Errorf("status = %d", got.StatusCode)
	}
	if g := comparable(t, got.body); g != want {
		t.Errorf("body:\n got %s\nwant %s", g, want)
	}
}

// What the child records as the client is what the audit of the recording
// shows: the client parameter from the trusted parent, else the peer.
func TestChild_ClientParameterFromTrustedProxySetsClientIP(t *testing.T) {
	child, srv := start(t, ChildConfig())
	tests := []struct{ fixture, want string }{
		{"c07-child-post-bob-with-client-param.request.http", "192.0.2.77"},
		{"p02-parent-post-bob-child-pin.fwd-request.http", "127.0.0.2"},
		{"p13-parent-post-bob-child-pin-no-client-fwd.fwd-request.http", "127.0.0.1"},
	}
	for _, tt := range tests {
		child.Reset()
		replay(t, srv, tt.fixture)
		reqs := child.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests recorded", tt.fixture, len(reqs))
		}
		if reqs[0].ClientIP != tt.want {
			t.Errorf("%s: client IP %q, want %q", tt.fixture, reqs[0].ClientIP, tt.want)
		}
		if !strings.HasPrefix(reqs[0].RemoteAddr, "127.0.0.1:") {
			t.Errorf("remote addr %q", reqs[0].RemoteAddr)
		}
	}
	// The parent has no OverrideAuthorizationClient: client is ignored.
	parent, psrv := start(t, ParentConfig())
	replay(t, psrv, "c07-child-post-bob-with-client-param.request.http")
	if ip := parent.Requests()[0].ClientIP; ip != "127.0.0.1" {
		t.Errorf("parent client IP %q, want the peer", ip)
	}
}

// The FreeRADIUS plugin posts JSON bodies with User-Agent FreeRADIUS; the
// parent's answers were recorded in another run (other threadid).
func TestFixtures_FreeRADIUSPluginRequests(t *testing.T) {
	parent, srv := start(t, ParentConfig())
	for _, name := range []string{
		"P01-parent-bob-bob-parent",
		"P04-parent-bob-bob-parent-again",
		"P05-parent-carol-unknown-user-ERR904",
		"P06-parent-bob-no-password-ERR905",
	} {
		t.Run(name, func(t *testing.T) {
			parent.Reset()
			got := replay(t, srv, "radius/"+name+".request.txt")
			want := recordedAnswer(t, "radius/"+name+".response.txt")
			if got.StatusCode != want.StatusCode {
				t.Errorf("status = %d, want %d", got.StatusCode, want.StatusCode)
			}
			threadid := []string{"detail", "threadid"}
			if g, w := comparable(t, got.body, threadid), comparable(t, want.body, threadid); g != w {
				t.Errorf("body differs from the recording:\n got %s\nwant %s", g, w)
			}
		})
	}
}
