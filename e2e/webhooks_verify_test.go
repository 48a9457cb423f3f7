package e2e

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till/api"
)

// signedDelivery is one delivery as a receiver sees it, with the secret it
// is checked under and whether verification must accept it ("ok") or refuse
// it ("reject"). A list of them is the input of testdata/node/verify.mjs and
// of the Python driver below.
type signedDelivery struct {
	Name    string            `json:"name"`
	Secret  string            `json:"secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Expect  string            `json:"expect"`
}

// verifyResult is the line verify.mjs and the Python driver print for each
// delivery.
type verifyResult struct {
	Name             string `json:"name"`
	Expect           string `json:"expect"`
	Stripe           string `json:"stripe"`
	StandardWebhooks string `json:"standardwebhooks"`
	Python           string `json:"python"`
	Pass             bool   `json:"pass"`
}

// signatureHeaders are the headers of a delivery that verification reads.
var signatureHeaders = []string{"Content-Type", "Till-Signature", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}

// TestWebhookVerifyNode checks real deliveries with the official npm
// packages a receiver would use, stripe (constructEvent on Till-Signature)
// and standardwebhooks (Webhook.verify on the webhook-* headers): every
// delivery verifies with both, during a secret roll under the old and the new
// secret, and both refuse a tampered body, a wrong secret, another delivery's
// signature and a correctly signed but stale timestamp.
func TestWebhookVerifyNode(t *testing.T) {
	// The receiver code of docs/webhooks.md makes the calls verify.mjs makes.
	doc := readDoc(t)
	snippet := docSnippet(t, doc, "## Verifying deliveries", "js")
	mjs, err := os.ReadFile(filepath.Join("testdata", "node", "verify.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []string{
		"import Stripe from 'stripe';",
		"import { Webhook } from 'standardwebhooks';",
		"stripe.webhooks.constructEvent(rawBody, req.headers['till-signature'], secret)",
		"new Webhook(secret).verify(rawBody, req.headers)",
	} {
		if !strings.Contains(snippet, call) || !strings.Contains(string(mjs), call) {
			t.Errorf("%s is not in both the Node code of docs/webhooks.md and testdata/node/verify.mjs", call)
		}
	}

	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH; the stripe and standardwebhooks checks need Node 20")
	}
	for _, pkg := range []string{"stripe", "standardwebhooks"} {
		if _, err := os.Stat(filepath.Join("testdata", "node", "node_modules", pkg, "package.json")); err != nil {
			t.Skipf("testdata/node/node_modules/%s is missing; run make test or npm ci --prefix e2e/testdata/node", pkg)
		}
	}
	Each(t, func(t *testing.T, b Backend) {
		cases := verifyCases(t, Start(t, b))
		results := runVerifier(t, cases, node, filepath.Join("testdata", "node", "verify.mjs"))
		for _, r := range results {
			t.Logf("%s: want %s; stripe %s; standardwebhooks %s", r.Name, r.Expect, r.Stripe, r.StandardWebhooks)
		}
	})
}

// TestWebhookVerifyPython runs the Python receiver code of docs/webhooks.md
// ("Verifying deliveries") on real deliveries: it accepts each, under either
// secret during a roll, and refuses what the Node libraries refuse.
func TestWebhookVerifyPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH; the docs' Python receiver code is not checked")
	}
	snippet := docSnippet(t, readDoc(t), "## Verifying deliveries", "python")
	script := filepath.Join(t.TempDir(), "verify.py")
	if err := os.WriteFile(script, []byte(snippet+pythonDriver), 0o644); err != nil {
		t.Fatal(err)
	}
	Each(t, func(t *testing.T, b Backend) {
		cases := verifyCases(t, Start(t, b))
		for _, r := range runVerifier(t, cases, python, script) {
			t.Logf("%s: want %s; python %s", r.Name, r.Expect, r.Python)
		}
	})
}

// pythonDriver follows the snippet of docs/webhooks.md: it calls its verify
// on each delivery of the file named by argv[1] and prints a verifyResult
// line each, exiting 1 when one did not meet its expectation.
const pythonDriver = `

if __name__ == "__main__":
    import json, sys

    failed = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        deliveries = json.load(f)
    for d in deliveries:
        headers = {k.lower(): v for k, v in d["headers"].items()}
        ok = verify(d["body"].encode("utf-8"), headers.get("till-signature", ""), d["secret"])
        got = "ok" if ok else "reject"
        passed = got == d["expect"]
        failed += not passed
        print(json.dumps({"name": d["name"], "expect": d["expect"], "python": got, "pass": passed}))
    sys.exit(1 if failed else 0)
`

// readDoc returns docs/webhooks.md.
func readDoc(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// docSnippet returns the first fenced block of lang in the section of doc
// that starts at heading, failing the test when there is none.
func docSnippet(t *testing.T, doc, heading, lang string) string {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/webhooks.md has no %q section", heading)
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	_, block, ok := strings.Cut(section, "\n```"+lang+"\n")
	if !ok {
		t.Fatalf("docs/webhooks.md %q has no ```%s block", heading, lang)
	}
	block, _, ok = strings.Cut(block, "\n```")
	if !ok {
		t.Fatalf("docs/webhooks.md %q: the ```%s block is not closed", heading, lang)
	}
	return block + "\n"
}

