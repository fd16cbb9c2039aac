package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/edumfa-federation/edumfa-federation/plugin/pluginpb"
)

// ErrPluginUnavailable marks a call that failed because the plugin process
// could not be reached (it exited, crashed or was stopped). Test with
// errors.Is.
var ErrPluginUnavailable = errors.New("handler plugin unavailable")

// Conn is the host's view of one handler plugin: the Handler calls as the
// host makes them. It is what Client.Conn returns and what tests build with
// go-plugin's in-process helpers.
type Conn struct {
	client pluginpb.HandlerClient
	// done is closed when the plugin process is gone; nil in tests.
	done <-chan struct{}
}

func (c *Conn) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if c.done != nil {
		select {
		case <-c.done:
			return fmt.Errorf("%s: %w: %v", op, ErrPluginUnavailable, err)
		default:
		}
	}
	if isUnavailable(err) {
		return fmt.Errorf("%s: %w: %v", op, ErrPluginUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Describe asks the plugin for its identifier, version and option schema.
func (c *Conn) Describe(ctx context.Context) (Description, error) {
	resp, err := c.client.Describe(ctx, &pluginpb.DescribeRequest{})
	if err != nil {
		return Description{}, c.wrap("describe", err)
	}
	return descriptionFromProto(resp), nil
}

// Configure pushes the server definitions of a rule set to the plugin.
func (c *Conn) Configure(ctx context.Context, servers []Server) error {
	_, err := c.client.Configure(ctx, &pluginpb.ConfigureRequest{Servers: serversToProto(servers)})
	return c.wrap("configure", err)
}

// Do runs an action in the plugin. The returned Reply streams the answer;
// the caller must Close its Body (when Answered). An error means the plugin
// itself failed (errors.Is(err, ErrPluginUnavailable) when it is gone); a
// child that could not be reached is an Outcome, not an error.
func (c *Conn) Do(ctx context.Context, call *Call) (*Reply, error) {
	req, err := callToProto(call)
	if err != nil {
		return nil, fmt.Errorf("do: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.client.Do(ctx, req)
	if err != nil {
		cancel()
		return nil, c.wrap("do", err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		if errors.Is(err, io.EOF) {
			err = errors.New("plugin ended the stream without an answer")
		}
		return nil, c.wrap("do", err)
	}
	switch chunk := first.GetChunk().(type) {
	case *pluginpb.DoChunk_Trailer:
		cancel()
		return &Reply{outcome: outcomeFromProto(chunk.Trailer), done: true}, nil
	case *pluginpb.DoChunk_Head:
		r := &Reply{
			Answered: true,
			Status:   int(chunk.Head.GetStatus()),
			Header:   headersFromProto(chunk.Head.GetHeaders()),
		}
		r.Body = &replyBody{reply: r, stream: stream, cancel: cancel, conn: c}
		return r, nil
	default:
		cancel()
		return nil, c.wrap("do", errors.New("plugin sent a body before the response head"))
	}
}

// Reply is the answer of an action as it streams from the plugin.
type Reply struct {
	// Answered is true when a child (or the handler) produced a response;
	// false when the action failed before any answer (see Outcome).
	Answered bool
	Status   int
	Header   http.Header
	// Body streams the response body; nil unless Answered. Close it.
	Body io.ReadCloser

	mu      sync.Mutex
	outcome Outcome
	done    bool
}

// Outcome returns the action's trailer. It is complete once Body has been
// read to io.EOF (or immediately when not Answered); before that, or when
// the stream broke, ok is false.
func (r *Reply) Outcome() (o Outcome, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcome, r.done
}

type replyBody struct {
	reply  *Reply
	stream interface {
		Recv() (*pluginpb.DoChunk, error)
	}
	cancel  context.CancelFunc
	conn    *Conn
	pending []byte
	err     error
}

func (b *replyBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		chunk, err := b.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("plugin ended the stream without a trailer")
			}
			b.err = b.conn.wrap("do: body", err)
			b.cancel()
			return 0, b.err
		}
		switch c := chunk.GetChunk().(type) {
		case *pluginpb.DoChunk_Body:
			b.pending = c.Body
		case *pluginpb.DoChunk_Trailer:
			b.reply.mu.Lock()
			b.reply.outcome = outcomeFromProto(c.Trailer)
			b.reply.done = true
			b.reply.mu.Unlock()
			b.err = io.EOF
			b.cancel()
		default:
			b.err = b.conn.wrap("do: body", errors.New("second response head"))
			b.cancel()
		}
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

func (b *replyBody) Close() error {
	b.cancel()
	return nil
}
