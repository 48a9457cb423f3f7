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

// module is the import path of the root package, the domain.
const module = "github.com/tillpay/till"

// A layerRule is one row of docs/architecture.md's table. The layering denies
// by default: every package of the module must match exactly one rule, may
// depend, directly or through other packages, only on the Till packages its
// rule allows, and may import third-party modules only where its rule lists
// them. Patterns are module-relative: "" is the root, "x/*" every package
// under x.
type layerRule struct {
	pattern string
	// till lists the layers it builds on, as patterns of other rules. It
	// may also depend on whatever those are allowed, so a row reads like
	// the docs ("http: till, api, service, …") and the transitive parts
	// follow. "*" allows any Till package; "self/*" a package's own
	// subpackages (dialect/x may use dialect/x/…).
	till []string
	// thirdParty lists the modules its non-test files may import; nil
	// allows none (the standard library only), "*" any.
	thirdParty []string
	// testThirdParty lists the further modules its _test.go files may
	// import. Test files may import any Till package: they wire real
	// stores, servers and the binary, and are no layer of their own.
	testThirdParty []string
}

var layers = []layerRule{
	// The domain: nothing of Till's, nothing but the standard library.
	{pattern: ""},
	// Pure helpers of the domain.
	{pattern: "tax", till: []string{""}, testThirdParty: []string{"pgregory.net/rapid"}},
	{pattern: "vault", till: []string{""}},
	{pattern: "receipt", till: []string{""}},
	{pattern: "internal/migration"},
	{pattern: "internal/testenv"},
	// The browser harness of tests (chromedp on Debian's Chromium).
	{pattern: "internal/browser", till: []string{"internal/testenv"}, thirdParty: []string{"github.com/chromedp/chromedp", "github.com/chromedp/cdproto"}},
	// The core: the domain and its helpers, never an API (go list -deps
	// ./service holds neither api nor http).
	{pattern: "service", till: []string{"", "tax", "vault", "receipt"}, testThirdParty: []string{"pgregory.net/rapid"}},
	// Adapters behind the domain's interfaces: the domain only.
	{pattern: "sqlite", till: []string{"", "internal/migration"}, thirdParty: []string{"modernc.org/sqlite"}},
	{pattern: "postgres", till: []string{"", "internal/migration"}, thirdParty: []string{"github.com/jackc/pgx/v5"}},
	{pattern: "processor/simulator", till: []string{""}},
	{pattern: "processor/stripe", till: []string{""}, thirdParty: []string{"github.com/stripe/stripe-go/v85"}},
	{pattern: "pdf", till: []string{""}, thirdParty: []string{"codeberg.org/go-pdf/fpdf", "golang.org/x/image", "golang.org/x/text"}, testThirdParty: []string{"github.com/ledongthuc/pdf"}},
	{pattern: "smtp", till: []string{""}, thirdParty: []string{"github.com/wneessen/go-mail"}},
	{pattern: "webhook", till: []string{""}},
	{pattern: "metrics", till: []string{""}, thirdParty: []string{"github.com/prometheus/client_golang"}},
	// Served APIs. middleware is shared by all of them and speaks no wire
	// format; api is the native API's wire types. A dialect owns its
	// subpackages and never touches api, http or another dialect.
	{pattern: "middleware", till: []string{""}},
	{pattern: "api", till: []string{""}},
	{pattern: "docs"},
	{pattern: "http", till: []string{"", "api", "service", "docs", "middleware"}, thirdParty: []string{"github.com/yuin/goldmark"}, testThirdParty: []string{"github.com/getkin/kin-openapi"}},
	{pattern: "checkout", till: []string{"", "service"}},
	{pattern: "dialect/*", till: []string{"", "service", "middleware", "self/*"}},
	// Clients of the native API.
	{pattern: "client", till: []string{"api"}},
	{pattern: "bench", till: []string{"api", "client"}},
	// Test support.
	{pattern: "storetest", till: []string{""}},
	{pattern: "smtp/smtptest", thirdParty: []string{"github.com/emersion/go-smtp", "github.com/emersion/go-sasl"}},
	// Wiring and end-to-end tests may use anything.
	{pattern: "cmd/*", till: []string{"*"}, thirdParty: []string{"*"}, testThirdParty: []string{"*"}},
	{pattern: "e2e", till: []string{"*"}, thirdParty: []string{"*"}, testThirdParty: []string{"*"}},
}

