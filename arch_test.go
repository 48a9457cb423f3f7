package till_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection enforces the layering of docs/architecture.md: the
// domain imports nothing of Till's, and adapters never import each other.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	const mod = "github.com/tillpay/till"
	// allowed lists, per package, the Till packages it may import; packages
	// not listed (cmd/till, tests-only packages) may import anything.
	allowed := map[string][]string{
		"":                    {},
		"tax":                 {""},
		"vault":               {""},
		"api":                 {""},
		"service":             {"", "api", "tax", "vault", "receipt"},
		"receipt":             {""},
		"pdf":                 {""},
		"smtp":                {""},
		"sqlite":              {"", "internal/migration"},
		"postgres":            {"", "internal/migration"},
		"internal/migration":  {},
		"storetest":           {""},
		"processor/simulator": {""},
		"middleware":          {""},
		"http":                {"", "api", "service", "docs", "middleware"},
		"docs":                {},
		"client":              {"api"},
		"checkout":            {"", "api", "service"},
		"bench":               {"api", "client"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], mod), "/")
		ok, checked := allowed[pkg]
		if !checked {
			continue
		}
		for _, imp := range fields[1:] {
			if imp != mod && !strings.HasPrefix(imp, mod+"/") {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, mod), "/")
			permitted := false
			for _, a := range ok {
				if a == dep {
					permitted = true
				}
			}
			if !permitted {
				t.Errorf("package %q imports %q, which the layering forbids", "till/"+pkg, "till/"+dep)
			}
		}
	}
}
