package till

import (
	"net/netip"
	"net/url"
	"strings"
)

// nonPublic are the IPv4 and IPv6 ranges a live-mode webhook may never
// reach, with the reason shown when one is refused.
var nonPublic = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::ffff:0:0/96"), "IPv4-mapped"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
	{netip.MustParsePrefix("fc00::/7"), "unique local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// ForbiddenAddr returns why a live-mode webhook may not connect to a — a
// loopback, private, link-local, metadata, shared, multicast, reserved or
// IPv4-embedding address — or "" for a public unicast address. An
// IPv4-mapped IPv6 address is refused outright rather than unwrapped.
func ForbiddenAddr(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("")
	for _, n := range nonPublic {
		if n.prefix.Contains(a) {
			return n.reason
		}
	}
	return ""
}

// CheckWebhookURL checks a webhook endpoint's URL: an absolute http or
// https URL with a host, no user info and no fragment, at most 2048 bytes.
// In live mode it must be https and may not name localhost or an address
// ForbiddenAddr refuses (host names are checked again when dialing).
func CheckWebhookURL(raw string, livemode bool) error {
	bad := func(format string, args ...any) error { return ParamError(EValidation, "url", format, args...) }
	if raw == "" {
		return bad("url is required")
	}
	if len(raw) > 2048 {
		return bad("url can be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return bad("url must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("url must use http or https, not %s", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return bad("url has no host")
	}
	if u.User != nil {
		return bad("url cannot hold a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("url cannot have a fragment")
	}
	if !livemode {
		return nil
	}
	if u.Scheme != "https" {
		return bad("live-mode webhook URLs must use https")
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return bad("live-mode webhooks cannot target localhost")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if why := ForbiddenAddr(a); why != "" {
			return bad("live-mode webhooks cannot target a %s address (%s)", why, host)
		}
	}
	return nil
}