// verifyCases makes real deliveries of several event types to a receiver,
// rolls the endpoint's secret and makes one more, and returns them with the
// refusals built from them.
func verifyCases(t *testing.T, env *Env) []signedDelivery {
	t.Helper()
	ctx := env.Ctx()
	rc := newReceiver(t)
	types := []string{"customer.created", "payment_method.attached", "payment.succeeded", "refund.succeeded"}
	ep := env.endpoint(t, env.Client, rc.URL+"/hooks", types...)

	cust, _ := env.CustomerWithCard("DE", "4242424242424242")
	p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "Verified"}))
	Must[*api.Refund](t)(env.Client.CreateRefund(ctx, p.ID, api.RefundRequest{Amount: Amount(300)}))
	env.Eventually(10*time.Second, "a delivery of each of "+strings.Join(types, ", "), func() bool { return len(rc.hooks()) >= len(types) })
	before := rc.hooks()
	var got []string
	for _, h := range before {
		got = append(got, h.Event.Type)
	}
	slices.Sort(got)
	if !slices.Equal(got, slices.Sorted(slices.Values(types))) {
		t.Fatalf("deliveries of %v, want one each of %v", got, types)
	}

	// During a roll, a delivery is signed under both secrets.
	rolled := Must[*api.WebhookEndpointWithSecret](t)(env.Client.RollWebhookSecret(ctx, ep.ID, nil))
	late := Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{Email: "rolled@example.com"}))
	var during hook
	env.Eventually(10*time.Second, "a delivery during the roll", func() bool {
		for _, h := range rc.hooks() {
			if h.Event.ObjectID == late.ID {
				during = h
				return true
			}
		}
		return false
	})

	var cases []signedDelivery
	for _, h := range before {
		cases = append(cases, delivered(t, h.Event.Type, h, ep.Secret, "ok"))
	}
	cases = append(cases,
		delivered(t, "roll, old secret", during, ep.Secret, "ok"),
		delivered(t, "roll, new secret", during, rolled.Secret, "ok"))

	// Refused: each is a real delivery with one thing wrong.
	paid := delivered(t, "", hookOf(t, before, "payment.succeeded"), ep.Secret, "reject")
	tampered := paid
	tampered.Name = "tampered body (livemode true)"
	if !strings.Contains(tampered.Body, `"livemode":false`) {
		t.Fatalf("body without livemode false: %s", tampered.Body)
	}
	tampered.Body = strings.Replace(tampered.Body, `"livemode":false`, `"livemode":true`, 1)
	spaced := paid
	spaced.Name = "tampered body (a space appended)"
	spaced.Body += " "
	wrong := paid
	wrong.Name = "wrong secret"
	wrong.Secret = newSecret(t)
	notYet := paid
	notYet.Name = "the rolled secret on a delivery before the roll"
	notYet.Secret = rolled.Secret
	swapped := paid
	swapped.Name = "another delivery's signature"
	swapped.Headers = delivered(t, "", hookOf(t, before, "refund.succeeded"), ep.Secret, "").Headers
	unsigned := paid
	unsigned.Name = "no signature headers"
	unsigned.Headers = map[string]string{"Content-Type": "application/json"}
	cases = append(cases, tampered, spaced, wrong, notYet, swapped, unsigned)

	// Re-signed by the test: a minute old verifies (so the signing below is
	// right), ten minutes old is beyond both libraries' five minutes.
	now := time.Now()
	for _, r := range []struct {
		name   string
		age    time.Duration
		expect string
	}{
		{"re-signed a minute ago", time.Minute, "ok"},
		{"re-signed ten minutes ago (stale)", 10 * time.Minute, "reject"},
	} {
		d := paid
		d.Name, d.Expect = r.name, r.expect
		d.Headers = sign(ep.Secret, d.Headers["Webhook-Id"], now.Add(-r.age), []byte(d.Body))
		cases = append(cases, d)
	}
	return cases
}

