package tax

import "testing"

func TestIsEU(t *testing.T) {
	tests := []struct {
		country string
		want    bool
	}{
		{"DE", true}, {"de", true}, {" fr ", true}, {"GR", true}, {"EL", true}, {"HR", true},
		{"GB", false}, {"CH", false}, {"NO", false}, {"IS", false}, {"US", false}, {"", false}, {"EU", false},
	}
	for _, tt := range tests {
		if got := IsEU(tt.country); got != tt.want {
			t.Errorf("IsEU(%q) = %v, want %v", tt.country, got, tt.want)
		}
	}
}

func TestValidVATNumber(t *testing.T) {
	valid := []struct{ country, value string }{
		{"AT", "ATU12345678"},
		{"BE", "BE0123456789"},
		{"BE", "BE1234567890"},
		{"BG", "BG123456789"},
		{"BG", "BG1234567890"},
		{"CY", "CY12345678X"},
		{"CZ", "CZ12345678"},
		{"CZ", "CZ123456789"},
		{"CZ", "CZ1234567890"},
		{"DE", "DE123456789"},
		{"de", "de 123.456.789"},
		{"DE", "DE-123-456-789"},
		{"DK", "DK12 34 56 78"},
		{"EE", "EE123456789"},
		{"GR", "EL123456789"},
		{"EL", "EL123456789"},
		{"ES", "ESA1234567B"},
		{"ES", "ESX12345678"},
		{"ES", "ES12345678Z"},
		{"FI", "FI12345678"},
		{"FR", "FR12345678901"},
		{"FR", "FRAB123456789"},
		{"FR", "FR 1A 123456789"},
		{"HR", "HR12345678901"},
		{"HU", "HU12345678"},
		{"IE", "IE1234567T"},
		{"IE", "IE1234567TW"},
		{"IE", "IE1234567FA"},
		{"IE", "IE1A23456T"},
		{"IE", "IE1+23456T"},
		{"IT", "IT12345678901"},
		{"LT", "LT123456789"},
		{"LT", "LT123456789012"},
		{"LU", "LU12345678"},
		{"LV", "LV12345678901"},
		{"MT", "MT12345678"},
		{"NL", "NL123456789B01"},
		{"NL", "nl 1234.56.789.b.01"},
		{"PL", "PL1234567890"},
		{"PT", "PT123456789"},
		{"RO", "RO12"},
		{"RO", "RO1234567890"},
		{"SE", "SE123456789001"},
		{"SI", "SI12345678"},
		{"SK", "SK1234567890"},
	}
	for _, tt := range valid {
		if !ValidVATNumber(tt.country, tt.value) {
			t.Errorf("ValidVATNumber(%q, %q) = false, want true", tt.country, tt.value)
		}
	}
	invalid := []struct{ country, value string }{
		{"DE", ""},
		{"DE", "123456789"},      // no prefix
		{"DE", "DE12345678"},     // too short
		{"DE", "DE1234567890"},   // too long
		{"DE", "FR12345678901"},  // another country's number
		{"FR", "DE123456789"},    // prefix must match the country
		{"GR", "GR123456789"},    // Greece's prefix is EL
		{"AT", "AT12345678"},     // missing U
		{"BE", "BE2123456789"},   // first digit 0 or 1
		{"ES", "ES123456789"},    // first and last both digits
		{"FR", "FRIO123456789"},  // I and O are not used
		{"IE", "IE1234567"},      // no check letter
		{"NL", "NL123456789001"}, // B missing
		{"SE", "SE123456789012"}, // must end in 01
		{"RO", "RO1"},            // at least two digits
		{"RO", "RO12345678901"},  // at most ten digits
		{"CY", "CY123456789"},    // last is a letter
		{"GB", "GB123456789"},    // not EU
		{"CH", "CHE123456789"},   // not EU
		{"US", "US123456789"},
		{"DE", "DE12345678９"}, // full-width digit
	}
	for _, tt := range invalid {
		if ValidVATNumber(tt.country, tt.value) {
			t.Errorf("ValidVATNumber(%q, %q) = true, want false", tt.country, tt.value)
		}
	}
	for c := range euMembers {
		if _, ok := vatFormats[c]; !ok {
			t.Errorf("no VAT number format for EU member %s", c)
		}
	}
	if len(vatFormats) != len(euMembers) {
		t.Errorf("%d VAT formats for %d members", len(vatFormats), len(euMembers))
	}
}

func TestNormalizeVATNumber(t *testing.T) {
	if got := NormalizeVATNumber(" de 123.456-789 "); got != "DE123456789" {
		t.Errorf("got %q", got)
	}
}