// adapters are the packages that never depend on one another, whatever
// their rules say: each pattern is one adapter, or for "x/*" one adapter per
// x/name (with its subpackages).
var adapters = []string{"sqlite", "postgres", "processor/*", "pdf", "smtp", "webhook", "http", "checkout", "dialect/*"}

// A pkg is one Till package of the graph, with its direct imports (full
// import paths, the standard library included).
type pkg struct {
	imports     []string // of its non-test files
	testImports []string // of its _test.go files, in-package and external
}

// A graph holds the module's packages by full import path.
type graph map[string]pkg

// checkLayers returns, sorted, every violation of rules and adapters in g:
// packages matched by no rule or by several, Till dependencies (transitive,
// through non-test imports) a rule does not allow, adapters depending on other
// adapters, third-party imports outside a rule's allow-lists, and rules naming
// layers that have no rule. It only reads g.
func checkLayers(rules []layerRule, g graph) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	patterns := map[string]bool{}
	for _, r := range rules {
		patterns[r.pattern] = true
	}
	for _, r := range rules {
		for _, e := range r.till {
			if e != "*" && e != "self/*" && !patterns[e] {
				report("rule %q allows %q, which is no rule's pattern", r.pattern, e)
			}
		}
	}
	for path, p := range g {
		if !isTill(path) {
			report("%s is in the graph but not in module %s", path, module)
			continue
		}
		name := rel(path)
		var matched []layerRule
		for _, r := range rules {
			if matches(r.pattern, name) {
				matched = append(matched, r)
			}
		}
		switch len(matched) {
		case 0:
			report("%s matches no rule: add a rule for it to arch_test.go (and a row to docs/architecture.md)", show(name))
			continue
		case 1:
		default:
			var ps []string
			for _, r := range matched {
				ps = append(ps, fmt.Sprintf("%q", r.pattern))
			}
			report("%s matches several rules (%s): make the patterns in arch_test.go disjoint", show(name), strings.Join(ps, ", "))
			continue
		}
		rule := matched[0]
		allowed := allowance(rules, rule, map[string]bool{rule.pattern: true})
		for dep, chain := range tillDeps(g, path) {
			d := rel(dep)
			if !allowedTill(allowed, name, d) {
				report("%s depends on %s (%s), which its rule %q does not allow", show(name), show(d), showChain(chain), rule.pattern)
			}
			if a, ok := adapterOf(name); ok {
				if b, ok := adapterOf(d); ok && a != b {
					report("adapter %s depends on adapter %s (%s): adapters never import each other", show(name), show(d), showChain(chain))
				}
			}
		}
		for _, imp := range p.imports {
			if isThirdParty(imp) && !allowedModule(rule.thirdParty, imp) {
				report("%s imports third-party %s, which its rule %q does not list", show(name), imp, rule.pattern)
			}
		}
		for _, imp := range p.testImports {
			if isThirdParty(imp) && !allowedModule(rule.thirdParty, imp) && !allowedModule(rule.testThirdParty, imp) {
				report("%s's tests import third-party %s, which its rule %q does not list", show(name), imp, rule.pattern)
			}
		}
	}
	sort.Strings(problems)
	return slices.Compact(problems)
}

// allowance returns the Till patterns a package under r may depend on: r's
// own list and, recursively, what the layers it lists may depend on (their
// "self/*" excepted, which is theirs).
func allowance(rules []layerRule, r layerRule, seen map[string]bool) []string {
	out := slices.Clone(r.till)
	for _, e := range r.till {
		if e == "*" || e == "self/*" || seen[e] {
			continue
		}
		seen[e] = true
		for _, q := range rules {
			if q.pattern == e {
				for _, a := range allowance(rules, q, seen) {
					if a != "self/*" {
						out = append(out, a)
					}
				}
			}
		}
	}
	return out
}

// tillDeps returns the Till packages path depends on through non-test
// imports, each with a shortest chain of imports leading to it.
func tillDeps(g graph, path string) map[string][]string {
	via := map[string][]string{path: {path}}
	queue := []string{path}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range g[p].imports {
			if _, seen := via[imp]; seen || !isTill(imp) {
				continue
			}
			via[imp] = append(slices.Clone(via[p]), imp)
			queue = append(queue, imp)
		}
	}
	delete(via, path)
	return via
}