// delivered returns a recorded delivery as a case of name checked under
// secret.
func delivered(t *testing.T, name string, h hook, secret, expect string) signedDelivery {
	t.Helper()
	if !utf8.Valid(h.Body) {
		t.Fatalf("the body of %s is not UTF-8: %q", h.Event.ID, h.Body)
	}
	d := signedDelivery{Name: name, Secret: secret, Headers: map[string]string{}, Body: string(h.Body), Expect: expect}
	for _, k := range signatureHeaders {
		d.Headers[k] = h.Header.Get(k)
	}
	return d
}

// hookOf returns the delivery of an event type.
func hookOf(t *testing.T, hooks []hook, eventType string) hook {
	t.Helper()
	for _, h := range hooks {
		if h.Event.Type == eventType {
			return h
		}
	}
	t.Fatalf("no delivery of %s", eventType)
	return hook{}
}

// newSecret returns a secret of the form Till gives endpoints, whsec_ and 32
// random bytes in standard base64.
func newSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// sign returns the signature headers of body signed under secret at ts, as
// docs/webhooks.md describes them, computed here rather than by package
// webhook so that the libraries check the documented scheme.
func sign(secret, msgID string, ts time.Time, body []byte) map[string]string {
	unix := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(unix + "."))
	m.Write(body)
	stripe := "t=" + unix + ",v1=" + hex.EncodeToString(m.Sum(nil))
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	m = hmac.New(sha256.New, key)
	m.Write([]byte(msgID + "." + unix + "."))
	m.Write(body)
	return map[string]string{
		"Content-Type":      "application/json",
		"Till-Signature":    stripe,
		"Webhook-Id":        msgID,
		"Webhook-Timestamp": unix,
		"Webhook-Signature": "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)),
	}
}

// runVerifier writes cases to a file, runs interpreter on script with it,
// and fails the test for each case whose result line does not pass, and when
// a line is missing or the script fails for another reason.
func runVerifier(t *testing.T, cases []signedDelivery, interpreter, script string) []verifyResult {
	t.Helper()
	in, err := json.MarshalIndent(cases, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "deliveries.json")
	if err := os.WriteFile(file, in, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), interpreter, script, file)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		t.Fatalf("%s %s: %v", interpreter, script, runErr)
	}
	var results []verifyResult
	failed := 0
	for sc := bufio.NewScanner(&stdout); sc.Scan(); {
		var r verifyResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s printed %q: %v", script, sc.Text(), err)
		}
		if !r.Pass {
			failed++
			t.Errorf("%s: %s", script, sc.Text())
		}
		results = append(results, r)
	}
	if len(results) != len(cases) {
		t.Fatalf("%s: %d results for %d deliveries (%v); stderr:\n%s", script, len(results), len(cases), runErr, stderr.String())
	}
	for i, r := range results {
		if r.Name != cases[i].Name || r.Expect != cases[i].Expect {
			t.Errorf("%s: result %d is %q want %s, for %q want %s", script, i, r.Name, r.Expect, cases[i].Name, cases[i].Expect)
		}
	}
	if (runErr != nil) != (failed > 0) {
		t.Errorf("%s: exit %v with %d failed deliveries; stderr:\n%s", script, runErr, failed, stderr.String())
	}
	return results
}
