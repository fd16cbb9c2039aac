package rules

import (
	"fmt"
	"net/netip"
	"strings"
)

// IPIn reports whether ip matches list, written as eduMFA's `client_ip`
// event condition: comma-separated networks (`10.0.0.0/8`), single
// addresses (a host), IPv4 netmasks (`192.0.2.0/255.255.255.0`), and
// exclusions prefixed with `-` or `!`. The result is true iff some positive
// entry contains ip and no exclusion does; a list of only exclusions never
// matches, an empty list neither.
//
//	IPIn("10.0.0.7", "10.0.0.0/8,-10.0.0.13")  // true
//	IPIn("10.0.0.13", "10.0.0.0/8,-10.0.0.13") // false
//	IPIn("2001:db8::1", "2001:db8::/32")       // true
//	IPIn("10.0.0.7", "::/0")                   // false: versions never mix
//
// Unlike eduMFA (netaddr), IPv4-mapped IPv6 addresses (::ffff:10.0.0.7) and
// networks (::ffff:10.0.0.0/104) are treated as the IPv4 ones they carry: a
// dual-stack listener reports IPv4 clients that way. An IPv6 zone is
// ignored. An unparsable ip or entry is an error.
func IPIn(ip, list string) (bool, error) {
	addr, err := parseClientIP(ip)
	if err != nil {
		return false, err
	}
	var m ipMatch
	if err := m.add(addr, list); err != nil {
		return false, err
	}
	return m.result(), nil
}

// ipMatch accumulates the entries of one or more client_ip lists. Every
// entry is parsed, even after a decision, so that a typo is an error on
// every request and not only for some addresses (eduMFA raises on it too).
type ipMatch struct {
	found, excluded bool
}

func (m *ipMatch) add(addr netip.Addr, list string) error {
	for rest := list; rest != ""; {
		var entry string
		entry, rest, _ = strings.Cut(rest, ",")
		if entry = strings.TrimSpace(entry); entry == "" {
			continue // eduMFA drops empty entries
		}
		e, err := parseIPEntry(entry)
		if err != nil {
			return err
		}
		if e.prefix.Contains(addr) {
			if e.exclude {
				m.excluded = true
			} else {
				m.found = true
			}
		}
	}
	return nil
}

func (m *ipMatch) result() bool { return m.found && !m.excluded }

// ipEntry is one parsed entry of a client_ip list.
type ipEntry struct {
	prefix  netip.Prefix
	exclude bool
}

// checkIPList parses a list without matching, for load-time checks.
func checkIPList(list string) error {
	var m ipMatch
	return m.add(netip.Addr{}, list)
}

func parseIPEntry(s string) (ipEntry, error) {
	var e ipEntry
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "!") {
		e.exclude = true
		s = strings.TrimSpace(s[1:])
	}
	p, err := parseNetwork(s)
	if err != nil {
		return e, err
	}
	e.prefix = p
	return e, nil
}

// parseNetwork parses a CIDR, a single address, or an IPv4 address with a
// dotted netmask, as netaddr's IPNetwork does.
func parseNetwork(s string) (netip.Prefix, error) {
	bad := func() (netip.Prefix, error) { return netip.Prefix{}, fmt.Errorf("ipIn: invalid network %q", s) }
	addrPart, bits, hasBits := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(addrPart)
	if err != nil || addr.Zone() != "" {
		return bad()
	}
	n := addr.BitLen()
	if hasBits {
		if strings.Contains(bits, ".") {
			mask, err := netip.ParseAddr(bits)
			if err != nil || !addr.Is4() || !mask.Is4() {
				return bad()
			}
			if n, err = maskBits(mask); err != nil {
				return bad()
			}
		} else if p, err := netip.ParsePrefix(s); err == nil {
			n = p.Bits()
		} else {
			return bad()
		}
	}
	if addr.Is4In6() && n >= 96 {
		addr, n = addr.Unmap(), n-96
	}
	return netip.PrefixFrom(addr, n).Masked(), nil
}

// maskBits turns a contiguous IPv4 netmask into a prefix length.
func maskBits(mask netip.Addr) (int, error) {
	b := mask.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&(1<<31) != 0 {
		n++
		v <<= 1
	}
	if v != 0 {
		return 0, fmt.Errorf("non-contiguous netmask %s", mask)
	}
	return n, nil
}

// parseClientIP parses the address to test: zone dropped, IPv4-mapped IPv6
// unmapped.
func parseClientIP(s string) (netip.Addr, error) {
	addr, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("ipIn: invalid IP address %q", s)
	}
	return addr.WithZone("").Unmap(), nil
}
