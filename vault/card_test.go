package vault

import (
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// testNow is the clock of the validation tests: mid-March 2026, UTC.
var testNow = time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)

// withCheckDigit returns partial followed by the digit that makes it pass
// the Luhn check.
func withCheckDigit(partial string) string {
	for d := '0'; d <= '9'; d++ {
		if n := partial + string(d); Luhn(n) {
			return n
		}
	}
	panic("unreachable")
}

// padded returns prefix followed by zeros and a check digit, n digits long.
func padded(prefix string, n int) string {
	return withCheckDigit(prefix + strings.Repeat("0", n-len(prefix)-1))
}

// validate runs ValidateCard and returns the result and the field errors by
// field name (without the "card." prefix).
func validate(tb testing.TB, c till.Card, now time.Time) (till.Card, map[string]string) {
	tb.Helper()
	var v till.Validator
	out := ValidateCard(&v, "card", c, now)
	got := map[string]string{}
	if err := v.Err(); err != nil {
		e, ok := till.AsError(err)
		if !ok {
			tb.Fatalf("Validator.Err() = %T, want *till.Error", err)
		}
		if e.Code != till.EValidation {
			tb.Errorf("code = %s, want %s", e.Code, till.EValidation)
		}
		for _, f := range e.Fields {
			name := strings.TrimPrefix(f.Field, "card.")
			if _, dup := got[name]; dup {
				tb.Errorf("field %s reported twice", f.Field)
			}
			got[name] = f.Message
		}
	}
	return out, got
}

func TestNormalizeNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"4242424242424242", "4242424242424242"},
		{"4242 4242 4242 4242", "4242424242424242"},
		{"4242-4242-4242-4242", "4242424242424242"},
		{" 4242 - 4242\u00a04242\t4242 ", "4242424242424242"},
		{"4242x4242", "4242x4242"},
	}
	for _, tt := range tests {
		if got := NormalizeNumber(tt.in); got != tt.want {
			t.Errorf("NormalizeNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBrand(t *testing.T) {
	tests := []struct {
		number string
		want   string
	}{
		{"4242424242424242", BrandVisa},
		{"4111 1111 1111 1111", BrandVisa},
		{"4", BrandVisa},
		{"5105105105105100", BrandMastercard},
		{"5555555555554444", BrandMastercard},
		{"5100000000000000", BrandMastercard},
		{"5599999999999999", BrandMastercard},
		{"2221000000000009", BrandMastercard},
		{"2720990000000000", BrandMastercard},
		{"2220990000000000", BrandUnknown},
		{"2721000000000000", BrandUnknown},
		{"378282246310005", BrandAmex},
		{"341111111111111", BrandAmex},
		{"351111111111111", BrandUnknown},
		{"6011111111111117", BrandDiscover},
		{"6440000000000000", BrandDiscover},
		{"6490000000000000", BrandDiscover},
		{"6500000000000000", BrandDiscover},
		{"6221260000000000", BrandDiscover},
		{"6229250000000000", BrandDiscover},
		{"6221250000000000", BrandUnionPay},
		{"6229260000000000", BrandUnionPay},
		{"6200000000000000", BrandUnionPay},
		{"6430000000000000", BrandUnknown},
		{"30569309025904", BrandDiners},
		{"30000000000004", BrandDiners},
		{"30600000000000", BrandUnknown},
		{"30950000000000", BrandDiners},
		{"36227206271667", BrandDiners},
		{"38520000023237", BrandDiners},
		{"39000000000000", BrandDiners},
		{"3530111333300000", BrandJCB},
		{"3528000000000000", BrandJCB},
		{"3589000000000000", BrandJCB},
		{"3527000000000000", BrandUnknown},
		{"3590000000000000", BrandUnknown},
		{"5018000000000000", BrandMaestro},
		{"5600000000000000", BrandMaestro},
		{"5899000000000000", BrandMaestro},
		{"6304000000000000", BrandMaestro},
		{"6759000000000000", BrandMaestro},
		{"6761000000000000", BrandMaestro},
		{"6767700000000000", BrandMaestro},
		{"6767740000000000", BrandMaestro},
		{"6767710000000000", BrandUnknown},
		{"1234567890123", BrandUnknown},
		{"9", BrandUnknown},
		{"", BrandUnknown},
		{"42x", BrandUnknown},
	}
	for _, tt := range tests {
		if got := Brand(tt.number); got != tt.want {
			t.Errorf("Brand(%q) = %q, want %q", tt.number, got, tt.want)
		}
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		number string
		want   bool
	}{
		{"4242424242424242", true},
		{"4242424242424241", false},
		{"378282246310005", true},
		{"378282246310006", false},
		{"79927398713", true},
		{"79927398710", false},
		{"0", true},
		{"", false},
		{"4242 4242 4242 4242", false},
		{"42a2", false},
		{"٤٢", false}, // non-ASCII digits
	}
	for _, tt := range tests {
		if got := Luhn(tt.number); got != tt.want {
			t.Errorf("Luhn(%q) = %v, want %v", tt.number, got, tt.want)
		}
	}
}

// specTestCards are the simulator's test cards of SPEC §4a.
var specTestCards = []string{
	"4242424242424242", "5555555555554444", "378282246310005",
	"4000000000000002", "4000000000009995", "4000000000000119",
	"4000002760003184", "4000000000000259", "4000000000001000",
	"4000000000002008", "4000000000003006", "4000000000004004",
	"4000000000000127", "4000000000000069",
}

func TestValidateCardSpecTestCards(t *testing.T) {
	for _, number := range specTestCards {
		t.Run(number, func(t *testing.T) {
			cvc := "123"
			if Brand(number) == BrandAmex {
				cvc = "1234"
			}
			out, errs := validate(t, till.Card{Number: number, ExpMonth: 12, ExpYear: 2030, CVC: cvc, HolderName: "Jane Doe"}, testNow)
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			if out.Number != number {
				t.Errorf("number changed")
			}
		})
	}
	for number, brand := range map[string]string{
		"4242424242424242": BrandVisa, "5555555555554444": BrandMastercard, "378282246310005": BrandAmex,
	} {
		if got := Brand(number); got != brand {
			t.Errorf("Brand(%s) = %s, want %s", number, got, brand)
		}
	}
}

func TestValidateCardNumber(t *testing.T) {
	tests := []struct {
		name    string
		number  string
		wantErr string // substring of the number's message; "" for valid
	}{
		{"visa 16", "4242424242424242", ""},
		{"visa 13", padded("4", 13), ""},
		{"visa 19", padded("4", 19), ""},
		{"visa 15", padded("4", 15), "13, 16 or 19 digits for Visa"},
		{"visa 17", padded("4", 17), "13, 16 or 19 digits for Visa"},
		{"spaces", "4242 4242 4242 4242", ""},
		{"dashes", "4242-4242-4242-4242", ""},
		{"mastercard 16", "5555555555554444", ""},
		{"mastercard 2-series", padded("2223", 16), ""},
		{"mastercard 15", padded("55", 15), "16 digits for Mastercard"},
		{"mastercard 19", padded("55", 19), "16 digits for Mastercard"},
		{"amex 15", "378282246310005", ""},
		{"amex 16", padded("37", 16), "15 digits for American Express"},
		{"discover 16", "6011111111111117", ""},
		{"discover 19", padded("6011", 19), ""},
		{"discover 15", padded("6011", 15), "16 to 19 digits for Discover"},
		{"diners 14", "30569309025904", ""},
		{"diners 13", padded("36", 13), "14 to 19 digits for Diners Club"},
		{"jcb 16", "3530111333300000", ""},
		{"jcb 15", padded("3530", 15), "16 to 19 digits for JCB"},
		{"unionpay 16", padded("62", 16), ""},
		{"unionpay 19", padded("62", 19), ""},
		{"maestro 12", padded("6759", 12), ""},
		{"maestro 19", padded("5018", 19), ""},
		{"unknown 12", padded("9", 12), ""},
		{"unknown 19", padded("9", 19), ""},
		{"unknown 11", padded("9", 11), "12 to 19 digits"},
		{"unknown 20", padded("9", 20), "12 to 19 digits"},
		{"visa 20", padded("4", 20), "for Visa"},
		{"short", "4242", "for Visa"},
		{"luhn", "4242424242424241", "invalid"},
		{"luhn amex", "378282246310006", "invalid"},
		{"letters", "4242x42424242424", "only digits"},
		{"unicode digits", "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "only digits"},
		{"empty", "", "required"},
		{"only spaces", "  - ", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs := validate(t, till.Card{Number: tt.number, ExpMonth: 12, ExpYear: 2030}, testNow)
			msg, bad := errs["number"]
			switch {
			case tt.wantErr == "" && bad:
				t.Fatalf("unexpected error: %s", msg)
			case tt.wantErr != "" && !bad:
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(msg, tt.wantErr):
				t.Fatalf("message %q does not contain %q", msg, tt.wantErr)
			}
			if len(errs) > 1 || (len(errs) == 1 && !bad) {
				t.Errorf("errors on other fields: %v", errs)
			}
			if tt.wantErr == "" && out.Number != NormalizeNumber(tt.number) {
				t.Errorf("Number not normalized")
			}
		})
	}
}

func TestValidateCardExpiry(t *testing.T) {
	endOfMarch := time.Date(2026, time.March, 31, 23, 59, 59, 999999999, time.UTC)
	startOfApril := time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC)
	// 1 April 09:00 in Sydney is still 31 March in UTC.
	sydney := time.FixedZone("AEDT", 11*3600)
	aprilInSydney := time.Date(2026, time.April, 1, 9, 0, 0, 0, sydney)
	// 31 March 20:00 in New York is 1 April in UTC.
	newYork := time.FixedZone("EDT", -4*3600)
	marchInNewYork := time.Date(2026, time.March, 31, 20, 0, 0, 0, newYork)
	// December rolls into the next year.
	endOfDecember := time.Date(2026, time.December, 31, 23, 59, 59, 0, time.UTC)

	tests := []struct {
		name     string
		month    int
		year     int
		now      time.Time
		wantYear int    // normalized year when valid
		wantErr  string // "field: substring"; "" for valid
	}{
		{"this month", 3, 2026, testNow, 2026, ""},
		{"next month", 4, 2026, testNow, 2026, ""},
		{"last month", 2, 2026, testNow, 0, "expMonth: expired"},
		{"last year", 12, 2025, testNow, 0, "expYear: expired"},
		{"two-digit year", 3, 26, testNow, 2026, ""},
		{"two-digit year future", 1, 30, testNow, 2030, ""},
		{"two-digit year past", 12, 25, testNow, 0, "expYear: expired"},
		{"two-digit 99", 1, 99, testNow, 0, "expYear: more than 50 years"},
		{"single-digit year", 1, 9, testNow, 0, "expYear: expired"},
		{"end of expiry month", 3, 2026, endOfMarch, 2026, ""},
		{"start of next month", 3, 2026, startOfApril, 0, "expMonth: expired"},
		{"UTC decides, ahead of UTC", 3, 2026, aprilInSydney, 2026, ""},
		{"UTC decides, behind UTC", 3, 2026, marchInNewYork, 0, "expMonth: expired"},
		{"December through year end", 12, 2026, endOfDecember, 2026, ""},
		{"December after year end", 12, 2026, endOfDecember.Add(time.Second), 0, "expYear: expired"},
		{"50 years ahead", 12, 2076, testNow, 2076, ""},
		{"51 years ahead", 1, 2077, testNow, 0, "expYear: more than 50 years"},
		{"three-digit year", 1, 202, testNow, 0, "expYear: 2 or 4 digits"},
		{"five-digit year", 1, 20260, testNow, 0, "expYear: 2 or 4 digits"},
		{"negative year", 1, -26, testNow, 0, "expYear: 2 or 4 digits"},
		{"missing year", 1, 0, testNow, 0, "expYear: required"},
		{"missing month", 0, 2030, testNow, 0, "expMonth: required"},
		{"month 13", 13, 2030, testNow, 0, "expMonth: between 1 and 12"},
		{"month -1", -1, 2030, testNow, 0, "expMonth: between 1 and 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs := validate(t, till.Card{Number: "4242424242424242", ExpMonth: tt.month, ExpYear: tt.year}, tt.now)
			if tt.wantErr == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				if out.ExpYear != tt.wantYear || out.ExpMonth != tt.month {
					t.Fatalf("expiry = %d/%d, want %d/%d", out.ExpMonth, out.ExpYear, tt.month, tt.wantYear)
				}
				return
			}
			field, want, _ := strings.Cut(tt.wantErr, ": ")
			msg, ok := errs[field]
			if !ok || !strings.Contains(msg, want) {
				t.Fatalf("errors = %v, want %s containing %q", errs, field, want)
			}
			if len(errs) != 1 {
				t.Errorf("more than one error: %v", errs)
			}
		})
	}
}

