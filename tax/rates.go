package tax

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// ratesCSV is the built-in rate table. A rate change is a data change: add a
// row, close the previous one with effective_to, cite the source and run the
// tests (which also regenerate docs/tax.md's table with -update).
//
//go:embed rates.csv
var ratesCSV []byte

// table holds the parsed rate table, sorted by country and start date. It is
// parsed once at package initialisation; a malformed file panics, so a bad
// data change fails every test and never reaches a running server.
var table = mustParseTable(ratesCSV)

// byCountry indexes table by country code.
var byCountry = indexTable(table)

// How a row's figure was checked, recorded in the checked column.
const (
	// CheckedOfficial means the rate and its start date were read on the
	// cited official source.
	CheckedOfficial = "official"
	// CheckedRateOfficial means the rate was read on the cited official
	// source but its start date comes from secondary sources.
	CheckedRateOfficial = "rate-official"
	// CheckedSecondary means the figure was not read on an official source:
	// it agrees across secondary sources named in the note.
	CheckedSecondary = "secondary"
)

// dateLayout is the layout of effective_from and effective_to.
const dateLayout = "2006-01-02"

// Entry is one row of the built-in rate table: the standard rate of a country
// over a period of calendar days.
type Entry struct {
	// Country is the ISO 3166-1 alpha-2 code ("GR" for Greece, whose VAT
	// prefix is EL).
	Country string
	// Name is the tax's name as printed on invoices ("VAT", "MwSt", "GST").
	Name string
	// Rate is the standard rate.
	Rate till.Rate
	// From is the first day the rate applies (UTC midnight).
	From time.Time
	// To is the last day the rate applies (UTC midnight), or the zero time
	// while the rate is in force with no end date.
	To time.Time
	// Source is the address of the official source for the figure.
	Source string
	// Checked says how the figure was verified: CheckedOfficial,
	// CheckedRateOfficial or CheckedSecondary.
	Checked string
	// Note says what was read where, and anything a maintainer should know.
	Note string
}

// Open reports whether e has no end date.
func (e Entry) Open() bool { return e.To.IsZero() }

// covers reports whether the calendar day d (UTC midnight) falls in e.
func (e Entry) covers(d time.Time) bool {
	return !d.Before(e.From) && (e.To.IsZero() || !d.After(e.To))
}

// Table returns a copy of the built-in rate table, sorted by country and then
// by start date.
func Table() []Entry {
	out := make([]Entry, len(table))
	copy(out, table)
	return out
}

// Lookup returns the standard rate of country in force on the UTC calendar
// day of at. Country is an ISO 3166-1 alpha-2 code in any case; "EL" is
// accepted for Greece. It reports false when the country is not in the table
// or the table has no row covering that day.
func Lookup(country string, at time.Time) (Entry, bool) {
	d := day(at)
	for _, e := range byCountry[normCountry(country)] {
		if e.covers(d) {
			return e, true
		}
	}
	return Entry{}, false
}

// day returns the UTC calendar day of t, at midnight.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// normCountry upper-cases and trims a country code and maps the EU VAT prefix
// EL to Greece's ISO code GR.
func normCountry(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c == "EL" {
		return "GR"
	}
	return c
}

// tableHeader is the exact header row the data file must start with.
var tableHeader = []string{"country", "name", "rate", "effective_from", "effective_to", "source", "checked", "note"}

// mustParseTable parses the embedded table and panics on any error.
func mustParseTable(data []byte) []Entry {
	entries, err := parseTable(data)
	if err != nil {
		panic("tax: rates.csv: " + err.Error())
	}
	return entries
}

// parseTable parses and checks a rate table: the header, every field of every
// row, and per country that periods do not overlap, leave no gap, and end in
// exactly one open-ended row.
func parseTable(data []byte) ([]Entry, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(tableHeader)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if strings.Join(header, ",") != strings.Join(tableHeader, ",") {
		return nil, fmt.Errorf("header is %q, want %q", header, tableHeader)
	}
	var entries []Entry
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		e, err := parseRow(rec)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("no rows")
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].Country != entries[j].Country {
			return entries[i].Country < entries[j].Country
		}
		return entries[i].From.Before(entries[j].From)
	})
	for i := range entries {
		e := entries[i]
		last := i+1 == len(entries) || entries[i+1].Country != e.Country
		if last {
			if !e.Open() {
				return nil, fmt.Errorf("%s: latest row (from %s) has an end date; every country needs one open-ended row", e.Country, e.From.Format(dateLayout))
			}
			continue
		}
		next := entries[i+1]
		if e.Open() {
			return nil, fmt.Errorf("%s: row from %s is open-ended but a later row starts %s", e.Country, e.From.Format(dateLayout), next.From.Format(dateLayout))
		}
		if !next.From.Equal(e.To.AddDate(0, 0, 1)) {
			return nil, fmt.Errorf("%s: row ending %s is followed by a row starting %s; periods must not overlap or leave a gap", e.Country, e.To.Format(dateLayout), next.From.Format(dateLayout))
		}
	}
	return entries, nil
}

// parseRow parses one data row.
func parseRow(rec []string) (Entry, error) {
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	e := Entry{Country: rec[0], Name: rec[1], Source: rec[5], Checked: rec[6], Note: rec[7]}
	if len(e.Country) != 2 || e.Country != strings.ToUpper(e.Country) || e.Country[0] < 'A' || e.Country[0] > 'Z' || e.Country[1] < 'A' || e.Country[1] > 'Z' {
		return Entry{}, fmt.Errorf("country %q is not an upper-case ISO 3166-1 alpha-2 code", e.Country)
	}
	if e.Country == "EL" {
		return Entry{}, fmt.Errorf("country EL: use Greece's ISO code GR (EL is only its VAT prefix)")
	}
	if e.Name == "" {
		return Entry{}, fmt.Errorf("%s: empty tax name", e.Country)
	}
	rate, ok := till.ParseRate(rec[2])
	if !ok {
		return Entry{}, fmt.Errorf("%s: rate %q is not a percentage between 0 and 100 with at most four decimals", e.Country, rec[2])
	}
	e.Rate = rate
	from, err := time.Parse(dateLayout, rec[3])
	if err != nil {
		return Entry{}, fmt.Errorf("%s: effective_from: %w", e.Country, err)
	}
	e.From = from
	if rec[4] != "" {
		to, err := time.Parse(dateLayout, rec[4])
		if err != nil {
			return Entry{}, fmt.Errorf("%s: effective_to: %w", e.Country, err)
		}
		if to.Before(from) {
			return Entry{}, fmt.Errorf("%s: effective_to %s is before effective_from %s", e.Country, rec[4], rec[3])
		}
		e.To = to
	}
	if !strings.HasPrefix(e.Source, "https://") && !strings.HasPrefix(e.Source, "http://") {
		return Entry{}, fmt.Errorf("%s: source %q is not a URL", e.Country, e.Source)
	}
	switch e.Checked {
	case CheckedOfficial, CheckedRateOfficial, CheckedSecondary:
	default:
		return Entry{}, fmt.Errorf("%s: checked is %q, want %s, %s or %s", e.Country, e.Checked, CheckedOfficial, CheckedRateOfficial, CheckedSecondary)
	}
	return e, nil
}

// indexTable groups a sorted table by country.
func indexTable(entries []Entry) map[string][]Entry {
	m := make(map[string][]Entry)
	for _, e := range entries {
		m[e.Country] = append(m[e.Country], e)
	}
	return m
}
