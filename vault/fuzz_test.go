package vault

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tillpay/till"
)

// FuzzValidateCard checks that ValidateCard never panics, that a card it
// accepts is well formed and passes the Luhn check, and that no message
// repeats the number.
func FuzzValidateCard(f *testing.F) {
	for _, n := range specTestCards {
		f.Add(n, 12, 2030, "123", "Jane Doe")
	}
	f.Add("4242 4242 4242 4242", 3, 26, "", "")
	f.Add("4242-4242-4242-4241", 0, 0, "12a", "\x00")
	f.Add("378282246310005", 13, 123, "1234", strings.Repeat("x", 201))
	f.Add("6011111111111117", -1, -1, " 999 ", "Ünïcödé")
	f.Add("", 1, 99, "1", "\u202e")
	f.Add("٤٢٤٢", 2, 2026, "\xff", "\xff")
	f.Fuzz(func(t *testing.T, number string, month, year int, cvc, holder string) {
		in := till.Card{Number: number, ExpMonth: month, ExpYear: year, CVC: cvc, HolderName: holder}
		var v till.Validator
		out := ValidateCard(&v, "card", in, testNow)
		err := v.Err()
		if err == nil {
			if !allDigits(out.Number) || !Luhn(out.Number) {
				t.Fatalf("accepted a number that is not Luhn-valid digits (%d chars)", len(out.Number))
			}
			if !validLength(brands[Brand(out.Number)], len(out.Number)) {
				t.Fatalf("accepted a %s number of length %d", Brand(out.Number), len(out.Number))
			}
			if out.ExpMonth < 1 || out.ExpMonth > 12 || out.ExpYear < testNow.Year() || out.ExpYear > testNow.Year()+MaxExpiryYears {
				t.Fatalf("accepted expiry %d/%d", out.ExpMonth, out.ExpYear)
			}
			if out.CVC != "" && (!allDigits(out.CVC) || len(out.CVC) < 3 || len(out.CVC) > 4) {
				t.Fatalf("accepted a CVC of %d characters", len(out.CVC))
			}
			if !utf8.ValidString(out.HolderName) || utf8.RuneCountInString(out.HolderName) > MaxHolderNameLen ||
				strings.ContainsFunc(out.HolderName, isForbiddenInName) {
				t.Fatalf("accepted holder name %q", out.HolderName)
			}
			return
		}
		e, ok := till.AsError(err)
		if !ok {
			t.Fatalf("error of type %T", err)
		}
		texts := []string{err.Error()}
		for _, fe := range e.Fields {
			texts = append(texts, fe.Message)
		}
		// Every message is a fixed sentence whose numbers have at most three
		// digits, so a number of four or more characters must never appear.
		var secrets []string
		for _, s := range []string{number, NormalizeNumber(number), strings.TrimSpace(number), cvc, strings.TrimSpace(cvc)} {
			if digits := strings.Trim(s, "0123456789"); digits == "" && len(s) >= 4 {
				secrets = append(secrets, s)
			}
		}
		for _, text := range texts {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Fatalf("message %q repeats input %q", text, s)
				}
			}
		}
	})
}

// FuzzOpen checks that Open never panics on garbage and opens nothing but
// what Seal produced.
func FuzzOpen(f *testing.F) {
	k := MustKeyring(f, nil, MustMasterKey(f, 1))
	pan, aad := []byte("4242424242424242"), []byte("pm_1")
	sealed, id := MustSeal(f, k, pan, aad)
	f.Add(sealed, id, aad)
	f.Add(sealed[:len(sealed)-1], id, aad)
	f.Add([]byte{}, id, []byte{})
	f.Add([]byte{sealedV1}, id, aad)
	f.Add([]byte{2, 0, 0, 0}, id, aad)
	f.Add(bytes.Repeat([]byte{1}, 29), id, aad)
	f.Add(sealed, "dk_unknown", aad)
	f.Add(sealed, "", []byte(nil))
	f.Fuzz(func(t *testing.T, data []byte, dataKeyID string, ad []byte) {
		got, err := k.Open(data, dataKeyID, ad)
		if err != nil {
			if got != nil {
				t.Fatal("plaintext returned with an error")
			}
			if !errors.Is(err, ErrCannotOpen) && !errors.Is(err, ErrUnknownDataKey) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// Only the untouched seed opens: forging GCM is out of a fuzzer's reach.
		if !bytes.Equal(data, sealed) || dataKeyID != id || !bytes.Equal(ad, aad) || !bytes.Equal(got, pan) {
			t.Fatalf("Open accepted forged input")
		}
	})
}

// FuzzParseMasterKeys checks that ParseMasterKeys never panics and that its
// errors never repeat a key's text.
func FuzzParseMasterKeys(f *testing.F) {
	f.Add("")
	f.Add(strings.Repeat("ab", 32))
	f.Add(strings.Repeat("ab", 31) + "," + strings.Repeat("A", 43))
	f.Add(strings.Repeat("A", 43) + "=")
	f.Add(strings.Repeat("_-", 22))
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseMasterKeys(s)
		if err == nil {
			if len(keys) == 0 {
				t.Fatal("no keys and no error")
			}
			for _, mk := range keys {
				if !strings.HasPrefix(mk.ID, "mk_") || len(mk.ID) != 19 {
					t.Fatalf("ID %q", mk.ID)
				}
			}
			return
		}
		for _, part := range strings.Split(s, ",") {
			if p := strings.TrimSpace(part); len(p) >= 16 && strings.Contains(err.Error(), p) {
				t.Fatalf("error %q repeats key text", err)
			}
		}
	})
}