func allowedTill(allowed []string, pkg, dep string) bool {
	for _, a := range allowed {
		switch a {
		case "*":
			return true
		case "self/*":
			if strings.HasPrefix(dep, unit(pkg)+"/") {
				return true
			}
		default:
			if matches(a, dep) {
				return true
			}
		}
	}
	return false
}

// adapterOf names the adapter pkg belongs to, if any.
func adapterOf(pkg string) (string, bool) {
	for _, a := range adapters {
		if strings.HasSuffix(a, "/*") && matches(a, pkg) {
			return unit(pkg), true
		}
		if a == pkg {
			return a, true
		}
	}
	return "", false
}

// unit is the first two elements of pkg: dialect/x of dialect/x/wire.
func unit(pkg string) string {
	parts := strings.SplitN(pkg, "/", 3)
	return strings.Join(parts[:min(2, len(parts))], "/")
}

func allowedModule(allowed []string, imp string) bool {
	return slices.ContainsFunc(allowed, func(m string) bool {
		return m == "*" || imp == m || strings.HasPrefix(imp, m+"/")
	})
}

func matches(pattern, pkg string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(pkg, prefix+"/")
	}
	return pattern == pkg
}

func isTill(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

// isThirdParty reports whether path is neither Till's nor the standard
// library's, whose paths have no dot in their first element (as the go
// command decides it); "C" is cgo.
func isThirdParty(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !isTill(path) && strings.Contains(first, ".")
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func show(name string) string {
	if name == "" {
		return "till"
	}
	return "till/" + name
}

func showChain(chain []string) string {
	var names []string
	for _, p := range chain {
		names = append(names, show(rel(p)))
	}
	return strings.Join(names, " → ")
}

// moduleGraph lists the module's packages with go list, and for each the Till
// packages go list reports among its transitive dependencies (Deps).
func moduleGraph(t *testing.T) (graph, map[string][]string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps,TestImports,XTestImports", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g, deps := graph{}, map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			ImportPath                string
			Imports, Deps             []string
			TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		g[p.ImportPath] = pkg{imports: p.Imports, testImports: slices.Concat(p.TestImports, p.XTestImports)}
		for _, d := range p.Deps {
			if isTill(d) {
				deps[p.ImportPath] = append(deps[p.ImportPath], d)
			}
		}
	}
	for _, p := range []string{module, module + "/service"} {
		if _, ok := g[p]; !ok {
			t.Fatalf("go list ./... did not list %s (run from the module root):\n%s", p, stderr.String())
		}
	}
	return g, deps
}

// TestDependencyDirection enforces the layering on the module as it is.
func TestDependencyDirection(t *testing.T) {
	g, deps := moduleGraph(t)
	// The closure checkLayers computes must be the one go list reports.
	for path := range g {
		var got []string
		for d := range tillDeps(g, path) {
			got = append(got, d)
		}
		want := deps[path]
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: Till dependencies from the import graph %v, go list -deps says %v", path, got, want)
		}
	}
	for _, p := range checkLayers(layers, g) {
		t.Error(p)
	}
}

