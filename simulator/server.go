package simulator

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edumfa-federation/edumfa-federation/envelope"
)

// maxBodyBytes bounds the request body the simulator reads (larger bodies
// get HTTP 413).
const maxBodyBytes = 1 << 20

// HeaderSimulator names the simulator that answered; every response has it.
const HeaderSimulator = "X-eduMFA-Simulator"

// Server is one simulated eduMFA instance; it implements http.Handler and
// is safe for concurrent use.
type Server struct {
	cfg       Config
	maker     envelope.Maker // without nonce; signing key set unless Unsigned
	jwtSecret []byte
	trusted   []netip.Prefix
	log       *slog.Logger
	started   time.Time

	mu         sync.Mutex
	tokens     []*token
	challenges []*challenge
	records    []Recorded
}

// New returns a simulator configured by cfg. It panics if a TrustedProxies
// entry is not an IP or CIDR prefix, or if no signing key can be generated:
// both are mistakes of the program that configures it.
func New(cfg Config) *Server {
	if cfg.Name == "" {
		cfg.Name = "eduMFA simulator"
	}
	if cfg.Realm == "" {
		cfg.Realm = "simrealm"
	}
	cfg.Realm = strings.ToLower(cfg.Realm)
	if cfg.Version == "" {
		cfg.Version = "2.9.5"
	}
	if cfg.ThreadID == 0 {
		h := fnv.New64a()
		h.Write([]byte(cfg.Name))
		cfg.ThreadID = 139000000000000 + int64(h.Sum64()%1000000000000)
	}
	cfg.Users = maps.Clone(cfg.Users)
	cfg.Admins = maps.Clone(cfg.Admins)
	s := &Server{cfg: cfg, started: time.Now(), log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i, p := range cfg.TrustedProxies {
		prefix, err := parsePrefix(p)
		if err != nil {
			panic(fmt.Sprintf("simulator %q: TrustedProxies[%d]: %v", cfg.Name, i, err))
		}
		s.trusted = append(s.trusted, prefix)
	}
	s.maker = envelope.Maker{Version: "eduMFA " + cfg.Version, VersionNumber: cfg.Version, ThreadID: cfg.ThreadID}
	if !cfg.Unsigned {
		key := cfg.SigningKey
		if key == nil {
			var err error
			if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				panic(fmt.Sprintf("simulator %q: signing key: %v", cfg.Name, err))
			}
		}
		s.maker.Key = key
	}
	s.jwtSecret = make([]byte, 32)
	rand.Read(s.jwtSecret)
	s.tokens = tokensFromConfig(cfg.Users)
	return s
}

// Name is the simulator's configured name.
func (s *Server) Name() string { return s.cfg.Name }

// Realm is the simulator's (lower-cased) realm.
func (s *Server) Realm() string { return s.cfg.Realm }

// PublicKey is the key that verifies the simulator's signatures
// (envelope.Verify); nil if it does not sign.
func (s *Server) PublicKey() *rsa.PublicKey {
	if s.maker.Key == nil {
		return nil
	}
	return &s.maker.Key.PublicKey
}

// reply is a response before the common headers are added.
type reply struct {
	status      int
	contentType string
	body        []byte
	header      http.Header
	// afterRequest: the route matched, so eduMFA's after_request hook ran
	// and set Cache-Control.
	afterRequest bool
}

// call is one request as the handlers see it.
type call struct {
	r        *http.Request
	params   map[string]any // eduMFA's request.all_data
	clientIP string
	maker    envelope.Maker // with the request's nonce
}

// handler answers one route.
type handler func(s *Server, c *call) reply

// route is one eduMFA endpoint the simulator implements.
type route struct {
	methods []string
	handle  handler
	// clientParam: the `client` parameter may set the client IP here
	// (/validate/*, /auth).
	clientParam bool
}

var (
	getPost = []string{http.MethodGet, http.MethodPost}
	get     = []string{http.MethodGet}
	post    = []string{http.MethodPost}
)

