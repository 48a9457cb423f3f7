package tax

import (
	"regexp"
	"strings"
)

// euMembers are the ISO codes of the 27 EU member states (Greece as GR).
var euMembers = map[string]bool{
	"AT": true, "BE": true, "BG": true, "CY": true, "CZ": true, "DE": true, "DK": true,
	"EE": true, "ES": true, "FI": true, "FR": true, "GR": true, "HR": true, "HU": true,
	"IE": true, "IT": true, "LT": true, "LU": true, "LV": true, "MT": true, "NL": true,
	"PL": true, "PT": true, "RO": true, "SE": true, "SI": true, "SK": true,
}

// IsEU reports whether country, an ISO 3166-1 alpha-2 code in any case, is an
// EU member state. "EL" is accepted for Greece.
func IsEU(country string) bool { return euMembers[normCountry(country)] }

// vatFormats holds, per member state's ISO code, its VAT prefix and the format
// of the number after the prefix, as published by the European Commission for
// VIES ("VAT identification number structure"): 9 is a digit, L a letter, X a
// letter or digit.
var vatFormats = map[string]struct {
	prefix string
	body   *regexp.Regexp
}{
	"AT": {"AT", regexp.MustCompile(`^U[0-9]{8}$`)},                                        // ATU99999999
	"BE": {"BE", regexp.MustCompile(`^[01][0-9]{9}$`)},                                     // BE0999999999 (numbers starting with 1 are issued since 2023)
	"BG": {"BG", regexp.MustCompile(`^[0-9]{9,10}$`)},                                      // BG999999999 or BG9999999999
	"CY": {"CY", regexp.MustCompile(`^[0-9]{8}[A-Z]$`)},                                    // CY99999999L
	"CZ": {"CZ", regexp.MustCompile(`^[0-9]{8,10}$`)},                                      // CZ99999999 to CZ9999999999
	"DE": {"DE", regexp.MustCompile(`^[0-9]{9}$`)},                                         // DE999999999
	"DK": {"DK", regexp.MustCompile(`^[0-9]{8}$`)},                                         // DK99 99 99 99
	"EE": {"EE", regexp.MustCompile(`^[0-9]{9}$`)},                                         // EE999999999
	"ES": {"ES", regexp.MustCompile(`^([A-Z][0-9]{7}[A-Z0-9]|[0-9]{8}[A-Z])$`)},            // ESX9999999X, first and last not both digits
	"FI": {"FI", regexp.MustCompile(`^[0-9]{8}$`)},                                         // FI99999999
	"FR": {"FR", regexp.MustCompile(`^[0-9A-HJ-NP-Z]{2}[0-9]{9}$`)},                        // FRXX999999999, X not I or O
	"GR": {"EL", regexp.MustCompile(`^[0-9]{9}$`)},                                         // EL999999999
	"HR": {"HR", regexp.MustCompile(`^[0-9]{11}$`)},                                        // HR99999999999
	"HU": {"HU", regexp.MustCompile(`^[0-9]{8}$`)},                                         // HU99999999
	"IE": {"IE", regexp.MustCompile(`^([0-9]{7}[A-W][A-IW]?|[0-9][A-Z+*][0-9]{5}[A-W])$`)}, // IE9999999L, IE9999999WI, IE9S99999L
	"IT": {"IT", regexp.MustCompile(`^[0-9]{11}$`)},                                        // IT99999999999
	"LT": {"LT", regexp.MustCompile(`^([0-9]{9}|[0-9]{12})$`)},                             // LT999999999 or LT999999999999
	"LU": {"LU", regexp.MustCompile(`^[0-9]{8}$`)},                                         // LU99999999
	"LV": {"LV", regexp.MustCompile(`^[0-9]{11}$`)},                                        // LV99999999999
	"MT": {"MT", regexp.MustCompile(`^[0-9]{8}$`)},                                         // MT99999999
	"NL": {"NL", regexp.MustCompile(`^[0-9]{9}B[0-9]{2}$`)},                                // NL999999999B99
	"PL": {"PL", regexp.MustCompile(`^[0-9]{10}$`)},                                        // PL9999999999
	"PT": {"PT", regexp.MustCompile(`^[0-9]{9}$`)},                                         // PT999999999
	"RO": {"RO", regexp.MustCompile(`^[0-9]{2,10}$`)},                                      // RO99 to RO9999999999
	"SE": {"SE", regexp.MustCompile(`^[0-9]{10}01$`)},                                      // SE999999999901 (12 digits, always ending 01)
	"SI": {"SI", regexp.MustCompile(`^[0-9]{8}$`)},                                         // SI99999999
	"SK": {"SK", regexp.MustCompile(`^[0-9]{10}$`)},                                        // SK9999999999
}

// NormalizeVATNumber upper-cases value and removes the spaces, dots and
// dashes people write VAT numbers with ("de 123.456.789" → "DE123456789").
func NormalizeVATNumber(value string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(value) {
		switch r {
		case ' ', '\t', '.', '-', '\u00a0':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ValidVATNumber reports whether value is a well-formed EU VAT identification
// number of country (an ISO code in any case; "EL" is accepted for Greece):
// the country's VAT prefix (EL for Greece, never GR) followed by a number of
// the official format. Spaces, dots and dashes are ignored. It checks the
// format only, not check digits, and does not ask VIES whether the number is
// registered. It reports false for countries outside the EU.
func ValidVATNumber(country, value string) bool {
	f, ok := vatFormats[normCountry(country)]
	if !ok {
		return false
	}
	v := NormalizeVATNumber(value)
	body, ok := strings.CutPrefix(v, f.prefix)
	if !ok {
		return false
	}
	return f.body.MatchString(body)
}
