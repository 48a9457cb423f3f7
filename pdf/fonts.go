package pdf

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// A document is set in one of two pairs of faces, chosen per document by
// needsEmbeddedFont:
//
//   - Helvetica and Helvetica-Bold, two of the 14 standard PDF fonts, when
//     every character it prints is in WinAnsiEncoding (Windows code page
//     1252: English, German, French, Spanish, the Nordic languages, €, „“,
//     •, ·, –, …). Every reader has them, so nothing is embedded or subset
//     and only the page contents are compressed: the common document
//     renders some twenty times faster, and ten times smaller, than with
//     embedded fonts (BenchmarkPDF, BenchmarkPDFEmbedded).
//   - Otherwise the Go fonts (Bigelow & Holmes, BSD-licensed, shipped inside
//     golang.org/x/image), embedded as UTF-8 subsets: they cover Latin (with
//     every accent of the EU languages, "Łódź"), Greek and Cyrillic.
const (
	coreFamily  = "helvetica"
	embedFamily = "go"
)

var (
	coverageOnce sync.Once
	coverageErr  error
	// covered has a bit set for each rune of the Basic Multilingual Plane
	// that both faces can draw.
	covered [0x10000 / 64]uint64
)

// loadCoverage parses the fonts once to learn which runes they can draw.
func loadCoverage() error {
	coverageOnce.Do(func() {
		var faces []*sfnt.Font
		for _, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
			f, err := sfnt.Parse(ttf)
			if err != nil {
				coverageErr = err
				return
			}
			faces = append(faces, f)
		}
		var buf sfnt.Buffer
	runes:
		for r := rune(0); r <= 0xFFFF; r++ {
			for _, f := range faces {
				if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
					continue runes
				}
			}
			covered[r/64] |= 1 << (r % 64)
		}
	})
	return coverageErr
}

// drawable reports whether both faces have a glyph for r. fpdf addresses
// glyphs by 16-bit code, so runes beyond the Basic Multilingual Plane are
// never drawable.
func drawable(r rune) bool {
	return r >= 0 && r <= 0xFFFF && covered[r/64]&(1<<(r%64)) != 0
}

// printed is the rune clean draws for r: a space for white space and control
// characters, "?" for what the Go fonts cannot draw, else r itself.
func printed(r rune) rune {
	switch {
	case unicode.IsSpace(r) || unicode.IsControl(r):
		return ' '
	case r == unicode.ReplacementChar || !drawable(r):
		return '?'
	}
	return r
}

// clean makes s safe to draw on one line: control characters and line breaks
// become spaces, runs of spaces collapse, and runes the fonts cannot draw
// (CJK, emoji) become "?", so a document never shows an empty box or breaks
// the PDF writer. What it returns is the same in both pairs of faces.
func clean(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r = printed(r); r == ' ' {
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}

// winAnsi maps each non-ASCII rune of WinAnsiEncoding to its byte, the
// encoding fpdf writes its standard fonts in (/Encoding /WinAnsiEncoding)
// and measures them in. It is read once from fpdf's own cp1252 table, the
// one UnicodeTranslatorFromDescriptor("cp1252") uses; the translator itself
// is not safe for concurrent use (it shares a buffer between calls) and
// parses the table on each call, so the renderer keeps the map instead.
var winAnsi = sync.OnceValue(func() map[rune]byte {
	var probe []rune
	for r := rune(0x80); r <= 0xFFFF; r++ {
		if utf8.ValidRune(r) {
			probe = append(probe, r)
		}
	}
	// The translator turns each rune into one byte, "." where the code page
	// has none.
	enc := fpdf.New("P", "mm", "A4", "").UnicodeTranslatorFromDescriptor("cp1252")(string(probe))
	m := make(map[rune]byte, 128)
	if len(enc) != len(probe) {
		return m // an fpdf that works differently: everything takes the embedded path
	}
	for i, r := range probe {
		if enc[i] != '.' {
			m[r] = enc[i]
		}
	}
	return m
})

// inWinAnsi reports whether r has a code in WinAnsiEncoding. The C0
// controls and DEL count as having one, but clean never lets them through.
func inWinAnsi(r rune) bool {
	if r < 0x80 {
		return true
	}
	_, ok := winAnsi()[r]
	return ok
}

// toWinAnsi encodes s, a cleaned string, in WinAnsiEncoding, for drawing and
// measuring in the standard fonts. It reports false when s holds a rune the
// encoding lacks; that rune becomes "?".
func toWinAnsi(s string) (string, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s, true
	}
	m := winAnsi()
	ok := true
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch c, found := m[r]; {
		case r < 0x80:
			b = append(b, byte(r))
		case found:
			b = append(b, c)
		default:
			b, ok = append(b, '?'), false
		}
	}
	return string(b), ok
}

// winAnsiOnly reports whether everything clean makes of s is in
// WinAnsiEncoding. It allocates nothing.
func winAnsiOnly(s string) bool {
	for _, r := range s {
		if r >= 0x80 && !inWinAnsi(printed(r)) {
			return false
		}
	}
	return true
}
