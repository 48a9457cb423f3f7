package till_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The layering of docs/architecture.md, denied by default: every package of
// the module must match a rule, and may depend (directly or through other
// packages) only on the Till packages its rule names, and on third-party
// modules only where its rule allows them. Patterns are module-relative
// paths; "x/*" matches every package under x, "" is the root (the domain).
type layerRule struct {
	pattern string
	// till lists the Till packages it may depend on; "self/*" means its
	// own subpackages.
	till []string
	// thirdParty lists module path prefixes it may depend on; nil allows
	// none, "*" any.
	thirdParty []string
}

var layers = []layerRule{
	// The domain: nothing of Till's, nothing but the standard library.
	{pattern: "", till: nil},
	{pattern: "tax", till: []string{""}},
	{pattern: "vault", till: []string{""}},
	{pattern: "receipt", till: []string{""}},
	{pattern: "internal/migration"},
	// The core: the domain and its pure helpers, never an API.
	{pattern: "service", till: []string{"", "tax", "vault", "receipt"}},
	// Adapters: the domain only, never one another.
	{pattern: "pdf", till: []string{""}, thirdParty: []string{"codeberg.org/go-pdf/fpdf", "golang.org/x/image", "golang.org/x/text"}},
	{pattern: "smtp", till: []string{""}, thirdParty: []string{"github.com/wneessen/go-mail"}},
	{pattern: "sqlite", till: []string{"", "internal/migration"}, thirdParty: []string{"modernc.org/sqlite"}},
	{pattern: "postgres", till: []string{"", "internal/migration"}, thirdParty: []string{"github.com/jackc/pgx/"}},
	{pattern: "processor/*", till: []string{""}},
	{pattern: "middleware", till: []string{""}},
	// APIs: translators over the service. The native API owns api/; a
	// dialect owns its own subpackages and never touches api, http or
	// another dialect.
	{pattern: "api", till: []string{""}},
	{pattern: "docs"},
	{pattern: "http", till: []string{"", "api", "service", "docs", "middleware", "tax", "vault", "receipt"}, thirdParty: []string{"github.com/yuin/goldmark"}},
	{pattern: "checkout", till: []string{"", "service", "tax", "vault", "receipt"}},
	{pattern: "dialect/*", till: []string{"", "service", "middleware", "tax", "vault", "receipt", "self/*"}},
	// Clients of the native API.
	{pattern: "client", till: []string{"", "api"}},
	{pattern: "bench", till: []string{"", "api", "client"}},
	// Test support.
	{pattern: "storetest", till: []string{""}},
	{pattern: "smtp/smtptest", thirdParty: []string{"github.com/emersion/"}},
	{pattern: "internal/testenv"},
	// Wiring and end-to-end tests may use anything.
	{pattern: "cmd/*", till: []string{"*"}, thirdParty: []string{"*"}},
	{pattern: "e2e", till: []string{"*"}, thirdParty: []string{"*"}},
}

const module = "github.com/tillpay/till"

// pkgDeps is what a package depends on: Till packages (module-relative)
// directly or transitively, and the third-party packages it imports itself
// (what those pull in is their business).
type pkgDeps struct {
	till, thirdParty []string
}

// moduleGraph lists every package of the module with its transitive
// dependencies, from go list.
func moduleGraph(t *testing.T) map[string]pkgDeps {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	std := map[string]bool{}
	type listed struct {
		ImportPath string
		Imports    []string
		Deps       []string
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	stdOut, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Fatalf("go list std: %v", err)
	}
	for _, p := range strings.Fields(string(stdOut)) {
		std[p] = true
	}
	graph := map[string]pkgDeps{}
	for _, p := range pkgs {
		var d pkgDeps
		for _, dep := range p.Deps {
			if dep == module || strings.HasPrefix(dep, module+"/") {
				d.till = append(d.till, relative(dep))
			}
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") && !std[imp] && imp != "C" {
				d.thirdParty = append(d.thirdParty, imp)
			}
		}
		graph[relative(p.ImportPath)] = d
	}
	return graph
}

func relative(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
}

