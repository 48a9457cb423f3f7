package till_test

import (
	"testing"

	"github.com/tillpay/till"
)

// TestRedactPANs replaces card numbers, plain or grouped, and leaves other
// numbers (ids, amounts, timestamps that fail Luhn, short runs) alone.
func TestRedactPANs(t *testing.T) {
	for in, want := range map[string]string{
		"No such customer: '4242424242424242'":         "No such customer: '[card number]'",
		"/v1/customers/4242 4242 4242 4242/x":          "/v1/customers/[card number]/x",
		"card 4000-0000-0000-0002 and 378282246310005": "card [card number] and [card number]",
		"amount 1000, id cus_0Vd7QUrBDd5a9v5ZB0JGDq":   "amount 1000, id cus_0Vd7QUrBDd5a9v5ZB0JGDq",
		"1796646233 seconds":                           "1796646233 seconds",
		"4242424242424241 fails Luhn":                  "4242424242424241 fails Luhn",
		"42424242424242424242424 is too long":          "42424242424242424242424 is too long",
		"":                                             "",
		"no digits":                                    "no digits",
		"trailing 4242 ":                               "trailing 4242 ",
		"4242424242424242 1234":                        "[card number] 1234",
		"4242 4242 4242 4242 12/30 cvc":                "[card number] 12/30 cvc",
		"0000000000000000 0000":                        "[card number] 0000",
	} {
		if got := till.RedactPANs(in); got != want {
			t.Errorf("RedactPANs(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRedactPANs checks that no Luhn-valid run of 13–19 digits survives,
// and that text without one comes back unchanged.
func FuzzRedactPANs(f *testing.F) {
	for _, s := range []string{"4242424242424242", "x 5555 5555 5555 4444 y", "12345", "4000-0000-0000-0002-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := till.RedactPANs(s)
		for i := 0; i < len(out); i++ {
			for n := 13; n <= 19 && i+n <= len(out); n++ {
				run := out[i : i+n]
				digitsOnly := true
				for j := 0; j < n; j++ {
					if run[j] < '0' || run[j] > '9' {
						digitsOnly = false
						break
					}
				}
				if digitsOnly && till.Luhn(run) && (i == 0 || out[i-1] < '0' || out[i-1] > '9') && (i+n == len(out) || out[i+n] < '0' || out[i+n] > '9') {
					t.Fatalf("RedactPANs(%q) = %q keeps the card number %q", s, out, run)
				}
			}
		}
	})
}
