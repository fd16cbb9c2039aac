package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/edumfa-federation/edumfa-federation/plugin"
)

// Body limits of the answer.
const (
	// maxRewriteBodyBytes is the largest answer body read whole to set
	// detail.origin; a larger one streams through unchanged. eduMFA's
	// answers are a few KiB; token lists with many tokens may be larger.
	maxRewriteBodyBytes = 8 << 20
	// chunkBytes is the most one Write to the host carries, well inside
	// gRPC's 4 MiB message limit.
	chunkBytes = 32 << 10
)

// relay writes the child's answer to w: status and headers (minus the
// hop-by-hop ones) and the body, with detail.origin set when the body is a
// JSON object. A content-encoded body (a child that ignored our
// Accept-Encoding: identity) passes through unchanged, origin not set:
// rewriting it would mean decoding and encoding it again.
func (h *Handler) relay(ctx context.Context, resp *http.Response, out plugin.Outcome, w plugin.ResponseWriter) plugin.Outcome {
	defer resp.Body.Close()
	encoding := resp.Header.Get("Content-Encoding")
	encoded := encoding != "" && !strings.EqualFold(encoding, "identity")
	var head []byte
	if !encoded && resp.ContentLength <= maxRewriteBodyBytes {
		var err error
		head, err = io.ReadAll(io.LimitReader(resp.Body, maxRewriteBodyBytes+1))
		if err != nil {
			// Nothing written yet: the host can still answer.
			return bodyFailed(ctx, out, err)
		}
		if len(head) <= maxRewriteBodyBytes {
			body, changed := setOrigin(head, out.Origin)
			if err := w.WriteHead(resp.StatusCode, answerHeader(resp.Header, changed)); err != nil {
				return writeFailed(out, err)
			}
			if err := writeChunks(w, body); err != nil {
				return writeFailed(out, err)
			}
			return out
		}
	}
	if err := w.WriteHead(resp.StatusCode, answerHeader(resp.Header, false)); err != nil {
		return writeFailed(out, err)
	}
	if err := writeChunks(w, head); err != nil {
		return writeFailed(out, err)
	}
	buf := make([]byte, chunkBytes)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return writeFailed(out, werr)
			}
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			return bodyFailed(ctx, out, err)
		}
	}
}

// writeChunks writes p in pieces of at most chunkBytes.
func writeChunks(w plugin.ResponseWriter, p []byte) error {
	for len(p) > 0 {
		n := min(len(p), chunkBytes)
		if _, err := w.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func bodyFailed(ctx context.Context, out plugin.Outcome, err error) plugin.Outcome {
	kind, msg := classify(ctx, err)
	if kind == plugin.ErrorUnreachable || kind == plugin.ErrorTLS {
		kind = plugin.ErrorInternal
	}
	out.ErrorKind = kind
	out.ErrorMessage = fmt.Sprintf("server %q: reading the answer: %s", out.Server, msg)
	return out
}

func writeFailed(out plugin.Outcome, err error) plugin.Outcome {
	out.ErrorKind = plugin.ErrorInternal
	out.ErrorMessage = fmt.Sprintf("server %q: writing the answer: %v", out.Server, err)
	return out
}
