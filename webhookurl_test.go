package till_test

import (
	"net/netip"
	"testing"

	"github.com/tillpay/till"
)

func TestForbiddenAddr(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"127.0.0.1", "loopback"}, {"127.255.0.9", "loopback"}, {"::1", "loopback"},
		{"10.1.2.3", "private"}, {"172.16.0.1", "private"}, {"172.31.255.255", "private"}, {"192.168.1.1", "private"},
		{"169.254.169.254", "cloud metadata"}, {"169.254.1.1", "link-local"}, {"fe80::1", "link-local"}, {"fe80::1%eth0", "link-local"},
		{"fd00:ec2::254", "cloud metadata"}, {"fd12:3456::1", "unique local"}, {"fc00::1", "unique local"},
		{"100.64.0.1", "carrier-grade NAT"}, {"100.127.255.254", "carrier-grade NAT"},
		{"224.0.0.1", "multicast"}, {"239.1.1.1", "multicast"}, {"ff02::1", "multicast"},
		{"0.0.0.0", "unspecified"}, {"::", "unspecified"}, {"0.1.2.3", "unspecified"},
		{"255.255.255.255", "broadcast"}, {"240.0.0.1", "reserved"},
		{"::ffff:127.0.0.1", "IPv4-mapped"}, {"::ffff:8.8.8.8", "IPv4-mapped"}, {"::127.0.0.1", "IPv4-compatible"},
		{"64:ff9b::a00:1", "NAT64"}, {"2002:a00:1::", "6to4"}, {"2001:0:4136:e378::1", "Teredo"},
		{"8.8.8.8", ""}, {"1.1.1.1", ""}, {"100.128.0.1", ""}, {"172.32.0.1", ""}, {"2606:4700::1111", ""}, {"2a00:1450:4001::200e", ""},
	} {
		if got := till.ForbiddenAddr(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("ForbiddenAddr(%s) = %q, want %q", c.addr, got, c.want)
		}
	}
}

func TestCheckWebhookURL(t *testing.T) {
	for _, c := range []struct {
		url  string
		live bool
		ok   bool
	}{
		{"https://hooks.example.com/till", true, true},
		{"https://8.8.8.8/hook", true, true},
		{"http://localhost:3000/hooks", false, true},
		{"http://127.0.0.1:3000/hooks", false, true},
		{"http://hooks.example.com/till", true, false},
		{"https://localhost/x", true, false},
		{"https://api.localhost/x", true, false},
		{"https://127.0.0.1/x", true, false},
		{"https://[::1]/x", true, false},
		{"https://[::ffff:10.0.0.1]/x", true, false},
		{"https://169.254.169.254/latest/meta-data", true, false},
		{"https://[fd00:ec2::254]/", true, false},
		{"https://10.0.0.8/x", true, false},
		{"", false, false},
		{"/relative", false, false},
		{"ftp://example.com/x", false, false},
		{"https://user:pw@example.com/x", false, false},
		{"https://example.com/x#frag", false, false},
		{"https:///nohost", false, false},
		{"mailto:a@example.com", false, false},
		{"https://example.com/" + string(make([]byte, 2048)), false, false},
	} {
		err := till.CheckWebhookURL(c.url, c.live)
		if (err == nil) != c.ok {
			t.Errorf("CheckWebhookURL(%q, live=%v) = %v, want ok=%v", c.url, c.live, err, c.ok)
		}
		if e, isErr := till.AsError(err); err != nil && (!isErr || e.Code != till.EValidation || e.Param != "url") {
			t.Errorf("CheckWebhookURL(%q): %#v, want a validation error about url", c.url, err)
		}
	}
}