func TestValidateCardCVC(t *testing.T) {
	tests := []struct {
		name    string
		number  string
		cvc     string
		wantCVC string
		wantErr string
	}{
		{"absent", "4242424242424242", "", "", ""},
		{"visa 3", "4242424242424242", "123", "123", ""},
		{"visa 4", "4242424242424242", "1234", "", "3 digits for Visa"},
		{"visa 2", "4242424242424242", "12", "", "3 digits for Visa"},
		{"amex 4", "378282246310005", "1234", "1234", ""},
		{"amex 3", "378282246310005", "123", "", "4 digits for American Express"},
		{"trimmed", "4242424242424242", " 123 ", "123", ""},
		{"letters", "4242424242424242", "12a", "", "only digits"},
		{"inner space", "4242424242424242", "1 23", "", "only digits"},
		{"unknown brand 3", padded("9", 16), "123", "123", ""},
		{"unknown brand 4", padded("9", 16), "1234", "", "3 digits"},
		// With an unreadable number the brand is unknown: 3 or 4 digits pass,
		// so only the number is reported.
		{"unreadable number 4", "37828224631000x", "1234", "1234", ""},
		{"unreadable number 5", "37828224631000x", "12345", "", "3 or 4 digits"},
		{"unreadable number letters", "", "abc", "", "only digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs := validate(t, till.Card{Number: tt.number, ExpMonth: 12, ExpYear: 2030, CVC: tt.cvc}, testNow)
			msg, bad := errs["cvc"]
			switch {
			case tt.wantErr == "" && bad:
				t.Fatalf("unexpected error: %s", msg)
			case tt.wantErr != "" && !bad:
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(msg, tt.wantErr):
				t.Fatalf("message %q does not contain %q", msg, tt.wantErr)
			case tt.wantErr == "" && out.CVC != tt.wantCVC:
				t.Fatalf("CVC = %q, want %q", out.CVC, tt.wantCVC)
			}
			if tt.cvc != "" && strings.Contains(msg, strings.TrimSpace(tt.cvc)) && len(strings.TrimSpace(tt.cvc)) >= 3 {
				t.Errorf("message %q repeats the CVC", msg)
			}
		})
	}
}

