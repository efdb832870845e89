package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Destinations are checked against server-side request forgery: a webhook
// is a request the server makes to a URL a user chose, and without checks
// it would reach what only the server can reach (its own loopback
// services, the cloud's metadata address, the operator's private network).
// See docs/SECURITY.md, "Webhooks".

// maxURL bounds a destination's length.
const maxURL = 2000

// Resolver resolves a destination's host name at creation.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var defaultResolver Resolver = net.DefaultResolver

// resolveTimeout bounds the look-up of a destination at creation.
const resolveTimeout = 5 * time.Second

// CheckDestination parses raw as a webhook destination and says what is
// wrong with it ("" when nothing): an absolute http or https URL with a
// host, no user name or password (a credential in a URL ends up in logs),
// no fragment; and, unless allowPrivate, a host whose every address is
// public (Forbidden). A name that does not resolve is refused too: it
// could not be delivered to. The sender checks the address again at every
// connection (Dialer), since a name may resolve elsewhere later.
func CheckDestination(ctx context.Context, raw string, allowPrivate bool, r Resolver) (*url.URL, string) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return nil, "is required"
	case len(raw) > maxURL:
		return nil, fmt.Sprintf("at most %d characters", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return nil, "must be an absolute http or https URL"
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, "must be an http or https URL"
	case u.Hostname() == "":
		return nil, "must name a host"
	case u.User != nil:
		return nil, "must not hold a user name or password"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, "must not have a fragment"
	}
	if allowPrivate {
		return u, ""
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if Forbidden(ip) {
			return nil, "names a loopback, private, link-local or unspecified address, which webhooks may not reach"
		}
		return u, ""
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") || strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".localhost") {
		return nil, "names this machine, which webhooks may not reach"
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil, "the host name does not resolve"
	}
	for _, a := range addrs {
		if Forbidden(a) {
			return nil, "the host name resolves to a loopback, private, link-local or unspecified address, which webhooks may not reach"
		}
	}
	return u, ""
}

// forbiddenRanges are the ranges beyond the standard library's predicates:
// shared address space (carrier-grade NAT), "this network", the IETF
// protocol assignments, benchmarking, the reserved and broadcast block,
// and NAT64's well-known prefix, which maps onto IPv4 (possibly private).
var forbiddenRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// Forbidden tells whether a webhook may not reach ip: loopback, private
// (RFC 1918, unique local IPv6), link-local (the cloud metadata service's
// 169.254.169.254 among them), unspecified, multicast, and the ranges of
// forbiddenRanges. An IPv4 address mapped into IPv6 is judged as IPv4.
func Forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range forbiddenRanges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// errForbiddenAddress refuses a connection to a forbidden address.
var errForbiddenAddress = errors.New("the destination's address is loopback, private, link-local or unspecified, which webhooks may not reach")

// Dialer returns the dialer of the sender: connect timeout, and, unless
// allowPrivate, a Control that refuses every forbidden address at the
// moment of connecting, whatever the name resolved to when the webhook was
// made (DNS rebinding).
func Dialer(connectTimeout time.Duration, allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || Forbidden(ap.Addr()) {
				return errForbiddenAddress
			}
			return nil
		}
	}
	return d
}
