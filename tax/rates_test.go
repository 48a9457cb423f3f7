package tax

import (
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// date returns midnight UTC of the given day.
func date(tb testing.TB, s string) time.Time {
	tb.Helper()
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// mustRate parses a percentage or fails the test.
func mustRate(tb testing.TB, s string) till.Rate {
	tb.Helper()
	r, ok := till.ParseRate(s)
	if !ok {
		tb.Fatalf("bad rate %q", s)
	}
	return r
}

// requiredCountries are the countries SPEC §7 says the table covers.
var requiredCountries = []string{
	"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
	"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
	"GB", "NO", "CH", "IS", "AU", "NZ", "SG", "JP", "CA", "IN", "ZA",
}

func TestTableCoversRequiredCountries(t *testing.T) {
	now := date(t, "2026-11-23")
	eu := 0
	for _, c := range requiredCountries {
		e, ok := Lookup(c, now)
		if !ok {
			t.Errorf("%s: no rate in force on %s", c, now.Format(dateLayout))
			continue
		}
		if e.Rate <= 0 {
			t.Errorf("%s: rate %s", c, e.Rate)
		}
		if IsEU(c) {
			eu++
		}
	}
	if eu != 27 {
		t.Errorf("%d EU countries in the required list, want 27", eu)
	}
	for c := range euMembers {
		if _, ok := Lookup(c, now); !ok {
			t.Errorf("EU member %s missing from the table", c)
		}
	}
}

func TestTableRows(t *testing.T) {
	entries := Table()
	if len(entries) == 0 {
		t.Fatal("empty table")
	}
	open := make(map[string]int)
	for i, e := range entries {
		if !strings.HasPrefix(e.Source, "https://") && !strings.HasPrefix(e.Source, "http://") {
			t.Errorf("%s from %s: source %q is not a URL", e.Country, e.From.Format(dateLayout), e.Source)
		}
		if e.Name == "" || e.Note == "" {
			t.Errorf("%s from %s: empty name or note", e.Country, e.From.Format(dateLayout))
		}
		if e.Open() {
			open[e.Country]++
		} else if e.To.Before(e.From) {
			t.Errorf("%s: period ends before it starts", e.Country)
		}
		if i > 0 && entries[i-1].Country == e.Country {
			prev := entries[i-1]
			if prev.Open() || !e.From.After(prev.To) {
				t.Errorf("%s: periods from %s and %s overlap", e.Country, prev.From.Format(dateLayout), e.From.Format(dateLayout))
			}
			if !e.From.Equal(prev.To.AddDate(0, 0, 1)) {
				t.Errorf("%s: gap between %s and %s", e.Country, prev.To.Format(dateLayout), e.From.Format(dateLayout))
			}
		}
	}
	for c, n := range open {
		if n != 1 {
			t.Errorf("%s: %d open-ended rows, want 1", c, n)
		}
	}
	for _, e := range entries {
		if open[e.Country] != 1 {
			t.Errorf("%s: no open-ended row", e.Country)
		}
	}
	// Table returns a copy.
	entries[0].Rate = 1
	if Table()[0].Rate == 1 {
		t.Error("Table does not return a copy")
	}
}

func TestLookupEffectiveDates(t *testing.T) {
	tests := []struct {
		country, day, want string
	}{
		{"FI", "2024-08-31", "24"},
		{"FI", "2024-09-01", "25.5"},
		{"SK", "2024-12-31", "20"},
		{"SK", "2025-01-01", "23"},
		{"EE", "2023-12-31", "20"},
		{"EE", "2024-01-01", "22"},
		{"EE", "2025-06-30", "22"},
		{"EE", "2025-07-01", "24"},
		{"RO", "2025-07-31", "19"},
		{"RO", "2025-08-01", "21"},
		{"CH", "2023-12-31", "7.7"},
		{"CH", "2024-01-01", "8.1"},
		{"SG", "2023-12-31", "8"},
		{"SG", "2024-01-01", "9"},
		{"LU", "2022-12-31", "17"},
		{"LU", "2023-01-01", "16"},
		{"LU", "2023-12-31", "16"},
		{"LU", "2024-01-01", "17"},
		{"DE", "2020-06-30", "19"},
		{"DE", "2020-07-01", "16"},
		{"DE", "2021-01-01", "19"},
		{"IE", "2020-09-01", "21"},
		{"IE", "2021-03-01", "23"},
		{"JP", "2019-09-30", "8"},
		{"JP", "2019-10-01", "10"},
		{"NZ", "2010-09-30", "12.5"},
		{"NZ", "2010-10-01", "15"},
		{"CA", "2007-12-31", "6"},
		{"CA", "2008-01-01", "5"},
		{"GB", "2026-11-23", "20"},
		{"ZA", "2026-11-23", "15"},
		{"IN", "2026-11-23", "18"},
		{"AU", "2026-11-23", "10"},
		{"NO", "2026-11-23", "25"},
		{"IS", "2026-11-23", "24"},
		{"HU", "2026-11-23", "27"},
		{"GR", "2026-11-23", "24"},
		{"el", "2026-11-23", "24"}, // VAT prefix and lower case accepted
		{" de ", "2026-11-23", "19"},
	}
	for _, tt := range tests {
		t.Run(tt.country+"/"+tt.day, func(t *testing.T) {
			e, ok := Lookup(tt.country, date(t, tt.day))
			if !ok {
				t.Fatal("no rate")
			}
			if want := mustRate(t, tt.want); e.Rate != want {
				t.Errorf("rate %s, want %s", e.Rate, want)
			}
		})
	}
}

func TestLookupUsesUTCDay(t *testing.T) {
	// 23:30 UTC on 31 August 2024 is still 31 August in UTC.
	late := time.Date(2024, 8, 31, 23, 30, 0, 0, time.UTC)
	if e, _ := Lookup("FI", late); e.Rate != mustRate(t, "24") {
		t.Errorf("rate %s at %s", e.Rate, late)
	}
	// The same instant expressed in Helsinki time (1 September 02:30) is the
	// same UTC day.
	hel := late.In(time.FixedZone("EEST", 3*3600))
	if e, _ := Lookup("FI", hel); e.Rate != mustRate(t, "24") {
		t.Errorf("rate %s at %s", e.Rate, hel)
	}
}

func TestLookupMisses(t *testing.T) {
	tests := []struct{ country, day string }{
		{"US", "2026-11-23"},
		{"", "2026-11-23"},
		{"XX", "2026-11-23"},
		{"SG", "2022-06-01"}, // before the table's first SG row
	}
	for _, tt := range tests {
		t.Run(tt.country+"/"+tt.day, func(t *testing.T) {
			if e, ok := Lookup(tt.country, date(t, tt.day)); ok {
				t.Errorf("got %+v, want no rate", e)
			}
		})
	}
}

func TestParseTableRejectsMalformed(t *testing.T) {
	const header = "country,name,rate,effective_from,effective_to,source,checked,note\n"
	const src = "https://example.gov/vat"
	tests := []struct{ name, data string }{
		{"empty", ""},
		{"header only", header},
		{"wrong header", "country,name,rate\nDE,MwSt,19\n"},
		{"missing field", header + "DE,MwSt,19,2007-01-01,," + src + ",official\n"},
		{"lower-case country", header + "de,MwSt,19,2007-01-01,," + src + ",official,n\n"},
		{"EL instead of GR", header + "EL,FPA,24,2016-06-01,," + src + ",official,n\n"},
		{"bad rate", header + "DE,MwSt,19%,2007-01-01,," + src + ",official,n\n"},
		{"rate above 100", header + "DE,MwSt,101,2007-01-01,," + src + ",official,n\n"},
		{"bad from", header + "DE,MwSt,19,2007-13-01,," + src + ",official,n\n"},
		{"bad to", header + "DE,MwSt,19,2007-01-01,2020-02-30," + src + ",official,n\n"},
		{"to before from", header + "DE,MwSt,19,2007-01-01,2006-01-01," + src + ",official,n\n"},
		{"no source", header + "DE,MwSt,19,2007-01-01,,,official,n\n"},
		{"bad checked", header + "DE,MwSt,19,2007-01-01,," + src + ",yes,n\n"},
		{"no name", header + "DE,,19,2007-01-01,," + src + ",official,n\n"},
		{"no open row", header + "DE,MwSt,19,2007-01-01,2020-06-30," + src + ",official,n\n"},
		{"two open rows", header + "DE,MwSt,19,2007-01-01,," + src + ",official,n\nDE,MwSt,16,2020-07-01,," + src + ",official,n\n"},
		{"overlap", header + "DE,MwSt,19,2007-01-01,2020-07-15," + src + ",official,n\nDE,MwSt,16,2020-07-01,," + src + ",official,n\n"},
		{"gap", header + "DE,MwSt,19,2007-01-01,2020-06-29," + src + ",official,n\nDE,MwSt,16,2020-07-01,," + src + ",official,n\n"},
		{"unbalanced quote", header + "DE,MwSt,19,2007-01-01,," + src + ",official,\"n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseTable([]byte(tt.data)); err == nil {
				t.Error("parseTable accepted a malformed table")
			}
			defer func() {
				if recover() == nil {
					t.Error("mustParseTable did not panic")
				}
			}()
			mustParseTable([]byte(tt.data))
		})
	}
}

func TestParseTableAcceptsOutOfOrderRows(t *testing.T) {
	const data = "country,name,rate,effective_from,effective_to,source,checked,note\n" +
		"DE,MwSt,16,2020-07-01,2020-12-31,https://a.example,official,n\n" +
		"AT,USt,20,1984-01-01,,https://a.example,official,n\n" +
		"DE,MwSt,19,2021-01-01,,https://a.example,official,n\n" +
		"DE,MwSt,19,2007-01-01,2020-06-30,https://a.example,official,n\n"
	entries, err := parseTable([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 || entries[0].Country != "AT" || !entries[1].From.Equal(date(t, "2007-01-01")) {
		t.Errorf("rows not sorted: %+v", entries)
	}
}

func TestEmbeddedTableParses(t *testing.T) {
	entries, err := parseTable(ratesCSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(table) {
		t.Errorf("%d rows, want %d", len(entries), len(table))
	}
}