func TestValidateCardHolderName(t *testing.T) {
	tests := []struct {
		name     string
		holder   string
		wantName string
		wantErr  string
	}{
		{"empty", "", "", ""},
		{"plain", "Jane Doe", "Jane Doe", ""},
		{"trimmed", "  Jane Doe \n", "Jane Doe", ""},
		{"accents", "Jürgen Müller-Lüdenscheidt", "Jürgen Müller-Lüdenscheidt", ""},
		{"200 characters", strings.Repeat("ü", 200), strings.Repeat("ü", 200), ""},
		{"201 characters", strings.Repeat("ü", 201), "", "at most 200"},
		{"NUL", "Jane\x00Doe", "", "control"},
		{"newline inside", "Jane\nDoe", "", "control"},
		{"DEL", "Jane\x7fDoe", "", "control"},
		{"C1", "Jane\u0085Doe", "", "control"},
		{"bidi override", "Jane\u202eeoD", "", "control"},
		{"invalid UTF-8", "Jane\xffDoe", "", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs := validate(t, till.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, HolderName: tt.holder}, testNow)
			msg, bad := errs["holderName"]
			switch {
			case tt.wantErr == "" && bad:
				t.Fatalf("unexpected error: %s", msg)
			case tt.wantErr != "" && !bad:
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(msg, tt.wantErr):
				t.Fatalf("message %q does not contain %q", msg, tt.wantErr)
			case tt.wantErr == "" && out.HolderName != tt.wantName:
				t.Fatalf("HolderName = %q, want %q", out.HolderName, tt.wantName)
			}
		})
	}
}

func TestValidateCardReportsEveryField(t *testing.T) {
	_, errs := validate(t, till.Card{
		Number: "4242424242424241", ExpMonth: 13, ExpYear: 123, CVC: "x", HolderName: "\x01",
	}, testNow)
	for _, f := range []string{"number", "expMonth", "expYear", "cvc", "holderName"} {
		if _, ok := errs[f]; !ok {
			t.Errorf("no error for %s; got %v", f, errs)
		}
	}
}

// TestValidateCardNeverEchoes checks that neither the number nor the CVC
// appears in any message of the resulting error, whatever is wrong.
func TestValidateCardNeverEchoes(t *testing.T) {
	cards := []till.Card{
		{Number: "4242424242424241", ExpMonth: 12, ExpYear: 2030, CVC: "98765"},
		{Number: "4242 4242 4242 4241", ExpMonth: 12, ExpYear: 2030},
		{Number: padded("4", 15), ExpMonth: 1, ExpYear: 2020, CVC: "4567"},
		{Number: padded("37", 16), ExpMonth: 0, ExpYear: 0, CVC: "987"},
		{Number: "42424242x4242424", ExpMonth: 12, ExpYear: 2030, CVC: "98a7"},
		{Number: padded("9", 25), ExpMonth: 12, ExpYear: 2030},
		{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "98765"},
	}
	for _, c := range cards {
		var v till.Validator
		ValidateCard(&v, "card", c, testNow)
		err := v.Err()
		if err == nil {
			t.Fatalf("%v: no error", c)
		}
		e, _ := till.AsError(err)
		texts := []string{err.Error(), e.Message}
		for _, f := range e.Fields {
			texts = append(texts, f.Message)
		}
		secrets := []string{c.Number, NormalizeNumber(c.Number), c.Number[len(c.Number)-4:]}
		if c.CVC != "" {
			secrets = append(secrets, c.CVC)
		}
		for _, text := range texts {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("%v: message %q contains %q", c, text, s)
				}
			}
		}
	}
}
