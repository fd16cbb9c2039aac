package host

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is what the host determined about who is calling.
type clientAddr struct {
	// IP is g.client_ip.
	IP string
	// Peer is the TCP peer's address.
	Peer string
	// PeerTrusted is true when the peer is one of the trusted proxies.
	PeerTrusted bool
}

// trustedProxies is the parsed trusted_proxies list.
type trustedProxies []netip.Prefix

func (t trustedProxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerIP returns the IP of r's TCP peer.
func peerIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// resolveClient determines g.client_ip. The peer's address counts, unless
// the peer is a trusted proxy: then the rightmost X-Forwarded-For hop that
// is not itself trusted is the client. When every hop is trusted and the
// endpoint is one where eduMFA honours the `client` parameter (/validate/,
// /auth, /ttype/), a valid `client` parameter names the client, as eduMFA's
// OverrideAuthorizationClient does for a fully trusted path.
func (t trustedProxies) resolveClient(r *http.Request, clientParam string) clientAddr {
	peer := peerIP(r)
	out := clientAddr{IP: peer.String(), Peer: peer.String()}
	if !peer.IsValid() || !t.contains(peer) {
		return out
	}
	out.PeerTrusted = true
	hops := forwardedHops(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			// A hop we cannot read ends the trusted chain: the hop we
			// have is the deepest one we can vouch for.
			return out
		}
		a = a.Unmap().WithZone("") // fe80::1%eth0 names no client elsewhere
		out.IP = a.String()
		if !t.contains(a) {
			return out
		}
	}
	if clientParam != "" && honoursClientParam(r.URL.Path) {
		if a, err := netip.ParseAddr(strings.TrimSpace(clientParam)); err == nil {
			out.IP = a.Unmap().WithZone("").String()
		}
	}
	return out
}

// forwardedHops splits every X-Forwarded-For header into its hops, leftmost
// (farthest) first.
func forwardedHops(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, part := range strings.Split(v, ",") {
			if p := strings.TrimSpace(part); p != "" {
				hops = append(hops, p)
			}
		}
	}
	return hops
}

// honoursClientParam reports whether eduMFA reads the `client` parameter on
// this path (validate, ttype and auth blueprints, spec §3).
func honoursClientParam(path string) bool {
	return strings.HasPrefix(path, "/validate/") || strings.HasPrefix(path, "/ttype/") || path == "/auth"
}

// forwardedFor is the X-Forwarded-For the gateway sends on: the incoming
// chain plus the peer when the peer is trusted, else just the client.
func forwardedFor(r *http.Request, c clientAddr) string {
	if c.PeerTrusted {
		if hops := forwardedHops(r.Header); len(hops) > 0 {
			return strings.Join(hops, ", ") + ", " + c.Peer
		}
	}
	return c.IP
}
