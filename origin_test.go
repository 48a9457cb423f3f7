package till

import "testing"

func TestNormalizeOrigin(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"https://shop.example", "https://shop.example", true},
		{"HTTPS://Shop.Example:443/", "https://shop.example", true},
		{"https://shop.example:8443", "https://shop.example:8443", true},
		{"http://localhost:3000", "http://localhost:3000", true},
		{"http://127.0.0.1", "http://127.0.0.1", true},
		{"http://[::1]:8080", "http://[::1]:8080", true},
		{"http://shop.example", "", false},
		{"https://shop.example/checkout", "", false},
		{"https://shop.example?x=1", "", false},
		{"https://shop.example#x", "", false},
		{"https://user:pw@shop.example", "", false},
		{"shop.example", "", false},
		{"ftp://shop.example", "", false},
		{"https://", "", false},
		{"https://shop.example:", "", false},
		{"null", "", false},
		{"", "", false},
	} {
		got, ok := NormalizeOrigin(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
