package simulator

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// parsePrefix reads a TrustedProxies entry: an IP (one host) or a CIDR
// prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// clientIP is eduMFA's g.client_ip: the TCP peer, or the `client`
// parameter when the peer is a trusted proxy and the route honours it. With
// trusted proxies configured, an unparsable `client` is an error whoever
// sends it, as in eduMFA, which parses it before checking the proxy (HTTP 500).
func (s *Server) clientIP(r *http.Request, params map[string]any, clientParam bool) (string, error) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr, nil
	}
	addr := peer.Addr().Unmap()
	if len(s.trusted) == 0 || !clientParam {
		return addr.String(), nil
	}
	v, ok := params["client"]
	if !ok {
		return addr.String(), nil
	}
	client, err := netip.ParseAddr(str(v))
	if err != nil {
		return "", fmt.Errorf("client parameter %q: %w", str(v), err)
	}
	for _, p := range s.trusted {
		// A single-network proxy path may map to any IPv4 client only.
		if p.Contains(addr) && client.Is4() {
			return client.String(), nil
		}
	}
	return addr.String(), nil
}
