package simulator

import (
	"maps"
	"net/http"
	"slices"
)

// Recorded is one request a simulator received, as tests inspect it.
type Recorded struct {
	Method string
	// Path is the decoded URL path; RawQuery the query string as sent.
	Path     string
	RawQuery string
	Host     string
	Header   http.Header
	// Body is the raw request body.
	Body       []byte
	RemoteAddr string
	// ClientIP is the client IP the simulator settled on (eduMFA's
	// g.client_ip; see Config.TrustedProxies). Empty if the request was
	// refused before routing.
	ClientIP string
	// Params is eduMFA's request.all_data: the parameters after both URL
	// decodings, JSON bodies and path variables. nil if refused before
	// routing.
	Params map[string]any
	// Status is the HTTP status of the answer.
	Status int
}

func (s *Server) record(r *http.Request, body []byte, c *call, status int) {
	rec := Recorded{
		Method:     r.Method,
		Path:       r.URL.Path,
		RawQuery:   r.URL.RawQuery,
		Host:       r.Host,
		Header:     r.Header.Clone(),
		Body:       slices.Clone(body),
		RemoteAddr: r.RemoteAddr,
		Status:     status,
	}
	if c != nil {
		rec.ClientIP = c.clientIP
		rec.Params = maps.Clone(c.params)
	}
	s.mu.Lock()
	if len(s.records) >= maxRecorded {
		// A long-running dev session must not grow without bound: keep
		// the newest half.
		s.records = append(s.records[:0], s.records[len(s.records)-maxRecorded/2:]...)
	}
	s.records = append(s.records, rec)
	s.mu.Unlock()
}

// maxRecorded bounds the request history a simulator keeps.
const maxRecorded = 10_000

// Requests returns the requests received since New or the last Reset, in
// arrival order (the newest maxRecorded at most).
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records)
}

// Reset forgets the recorded requests and restores the configured tokens
// (PINs, HOTP counters), dropping tokens made by /token/init and all open
// challenges. Issued /auth tokens stay valid.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = nil
	s.challenges = nil
	s.tokens = tokensFromConfig(s.cfg.Users)
}
