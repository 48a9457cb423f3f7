package till

import (
	"math/bits"
	"strconv"
	"strings"
)

// Amounts are int64 counts of a currency's minor unit (cents for EUR, yen for
// JPY, fils for KWD). No float ever holds money.

// MaxAmount is the largest amount Till accepts in a request, in minor units.
// With tax rates of at most 100 % every total stays far inside int64.
const MaxAmount int64 = 999_999_999_999

// Currency is an ISO 4217 currency with its minor-unit exponent.
type Currency struct {
	Code     string // upper case, e.g. "EUR"
	Exponent int    // digits after the decimal point: EUR 2, JPY 0, KWD 3
}

// currencies holds the active ISO 4217 codes (list one, as amended to 2026)
// with their exponents. Funds codes, precious metals and withdrawn codes
// (HRK, BGN, SLL, ANG, CUC) are not accepted for payments.
var currencies = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
	"BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0,
	"CNY": 2, "COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2,
	"DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2,
	"GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2,
	"HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3,
	"JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2,
	"KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2,
	"MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2,
	"MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2,
	"OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2,
	"SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2,
	"SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2,
	"TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "UYU": 2, "UZS": 2, "VES": 2, "VND": 0, "VUV": 0,
	"WST": 2, "XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2,
	"ZWG": 2,
}

// LookupCurrency returns the currency for an ISO 4217 code given in any case.
// It reports false for unknown or withdrawn codes.
func LookupCurrency(code string) (Currency, bool) {
	c := strings.ToUpper(strings.TrimSpace(code))
	exp, ok := currencies[c]
	if !ok || len(c) != 3 {
		return Currency{}, false
	}
	return Currency{Code: c, Exponent: exp}, true
}

// FormatAmount renders a minor-unit amount as a decimal string in major units
// ("11.90" for 1190 EUR, "1190" for 1190 JPY, "1.190" for 1190 KWD), for
// display and for the dialects that speak decimal numbers. It uses no floats.
func FormatAmount(amount int64, c Currency) string {
	neg := amount < 0
	u := uint64(amount)
	if neg {
		u = uint64(-amount)
	}
	s := strconv.FormatUint(u, 10)
	if c.Exponent > 0 {
		for len(s) <= c.Exponent {
			s = "0" + s
		}
		s = s[:len(s)-c.Exponent] + "." + s[len(s)-c.Exponent:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseAmount parses a decimal string in major units ("11.9", "1190",
// "1.190") exactly into minor units of c. It rejects more fractional digits
// than the currency has, signs, exponents and anything beyond MaxAmount.
func ParseAmount(s string, c Currency) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if hasDot && (frac == "" && intPart == "") {
		return 0, false
	}
	if len(frac) > c.Exponent {
		// Allow trailing zeros beyond the exponent ("10.50" for JPY is not 10.5 yen).
		trimmed := strings.TrimRight(frac[c.Exponent:], "0")
		if trimmed != "" {
			return 0, false
		}
		frac = frac[:c.Exponent]
	}
	for len(frac) < c.Exponent {
		frac += "0"
	}
	digits := intPart + frac
	if digits == "" {
		return 0, false
	}
	var v int64
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, false
		}
		v = v*10 + int64(r-'0')
		if v > MaxAmount {
			return 0, false
		}
	}
	return v, true
}

// MulDiv returns a×num÷den rounded half up (half away from zero for the
// non-negative operands it is used with), computed exactly in 128 bits. It
// reports false when an operand is negative, den is zero or the result does
// not fit in int64. It is the one rounding function of every money path.
func MulDiv(a, num, den int64) (int64, bool) {
	if a < 0 || num < 0 || den <= 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(num))
	// Add den/2 for half-up rounding: (a*num + den/2) / den, but compute
	// half-up exactly via the remainder to avoid overflow in the addition.
	if hi >= uint64(den) {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, uint64(den))
	if r >= uint64(den)-r { // r >= den/2 exactly, including odd den
		q++
	}
	if q > uint64(1<<63-1) {
		return 0, false
	}
	return int64(q), true
}

// MulDivFloor returns a×num÷den rounded down and the remainder, computed
// exactly in 128 bits. It reports false when an operand is negative, den is
// zero or the result does not fit in int64.
func MulDivFloor(a, num, den int64) (q, r int64, ok bool) {
	if a < 0 || num < 0 || den <= 0 {
		return 0, 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(num))
	if hi >= uint64(den) {
		return 0, 0, false
	}
	uq, ur := bits.Div64(hi, lo, uint64(den))
	if uq > uint64(1<<63-1) {
		return 0, 0, false
	}
	return int64(uq), int64(ur), true
}

// RateScale is the denominator of a Rate: a Rate of RateScale is 100 %.
const RateScale int64 = 1_000_000

// Rate is an exact tax rate in millionths of one: 19 % is 190000, 8.875 % is
// 88750. It holds at most four decimal places of a percentage.
type Rate int64

// ParseRate parses a percentage written as a decimal string ("19", "25.5",
// "8.875") into a Rate. It accepts 0 to 100 with at most four decimal places
// and reports false otherwise.
func ParseRate(percent string) (Rate, bool) {
	s := strings.TrimSpace(percent)
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" || len(intPart) > 3 || len(frac) > 4 {
		return 0, false
	}
	for len(frac) < 4 {
		frac += "0"
	}
	var v int64
	for _, r := range intPart + frac {
		if r < '0' || r > '9' {
			return 0, false
		}
		v = v*10 + int64(r-'0')
	}
	// v is the percentage times 10^4, which is the rate in millionths.
	if v > RateScale {
		return 0, false
	}
	return Rate(v), true
}

// String renders r as a percentage without trailing zeros: "19", "25.5",
// "8.875".
func (r Rate) String() string {
	s := FormatAmount(int64(r), Currency{Exponent: 4})
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
