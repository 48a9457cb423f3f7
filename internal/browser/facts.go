package browser

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"
)

// Facts are the accessibility-relevant facts of the page a tab shows.
type Facts struct {
	Lang  string // the lang attribute of <html>
	Mains int    // number of <main> elements and role=main landmarks
	H1s   []string
	// Controls are the form controls as the accessibility tree of the
	// browser names them (buttons, text boxes, selects, …), in tree order.
	Controls []Control
	// DOMControls counts the form controls of the DOM that a user can reach
	// (no type=hidden inputs); it must equal len(Controls).
	DOMControls int
	// ScrollWidth and ClientWidth are those of document.documentElement: the
	// page scrolls sideways when ScrollWidth > ClientWidth.
	ScrollWidth, ClientWidth int
}

// Control is one form control of the accessibility tree.
type Control struct {
	Role string
	Name string // the computed accessible name; "" when it has none
}

// controlRoles are the accessibility roles of form controls.
var controlRoles = map[string]bool{
	"button": true, "textbox": true, "combobox": true, "listbox": true, "checkbox": true, "radio": true,
	"spinbutton": true, "slider": true, "switch": true, "searchbox": true,
}

// Facts reads the page's facts, failing the test on an error.
func (t *Tab) Facts() Facts {
	t.tb.Helper()
	var f Facts
	raw := Eval[string](t, `JSON.stringify({
		lang: document.documentElement.getAttribute("lang") || "",
		mains: document.querySelectorAll("main, [role=main]").length,
		h1s: Array.from(document.querySelectorAll("h1"), h => h.textContent.trim()),
		domControls: Array.from(document.querySelectorAll("input, select, textarea, button"))
			.filter(e => !(e.tagName === "INPUT" && e.type === "hidden")).length,
		scrollWidth: document.documentElement.scrollWidth,
		clientWidth: document.documentElement.clientWidth,
	})`)
	var v struct {
		Lang                     string
		Mains                    int
		H1s                      []string
		DOMControls              int
		ScrollWidth, ClientWidth int
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.tb.Fatalf("browser: page facts %s: %v", raw, err)
	}
	f.Lang, f.Mains, f.H1s, f.DOMControls, f.ScrollWidth, f.ClientWidth = v.Lang, v.Mains, v.H1s, v.DOMControls, v.ScrollWidth, v.ClientWidth
	tree, err := chromedp.Call(t.Ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.tb.Fatalf("browser: accessibility tree: %v", err)
	}
	for _, n := range tree.Nodes {
		if n.Ignored || n.Role == nil {
			continue
		}
		role := axString(n.Role)
		if !controlRoles[role] {
			continue
		}
		f.Controls = append(f.Controls, Control{Role: role, Name: strings.TrimSpace(axString(n.Name))})
	}
	return f
}

// axString is the string of an accessibility value, "" for none.
func axString(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(v.Value, &s); err != nil {
		return string(v.Value)
	}
	return s
}

// Colors are the computed colours of an element's text and of the
// backgrounds behind it, the element's own first, up to <html>.
type Colors struct {
	Text        string
	Backgrounds []string
}

// Colors reads the computed colours of the first element matching the CSS
// selector, failing the test when there is none.
func (t *Tab) Colors(selector string) Colors {
	t.tb.Helper()
	sel, _ := json.Marshal(selector)
	raw := Eval[string](t, `(() => {
		const e = document.querySelector(`+string(sel)+`);
		if (!e) return "";
		const bgs = [];
		for (let n = e; n; n = n.parentElement) bgs.push(getComputedStyle(n).backgroundColor);
		return JSON.stringify({text: getComputedStyle(e).color, backgrounds: bgs});
	})()`)
	if raw == "" {
		t.tb.Fatalf("browser: no element matches %s", selector)
	}
	var c Colors
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.tb.Fatalf("browser: colours of %s %s: %v", selector, raw, err)
	}
	return c
}

// RGBA is a colour with components in [0, 1].
type RGBA struct{ R, G, B, A float64 }

// ParseColor parses a computed CSS colour as browsers serialize it:
// "rgb(r, g, b)" or "rgba(r, g, b, a)" with r, g, b in 0–255 (the space
// separated form with "/ a" too). Anything else is an error.
func ParseColor(s string) (RGBA, error) {
	s = strings.TrimSpace(s)
	var body string
	switch {
	case strings.HasPrefix(s, "rgba(") && strings.HasSuffix(s, ")"):
		body = s[5 : len(s)-1]
	case strings.HasPrefix(s, "rgb(") && strings.HasSuffix(s, ")"):
		body = s[4 : len(s)-1]
	default:
		return RGBA{}, fmt.Errorf("colour %q is not rgb() or rgba()", s)
	}
	fields := strings.FieldsFunc(body, func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
	if len(fields) != 3 && len(fields) != 4 {
		return RGBA{}, fmt.Errorf("colour %q: want 3 or 4 components", s)
	}
	var n [4]float64
	n[3] = 1
	for i, f := range fields {
		pct := strings.HasSuffix(f, "%")
		x, err := strconv.ParseFloat(strings.TrimSuffix(f, "%"), 64)
		if err != nil {
			return RGBA{}, fmt.Errorf("colour %q: %v", s, err)
		}
		switch {
		case pct:
			x /= 100
		case i < 3:
			x /= 255
		}
		if x < 0 || x > 1 {
			return RGBA{}, fmt.Errorf("colour %q: component %s out of range", s, f)
		}
		n[i] = x
	}
	return RGBA{n[0], n[1], n[2], n[3]}, nil
}

// over composites c over the opaque colour below.
func (c RGBA) over(below RGBA) RGBA {
	return RGBA{c.R*c.A + below.R*(1-c.A), c.G*c.A + below.G*(1-c.A), c.B*c.A + below.B*(1-c.A), 1}
}

// luminance is WCAG 2's relative luminance of an opaque colour.
func (c RGBA) luminance() float64 {
	lin := func(v float64) float64 {
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// ContrastRatio is WCAG 2's contrast ratio, from 1 to 21, of two opaque
// colours.
func ContrastRatio(a, b RGBA) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Contrast returns the contrast ratio of c's text against what lies behind
// it: the backgrounds composited from the outermost down over the white
// canvas, and the text composited over the result. It returns an error for
// a colour it cannot parse.
func (c Colors) Contrast() (float64, error) {
	bg := RGBA{1, 1, 1, 1}
	for i := len(c.Backgrounds) - 1; i >= 0; i-- {
		layer, err := ParseColor(c.Backgrounds[i])
		if err != nil {
			return 0, err
		}
		bg = layer.over(bg)
	}
	fg, err := ParseColor(c.Text)
	if err != nil {
		return 0, err
	}
	return ContrastRatio(fg.over(bg), bg), nil
}