// TestLayeringCatchesViolations plants violations of each kind in the real
// graph and checks that each is reported, so the arch test provably fails.
func TestLayeringCatchesViolations(t *testing.T) {
	real, _ := moduleGraph(t)
	baseline := checkLayers(layers, real)
	p := func(name string) string { return strings.TrimSuffix(module+"/"+name, "/") }
	// plant returns a copy of real where pkg (created if absent) also
	// imports imports, and its tests testImports.
	type edge struct {
		pkg                  string
		imports, testImports []string
	}
	plant := func(edges ...edge) graph {
		g := graph{}
		for k, v := range real {
			g[k] = v
		}
		for _, e := range edges {
			d := g[p(e.pkg)]
			d.imports = slices.Concat(d.imports, e.imports)
			d.testImports = slices.Concat(d.testImports, e.testImports)
			g[p(e.pkg)] = d
		}
		return g
	}
	foo := edge{pkg: "dialect/foo", imports: []string{module, p("service"), p("middleware"), "net/http"}}
	for _, c := range []struct {
		name  string
		graph graph
		want  string
	}{
		{"service imports http", plant(edge{pkg: "service", imports: []string{p("http")}}),
			"till/service depends on till/http (till/service → till/http), which its rule \"service\" does not allow"},
		{"service reaches api through client", plant(edge{pkg: "service", imports: []string{p("client")}}),
			"till/service depends on till/api (till/service → till/client → till/api), which its rule \"service\" does not allow"},
		{"a dialect imports the native wire types", plant(foo, edge{pkg: "dialect/foo", imports: []string{p("api")}}),
			"till/dialect/foo depends on till/api (till/dialect/foo → till/api), which its rule \"dialect/*\" does not allow"},
		{"a dialect imports http", plant(foo, edge{pkg: "dialect/foo", imports: []string{p("http")}}),
			"till/dialect/foo depends on till/http (till/dialect/foo → till/http), which its rule \"dialect/*\" does not allow"},
		{"a dialect imports another dialect", plant(foo, edge{pkg: "dialect/bar", imports: []string{module}}, edge{pkg: "dialect/foo", imports: []string{p("dialect/bar")}}),
			"adapter till/dialect/foo depends on adapter till/dialect/bar (till/dialect/foo → till/dialect/bar): adapters never import each other"},
		{"a store imports the other store", plant(edge{pkg: "sqlite", imports: []string{p("postgres")}}),
			"adapter till/sqlite depends on adapter till/postgres (till/sqlite → till/postgres): adapters never import each other"},
		{"the native API imports the hosted pages", plant(edge{pkg: "http", imports: []string{p("checkout")}}),
			"adapter till/http depends on adapter till/checkout (till/http → till/checkout): adapters never import each other"},
		{"an unknown package", plant(edge{pkg: "newpkg", imports: []string{module}}),
			"till/newpkg matches no rule: add a rule for it to arch_test.go (and a row to docs/architecture.md)"},
		{"the domain imports a Till package", plant(edge{pkg: "", imports: []string{p("tax")}}),
			"till depends on till/tax (till → till/tax), which its rule \"\" does not allow"},
		{"the domain imports a third-party module", plant(edge{pkg: "", imports: []string{"github.com/shopspring/decimal"}}),
			"till imports third-party github.com/shopspring/decimal, which its rule \"\" does not list"},
		{"the domain's tests import a third-party module", plant(edge{pkg: "", testImports: []string{"pgregory.net/rapid"}}),
			"till's tests import third-party pgregory.net/rapid, which its rule \"\" does not list"},
		{"the service imports a third-party module", plant(edge{pkg: "service", imports: []string{"github.com/google/uuid"}}),
			"till/service imports third-party github.com/google/uuid, which its rule \"service\" does not list"},
		{"a store imports the other engine's driver", plant(edge{pkg: "sqlite", imports: []string{"github.com/jackc/pgx/v5/pgxpool"}}),
			"till/sqlite imports third-party github.com/jackc/pgx/v5/pgxpool, which its rule \"sqlite\" does not list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := checkLayers(layers, c.graph)
			if !slices.Contains(got, c.want) {
				t.Errorf("planted violation not reported; want\n\t%s\nin\n\t%s", c.want, strings.Join(got, "\n\t"))
			}
		})
	}

	// Rules themselves: overlapping patterns and unknown layers.
	overlapping := append(slices.Clone(layers), layerRule{pattern: "cmd/till", till: []string{"*"}})
	if got, want := checkLayers(overlapping, real), `till/cmd/till matches several rules ("cmd/*", "cmd/till"): make the patterns in arch_test.go disjoint`; !slices.Contains(got, want) {
		t.Errorf("overlapping rules not reported; want %s in %v", want, got)
	}
	typo := append(slices.Clone(layers), layerRule{pattern: "newpkg", till: []string{"servce"}})
	if got, want := checkLayers(typo, real), `rule "newpkg" allows "servce", which is no rule's pattern`; !slices.Contains(got, want) {
		t.Errorf("a rule naming no layer not reported; want %s in %v", want, got)
	}

	// What the rules allow stays allowed: a dialect on the service, the
	// middleware and its own subpackages, and tests wiring real adapters.
	allowed := plant(foo,
		edge{pkg: "dialect/foo/wire", imports: []string{module}},
		edge{pkg: "dialect/foo", imports: []string{p("dialect/foo/wire")}, testImports: []string{p("sqlite"), p("processor/simulator")}},
	)
	if got := checkLayers(layers, allowed); !slices.Equal(got, baseline) {
		t.Errorf("allowed dependencies reported: %v", got)
	}
}
