package tax

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the rate table in docs/tax.md from rates.csv")

// docsPath is docs/tax.md relative to this package.
const docsPath = "../docs/tax.md"

// The generated part of docs/tax.md sits between these lines.
const (
	docsBegin = "<!-- BEGIN RATE TABLE: generated from tax/rates.csv by `go test ./tax -run TestDocsTable -update`; do not edit by hand -->"
	docsEnd   = "<!-- END RATE TABLE -->"
)

// rateTableMarkdown renders the rate table and the list of figures not
// confirmed from an official source.
func rateTableMarkdown(entries []Entry) string {
	var b strings.Builder
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("| Country | Tax | Rate | From | To | Checked | Source | Note |\n")
	b.WriteString("|---|---|--:|---|---|---|---|---|\n")
	counts := map[string]int{}
	for _, e := range entries {
		to := "open"
		if !e.Open() {
			to = e.To.Format(dateLayout)
		}
		fmt.Fprintf(&b, "| %s | %s | %s %% | %s | %s | %s | <%s> | %s |\n",
			e.Country, cell(e.Name), e.Rate, e.From.Format(dateLayout), to, e.Checked, e.Source, cell(e.Note))
		counts[e.Checked]++
	}
	fmt.Fprintf(&b, "\n%d rows: %d `official` (rate and start date read on the cited official source), %d `rate-official` (rate read there, start date from secondary sources), %d `secondary` (not read on an official source).\n",
		len(entries), counts[CheckedOfficial], counts[CheckedRateOfficial], counts[CheckedSecondary])
	b.WriteString("\nFigures not confirmed from an official source:\n\n")
	for _, e := range entries {
		switch e.Checked {
		case CheckedSecondary:
			fmt.Fprintf(&b, "- %s %s %% from %s: the rate and its dates.\n", e.Country, e.Rate, e.From.Format(dateLayout))
		case CheckedRateOfficial:
			fmt.Fprintf(&b, "- %s %s %% from %s: the start date only.\n", e.Country, e.Rate, e.From.Format(dateLayout))
		}
	}
	return b.String()
}

func TestDocsTable(t *testing.T) {
	raw, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	begin := strings.Index(doc, docsBegin)
	end := strings.Index(doc, docsEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the generated-table markers", docsPath)
	}
	want := doc[:begin] + docsBegin + "\n\n" + rateTableMarkdown(Table()) + "\n" + doc[end:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(docsPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's rate table differs from rates.csv; run go test ./tax -run TestDocsTable -update", docsPath)
}