var routes = map[string]route{
	"/validate/check":            {getPost, (*Server).validateCheck, true},
	"/validate/radiuscheck":      {getPost, (*Server).validateCheck, true},
	"/validate/samlcheck":        {getPost, (*Server).validateCheck, true},
	"/validate/triggerchallenge": {getPost, (*Server).triggerChallenge, true},
	"/validate/polltransaction":  {get, (*Server).pollTransaction, true},
	"/auth":                      {post, (*Server).auth, true},
	"/token/":                    {get, (*Server).tokenList, false},
	"/token/init":                {post, (*Server).tokenInit, false},
	"/system/":                   {get, (*Server).systemConfig, false},
}

// pollPrefix is the path-variable form /validate/polltransaction/<transaction_id>.
const pollPrefix = "/validate/polltransaction/"

// match finds the route of path and its path variables.
func match(path string) (route, map[string]string, bool) {
	if rt, ok := routes[path]; ok {
		return rt, nil, true
	}
	if id, ok := strings.CutPrefix(path, pollPrefix); ok && id != "" && !strings.Contains(id, "/") {
		return routes["/validate/polltransaction"], map[string]string{"transaction_id": id}, true
	}
	return route{}, nil, false
}

// ServeHTTP answers one request as eduMFA 2.9.5 would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	var rep reply
	var c *call
	switch {
	case err != nil:
		rep = htmlError(http.StatusBadRequest, "Bad Request", "The request body could not be read.")
	case len(body) > maxBodyBytes:
		rep = tooLarge()
	default:
		rep, c = s.dispatch(r, body)
	}

	h := w.Header()
	maps.Copy(h, rep.header)
	h.Set(HeaderSimulator, s.cfg.Name)
	if rep.contentType != "" {
		h.Set("Content-Type", rep.contentType)
	}
	if rep.afterRequest {
		h.Set("Cache-Control", "no-cache")
	}
	if rep.status != http.StatusNoContent {
		h.Set("Content-Length", strconv.Itoa(len(rep.body)))
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)

	s.record(r, body, c, rep.status)
	s.log.Info("simulator request", "simulator", s.cfg.Name, "method", r.Method, "path", r.URL.Path,
		"status", rep.status, "duration", time.Since(start))
}

// dispatch routes the request and runs the handler.
func (s *Server) dispatch(r *http.Request, body []byte) (reply, *call) {
	rt, viewArgs, ok := match(r.URL.Path)
	if !ok {
		if _, slash := routes[r.URL.Path+"/"]; slash {
			return slashRedirect(r), nil
		}
		return notFound(), nil
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if !slices.Contains(rt.methods, method) {
		return methodNotAllowed(rt.methods), nil
	}
	params, err := allData(r, body, viewArgs)
	c := &call{r: r, params: params, maker: s.maker}
	var rep reply
	switch {
	case errors.Is(err, errBadJSON):
		rep = badJSON()
	case err != nil:
		rep = c.fail(envelope.CodeInternal, envelope.InternalErrorMessage)
	default:
		if s.maker.Key != nil {
			// eduMFA's sign_response echoes a nonce parameter; unsigned
			// responses get none.
			if n, ok := params["nonce"]; ok && n != nil && n != "" {
				c.maker.Nonce = n
			}
		}
		var ipErr error
		c.clientIP, ipErr = s.clientIP(r, params, rt.clientParam)
		if ipErr != nil {
			rep = c.fail(envelope.CodeInternal, envelope.InternalErrorMessage)
		} else {
			rep = rt.handle(s, c)
		}
	}
	rep.afterRequest = true
	return rep, c
}

// ok is a success envelope.
func (c *call) ok(id int, value any, detail map[string]any) reply {
	return jsonReply(http.StatusOK, c.maker.Success(id, value, detail))
}

// okObject is a success envelope with an ordered detail.
func (c *call) okObject(id int, value any, detail envelope.Object) reply {
	return jsonReply(http.StatusOK, c.maker.SuccessObject(id, value, detail))
}

// fail is an error envelope with eduMFA's status for the code; message is
// written as given.
func (c *call) fail(code int, message string) reply {
	return jsonReply(envelope.Status(code), c.maker.Error(code, message, nil))
}

// paramError is eduMFA's ParameterError (ERR905).
func (c *call) paramError(text string) reply {
	return c.fail(envelope.CodeParameter, envelope.ErrText(envelope.CodeParameter, text))
}

func jsonReply(status int, body []byte) reply {
	return reply{status: status, contentType: "application/json", body: body}
}
