package plugin

import (
	"context"
	"net/http"
)

// Handler is what a handler plugin implements. The SDK serves it over gRPC
// (Serve) and the host calls it through a Client; neither side sees protobuf.
type Handler interface {
	// Describe names the handler and lists its actions and their options.
	Describe(ctx context.Context) (Description, error)
	// Configure replaces the servers the handler may use. It is called after
	// start and whenever the host loads a new rule set, before any Do that
	// uses the new set.
	Configure(ctx context.Context, servers []Server) error
	// Do runs one action. It writes the answer to w (head first, then body)
	// and returns the outcome. A handler that cannot produce an answer writes
	// nothing and returns an Outcome with an ErrorKind. Do must honour ctx.
	Do(ctx context.Context, call *Call, w ResponseWriter) Outcome
}

// ResponseWriter receives an action's answer as it streams in.
type ResponseWriter interface {
	// WriteHead sends the status and headers; it must come first and once.
	WriteHead(status int, header http.Header) error
	// Write sends a piece of the body.
	Write(p []byte) (int, error)
}
