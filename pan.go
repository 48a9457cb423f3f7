package till

import "strings"

// Luhn reports whether number, which must consist of ASCII digits only,
// passes the Luhn (mod 10) check. It returns false for an empty string or any
// other character, including spaces: normalize first.
func Luhn(number string) bool {
	if number == "" {
		return false
	}
	sum, double := 0, false
	for i := len(number) - 1; i >= 0; i-- {
		c := number[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// RedactPANs returns s with every card number in it — 13 to 19 digits,
// written together or in groups separated by single spaces or dashes, that
// pass the Luhn check — replaced by "[card number]". Till never repeats a
// card number a caller sent where one is not expected (an id, a path, a
// field name): error messages and logged paths go through it.
func RedactPANs(s string) string {
	if !strings.ContainsAny(s, "0123456789") {
		return s
	}
	// The runs of digits, and whether each follows the one before after a
	// single separator.
	type run struct {
		start, end int
		joined     bool
	}
	var runs []run
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		joined := len(runs) > 0 && runs[len(runs)-1].end == i-1 && (s[i-1] == ' ' || s[i-1] == '-')
		runs = append(runs, run{i, j, joined})
		i = j
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(runs); {
		// The longest card number that starts at run i.
		found, digits := -1, make([]byte, 0, 19)
		for j := i; j < len(runs) && (j == i || runs[j].joined); j++ {
			digits = append(digits, s[runs[j].start:runs[j].end]...)
			if len(digits) > 19 {
				break
			}
			if len(digits) >= 13 && Luhn(string(digits)) {
				found = j
			}
		}
		if found < 0 {
			i++
			continue
		}
		b.WriteString(s[last:runs[i].start])
		b.WriteString("[card number]")
		last = runs[found].end
		i = found + 1
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
