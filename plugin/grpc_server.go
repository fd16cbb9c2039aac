package plugin

import (
	"context"
	"errors"
	"net/http"

	"github.com/edumfa-federation/edumfa-federation/plugin/pluginpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// bodyChunkBytes is the largest body piece sent in one DoChunk; gRPC's
// default message limit is 4 MiB, a chunk stays far below it.
const bodyChunkBytes = 32 << 10

// grpcServer adapts a Handler to the generated gRPC service.
type grpcServer struct {
	pluginpb.UnimplementedHandlerServer
	impl Handler
}

func (s *grpcServer) Describe(ctx context.Context, _ *pluginpb.DescribeRequest) (*pluginpb.DescribeResponse, error) {
	d, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "describe: %v", err)
	}
	return descriptionToProto(d), nil
}

func (s *grpcServer) Configure(ctx context.Context, req *pluginpb.ConfigureRequest) (*pluginpb.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, serversFromProto(req.GetServers())); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "configure: %v", err)
	}
	return &pluginpb.ConfigureResponse{}, nil
}

func (s *grpcServer) Do(req *pluginpb.DoRequest, stream pluginpb.Handler_DoServer) error {
	call, err := callFromProto(req)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "do: %v", err)
	}
	w := &streamWriter{stream: stream}
	outcome := s.impl.Do(stream.Context(), call, w)
	if w.err != nil {
		// The host went away (or the stream broke): nobody reads a trailer.
		return w.err
	}
	return stream.Send(&pluginpb.DoChunk{Chunk: &pluginpb.DoChunk_Trailer{Trailer: outcomeToProto(outcome)}})
}

// errHeadTwice is returned when a handler writes the head a second time.
var errHeadTwice = errors.New("response head already written")

// errNoHead is returned when a handler writes body bytes before the head.
var errNoHead = errors.New("body written before the response head")

// streamWriter is the ResponseWriter a handler writes to inside the plugin.
type streamWriter struct {
	stream pluginpb.Handler_DoServer
	head   bool
	err    error
}

func (w *streamWriter) WriteHead(statusCode int, header http.Header) error {
	if w.err != nil {
		return w.err
	}
	if w.head {
		return errHeadTwice
	}
	w.head = true
	w.err = w.stream.Send(&pluginpb.DoChunk{Chunk: &pluginpb.DoChunk_Head{Head: &pluginpb.Head{
		Status: int32(statusCode), Headers: headersToProto(header),
	}}})
	return w.err
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.head {
		return 0, errNoHead
	}
	written := 0
	for len(p) > 0 {
		n := min(len(p), bodyChunkBytes)
		// The message is marshalled inside Send, so the slice may be reused
		// by the caller once Send returns.
		if err := w.stream.Send(&pluginpb.DoChunk{Chunk: &pluginpb.DoChunk_Body{Body: p[:n]}}); err != nil {
			w.err = err
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}
