package service

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// moverFile holds the only functions that may change a status.
const moverFile = "move.go"

// initialStatuses are the statuses an object may be created with in a
// composite literal (a new refund, a new receipt).
var initialStatuses = map[string]bool{"till.RefundPending": true, "till.ReceiptPending": true}

// statusOwners are the types whose Status the movers own.
var statusOwners = map[string]bool{"till.Payment": true, "till.Refund": true, "till.Receipt": true}

// statusWrites reports every place in src that changes a status outside
// the movers: an assignment to a Status field, a call of a Transition
// method, or a literal giving Status anything but an initial status.
func statusWrites(t *testing.T, name, src string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	text := func(e ast.Expr) string {
		return src[fset.Position(e.Pos()).Offset:fset.Position(e.End()).Offset]
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, lhs := range n.Lhs {
				if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "Status" {
					found = append(found, fset.Position(n.Pos()).String()+": assigns a Status")
				}
			}
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Transition" {
				found = append(found, fset.Position(n.Pos()).String()+": calls Transition")
			}
		case *ast.CompositeLit:
			if n.Type == nil || !statusOwners[text(n.Type)] {
				return true
			}
			for _, el := range n.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Status" && !initialStatuses[text(kv.Value)] {
					found = append(found, fset.Position(kv.Pos()).String()+": creates an object with Status "+text(kv.Value))
				}
			}
		}
		return true
	})
	return found
}

// TestOneStatusMover checks that only the movers of move.go change the
// status of a payment, a refund or a receipt.
func TestOneStatusMover(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if name == moverFile || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, w := range statusWrites(t, name, string(src)) {
			t.Errorf("%s; change statuses with the movers of %s", w, moverFile)
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d files", checked)
	}
}

// TestStatusWritesFound plants each kind of status change and checks that
// the scan reports it.
func TestStatusWritesFound(t *testing.T) {
	for name, src := range map[string]string{
		"assignment": "package x\nfunc f(p *P) { p.Status = till.StatusSucceeded }",
		"nested":     "package x\nfunc f(p *P) { p.Receipt.Status = status }",
		"transition": "package x\nfunc f(p *P) { ev, _ := p.Transition(to, now); _ = ev }",
		"literal":    "package x\nvar p = &till.Payment{Status: till.StatusSucceeded}",
	} {
		if got := statusWrites(t, name+".go", src); len(got) != 1 {
			t.Errorf("%s: found %v, want one", name, got)
		}
	}
	if got := statusWrites(t, "ok.go", "package x\nvar r = &till.Refund{Status: till.RefundPending}\nfunc f(p *P) bool { return p.Status == till.StatusSucceeded }"); len(got) != 0 {
		t.Errorf("an initial status and a comparison were reported: %v", got)
	}
}