func matches(pattern, pkg string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(pkg, prefix+"/")
	}
	return pattern == pkg
}

// checkLayers returns every violation of layers in graph.
func checkLayers(graph map[string]pkgDeps) []string {
	var problems []string
	for pkg, deps := range graph {
		i := slices.IndexFunc(layers, func(r layerRule) bool { return matches(r.pattern, pkg) })
		if i < 0 {
			problems = append(problems, fmt.Sprintf("package %q matches no rule: add one to arch_test.go (and docs/architecture.md)", "till/"+pkg))
			continue
		}
		rule := layers[i]
		for _, dep := range deps.till {
			if !allowedTill(rule, pkg, dep) {
				problems = append(problems, fmt.Sprintf("package %q depends on %q, which the layering forbids", "till/"+pkg, "till/"+dep))
			}
		}
		for _, dep := range deps.thirdParty {
			if !slices.ContainsFunc(rule.thirdParty, func(p string) bool { return p == "*" || strings.HasPrefix(dep, p) }) {
				problems = append(problems, fmt.Sprintf("package %q depends on third-party %q, which its rule does not allow", "till/"+pkg, dep))
			}
		}
	}
	sort.Strings(problems)
	return problems
}

func allowedTill(rule layerRule, pkg, dep string) bool {
	for _, a := range rule.till {
		switch {
		case a == "*", a == dep:
			return true
		case a == "self/*":
			// A dialect's own subpackages: dialect/x may use dialect/x/….
			if root := strings.Join(strings.SplitN(pkg, "/", 3)[:2], "/"); strings.HasPrefix(dep, root+"/") {
				return true
			}
		}
	}
	return false
}

// TestDependencyDirection enforces the layering on the module as it is.
func TestDependencyDirection(t *testing.T) {
	for _, p := range checkLayers(moduleGraph(t)) {
		t.Error(p)
	}
}

// TestLayeringCatchesViolations plants violations in the real graph and
// checks that each is reported.
func TestLayeringCatchesViolations(t *testing.T) {
	graph := moduleGraph(t)
	add := func(g map[string]pkgDeps, pkg string, till, third []string) map[string]pkgDeps {
		out := map[string]pkgDeps{}
		for k, v := range g {
			out[k] = v
		}
		d := out[pkg]
		d.till = append(slices.Clone(d.till), till...)
		d.thirdParty = append(slices.Clone(d.thirdParty), third...)
		out[pkg] = d
		return out
	}
	for name, c := range map[string]struct {
		graph map[string]pkgDeps
		want  string
	}{
		"service depends on the native API":       {add(graph, "service", []string{"api"}, nil), `"till/service" depends on "till/api"`},
		"service depends on http transitively":    {add(graph, "service", []string{"http", "docs"}, nil), `"till/service" depends on "till/http"`},
		"a dialect uses the native wire types":    {add(graph, "dialect/commet", []string{"api"}, nil), `"till/dialect/commet" depends on "till/api"`},
		"a dialect uses another dialect":          {add(graph, "dialect/commet", []string{"dialect/chip"}, nil), `"till/dialect/commet" depends on "till/dialect/chip"`},
		"an adapter uses another adapter":         {add(graph, "sqlite", []string{"postgres"}, nil), `"till/sqlite" depends on "till/postgres"`},
		"an unknown package":                      {add(graph, "newpkg", nil, nil), `"till/newpkg" matches no rule`},
		"the domain imports a third-party module": {add(graph, "", nil, []string{"github.com/shopspring/decimal"}), `"till/" depends on third-party "github.com/shopspring/decimal"`},
	} {
		t.Run(name, func(t *testing.T) {
			got := strings.Join(checkLayers(c.graph), "\n")
			if !strings.Contains(got, c.want) {
				t.Errorf("planted violation not reported; want %s in:\n%s", c.want, got)
			}
		})
	}
	// A dialect's own subpackages are allowed.
	before := len(checkLayers(graph))
	if p := checkLayers(add(graph, "dialect/commet", []string{"dialect/commet/wire", ""}, nil)); len(p) != before {
		t.Errorf("a dialect using its own subpackage was refused: %v", p)
	}
}
