package plugin

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// isUnavailable reports whether a gRPC error says the plugin cannot be
// reached (process gone, connection refused or reset).
func isUnavailable(err error) bool {
	s, ok := status.FromError(err)
	return ok && s.Code() == codes.Unavailable
}
