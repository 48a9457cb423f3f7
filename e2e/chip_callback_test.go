package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/dialect/chip"
	"github.com/tillpay/till/service"
)

// chipPublicKey reads GET /public_key/ as a CHIP client does: a JSON string
// holding a PEM public key. It returns the PEM and the parsed key.
func (c *chipClient) publicKey() (string, *rsa.PublicKey) {
	c.t.Helper()
	var s string
	c.ok("GET", "/public_key/", nil, &s)
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		c.t.Fatalf("public key is not a PEM PUBLIC KEY: %q", s)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		c.t.Fatalf("public key: %v", err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 {
		c.t.Fatalf("public key is not a 2048-bit RSA key: %T", k)
	}
	return s, pub
}

// verifyCHIP checks a delivery's X-Signature as CHIP's SDKs do: base64 of
// an RSA PKCS #1 v1.5 signature over SHA-256 of the raw body.
func verifyCHIP(pub *rsa.PublicKey, h http.Header, body []byte) error {
	sig, err := base64.StdEncoding.DecodeString(h.Get("X-Signature"))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}

// chipCallback is a delivery's body: a Purchase and its event_type.
type chipCallback struct {
	chip.Purchase
	EventType string `json:"event_type"`
}

// callbacks returns the deliveries to path about purchase id, decoded, each
// checked against pub.
func callbacks(t *testing.T, rc *commetReceiver, pub *rsa.PublicKey, path, id string) []chipCallback {
	t.Helper()
	var out []chipCallback
	for _, h := range rc.find(path, `"id":"`+id+`"`) {
		if err := verifyCHIP(pub, h.header, h.body); err != nil {
			t.Fatalf("X-Signature of a delivery to %s does not verify: %v", path, err)
		}
		var cb chipCallback
		if err := json.Unmarshal(h.body, &cb); err != nil {
			t.Fatalf("delivery to %s: %v in %s", path, err, h.body)
		}
		out = append(out, cb)
	}
	return out
}

// waitEvents waits until purchase id's deliveries to path include every
// event of want and returns them, in the order received.
func waitEvents(t *testing.T, env *Env, rc *commetReceiver, pub *rsa.PublicKey, path, id string, want ...string) []chipCallback {
	t.Helper()
	var got []chipCallback
	env.Eventually(15*time.Second, strings.Join(want, ", ")+" at "+path, func() bool {
		got = callbacks(t, rc, pub, path, id)
		for _, w := range want {
			if indexOfEvent(got, w) < 0 {
				return false
			}
		}
		return true
	})
	return got
}

func indexOfEvent(cbs []chipCallback, typ string) int {
	for i, cb := range cbs {
		if cb.EventType == typ {
			return i
		}
	}
	return -1
}

// TestChipSuccessCallback: a purchase's success_callback receives the paid
// Purchase, signed with the key GET /public_key/ serves; a tampered body
// does not verify; a live-mode callback must be https.
func TestChipSuccessCallback(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		rc := newCommetReceiver(t)
		cbURL := rc.srv.URL + "/cb"
		p := c.newPurchase(1500, map[string]any{"client": map[string]any{"email": "cb@example.com"}},
			map[string]any{"success_callback": cbURL})
		if p.SuccessCallback != cbURL {
			t.Fatalf("success_callback shown as %q", p.SuccessCallback)
		}
		pemKey, pub := c.publicKey()
		payOnPage(t, env, p.CheckoutURL, "4242424242424242")
		got := waitEvents(t, env, rc, pub, "/cb", p.ID, "purchase.paid")
		cb := got[indexOfEvent(got, "purchase.paid")]
		if cb.Status != "paid" || cb.ID != p.ID || cb.Payment == nil || cb.Payment.Amount != 1500 || cb.SuccessCallback != cbURL {
			t.Fatalf("callback: %+v", cb)
		}
		for _, e := range got {
			if e.EventType != "purchase.paid" {
				t.Fatalf("the success_callback got %s", e.EventType)
			}
		}
		// The delivery is in the core's delivery log of the event.
		payID := tillIDOf(t, p.ID, "pay_")
		env.Eventually(10*time.Second, "the success_callback delivery in the delivery log", func() bool {
			events := Must[*client.List[api.Event]](t)(env.Client.Events(env.Ctx(), client.ListParams{Filters: map[string]string{"type": "payment.succeeded"}}))
			for _, ev := range events.Data {
				if ev.ObjectID != payID {
					continue
				}
				for _, d := range Must[*client.List[api.WebhookDelivery]](t)(env.Client.EventDeliveries(env.Ctx(), ev.ID, client.ListParams{})).Data {
					if d.URL == cbURL && d.Status == "succeeded" {
						return true
					}
				}
			}
			return false
		})
		// A body changed by one byte no longer verifies.
		h := rc.find("/cb", `"id":"`+p.ID+`"`)[0]
		tampered := bytes.Replace(h.body, []byte(`"total":1500`), []byte(`"total":1501`), 1)
		if bytes.Equal(tampered, h.body) || verifyCHIP(pub, h.header, tampered) == nil {
			t.Fatal("a tampered body verified")
		}
		t.Run("node", func(t *testing.T) {
			nodeVerifiesCHIP(t, pemKey, h.header.Get("X-Signature"), map[string][]byte{"ok": h.body, "reject": tampered})
		})
		// The callback is no CHIP webhook of the account.
		var list struct{ Results []chip.Webhook }
		c.ok("GET", "/webhooks/", nil, &list)
		if len(list.Results) != 0 {
			t.Fatalf("the success_callback is listed as a webhook: %+v", list)
		}
		// The callback's endpoint is retired once it was called, and that
		// of a purchase cancelled unpaid when it is cancelled.
		unpaid := c.newPurchase(900, map[string]any{"client": map[string]any{"email": "cb@example.com"}},
			map[string]any{"success_callback": rc.srv.URL + "/never"})
		if !hasEndpoint(t, env, rc.srv.URL+"/never") {
			t.Fatal("no endpoint for the unpaid purchase's callback")
		}
		c.purchase("POST", "/purchases/"+unpaid.ID+"/cancel/", nil)
		env.Eventually(10*time.Second, "the callback endpoints to be retired", func() bool {
			return !hasEndpoint(t, env, cbURL) && !hasEndpoint(t, env, rc.srv.URL+"/never")
		})
		// Live mode takes https callbacks only, as any webhook URL.
		live := &chipClient{t: t, env: env, key: env.Keys.LiveSecretKey}
		e := live.fails("POST", "/purchases/", map[string]any{"client": map[string]any{"email": "cb@example.com"},
			"purchase":         map[string]any{"currency": "EUR", "products": []any{map[string]any{"name": "x", "price": 100}}},
			"success_callback": "http://shop.example/cb"}, 400)
		if len(e["success_callback"]) == 0 {
			t.Fatalf("an http callback in live mode: %+v", e)
		}
	})
}

// TestChipWebhookEvents: a webhook made with POST /webhooks/ receives
// purchase.pending_charge then purchase.paid for a slow recurring charge,
// and purchase.payment_failure for a declined one, each signed; it is
// read, listed and deleted in CHIP's shape, beside Commet's webhooks at the
// same path.
func TestChipWebhookEvents(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		rc := newCommetReceiver(t)
		var wh chip.Webhook
		c.ok("POST", "/webhooks/", map[string]any{"title": "shop", "callback": rc.srv.URL + "/hook",
			"events": []string{"purchase.pending_charge", "purchase.paid", "purchase.payment_failure"}}, &wh)
		pemKey, pub := c.publicKey()
		if wh.Type != "webhook" || wh.Title != "shop" || wh.AllEvents || len(wh.Events) != 3 || wh.PublicKey != pemKey || wh.Callback != rc.srv.URL+"/hook" {
			t.Fatalf("webhook: %+v", wh)
		}
		var again chip.Webhook
		c.ok("GET", "/webhooks/"+wh.ID+"/", nil, &again)
		if again.ID != wh.ID || again.Callback != wh.Callback {
			t.Fatalf("webhook read back: %+v", again)
		}
		if e := c.fails("POST", "/webhooks/", map[string]any{"title": "x", "callback": rc.srv.URL, "events": []string{"purchase.nope"}}, 400); len(e["events"]) == 0 {
			t.Fatalf("an unknown event: %+v", e)
		}
		// Commet's webhooks at the same path are Commet's still.
		if status, e, _ := commetCall(t, env, commetKey(env.Keys.TestSecretKey), "GET", "/api/v1/webhooks", ""); status != 200 || e.Data == nil || strings.Contains(string(e.raw), wh.ID) {
			t.Fatalf("Commet's webhooks: %d %s", status, e.raw)
		}

		clientID, token := chipClientWithCard(t, env, c, "4000000000001000")
		p := c.newPurchase(1000, map[string]any{"client_id": clientID}, nil)
		if got := c.purchase("POST", "/purchases/"+p.ID+"/charge/", map[string]any{"recurring_token": token}); got.Status != "pending_charge" {
			t.Fatalf("slow charge: %+v", got)
		}
		got := waitEvents(t, env, rc, pub, "/hook", p.ID, "purchase.pending_charge", "purchase.paid")
		pending, paid := indexOfEvent(got, "purchase.pending_charge"), indexOfEvent(got, "purchase.paid")
		if pending > paid || got[pending].Status != "pending_charge" || got[paid].Status != "paid" {
			t.Fatalf("pending then paid: %+v", got)
		}

		declinedClient, declined := chipClientWithCard(t, env, c, "4000000000000002")
		q := c.newPurchase(700, map[string]any{"client_id": declinedClient}, nil)
		c.fails("POST", "/purchases/"+q.ID+"/charge/", map[string]any{"recurring_token": declined}, 400)
		got = waitEvents(t, env, rc, pub, "/hook", q.ID, "purchase.payment_failure")
		f := got[indexOfEvent(got, "purchase.payment_failure")]
		if f.Status != "error" || len(f.TransactionData.Attempts) != 1 || f.TransactionData.Attempts[0].Error == nil {
			t.Fatalf("payment failure: %+v", f)
		}

		// PATCH changes the fields sent, PUT all of them.
		var changed chip.Webhook
		c.ok("PATCH", "/webhooks/"+wh.ID+"/", map[string]any{"title": "renamed"}, &changed)
		if changed.Title != "renamed" || len(changed.Events) != 3 || changed.Callback != wh.Callback {
			t.Fatalf("patched: %+v", changed)
		}
		c.ok("PUT", "/webhooks/"+wh.ID+"/", map[string]any{"title": "all", "callback": rc.srv.URL + "/hook", "all_events": true}, &changed)
		if changed.Title != "all" || !changed.AllEvents || len(changed.Events) != 0 {
			t.Fatalf("put: %+v", changed)
		}
		if e := c.fails("PUT", "/webhooks/"+wh.ID+"/", map[string]any{"title": "x"}, 400); len(e["callback"]) == 0 || len(e["events"]) == 0 {
			t.Fatalf("a PUT without callback and events: %+v", e)
		}
		var list struct{ Results []chip.Webhook }
		c.ok("GET", "/webhooks/", nil, &list)
		if len(list.Results) != 1 || list.Results[0].ID != wh.ID {
			t.Fatalf("webhooks: %+v", list)
		}
		// DELETE answers 204 without a body, as Django REST Framework's
		// destroy does.
		req, _ := http.NewRequestWithContext(env.Ctx(), "DELETE", env.URL+"/api/v1/webhooks/"+wh.ID+"/", nil)
		req.Header.Set("Authorization", "Bearer "+c.key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %d", res.StatusCode)
		}
		c.fails("GET", "/webhooks/"+wh.ID+"/", nil, 404)
	})
}

// TestChipCallbackKey: the public key is the same on every call, differs
// between accounts and modes, and its private half is stored sealed.
func TestChipCallbackKey(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		first, _ := c.publicKey()
		if again, _ := c.publicKey(); again != first {
			t.Fatal("the public key changed between calls")
		}
		live, _ := (&chipClient{t: t, env: env, key: env.Keys.LiveSecretKey}).publicKey()
		// The first requests of a fresh account, at once, agree on one key.
		other := Must[*service.AccountKeys](t)(env.Service.CreateAccount(context.Background(), nil, service.NewAccountParams{Name: "Other"}))
		otherCaller := &service.Caller{Account: &till.Account{ID: tillIDOf(t, c.accountOf(other.TestSecretKey), "acct_")}}
		keys := make([]string, 6)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := env.Service.CallbackPublicKey(env.Ctx(), otherCaller)
				if err == nil {
					keys[i] = k
				}
			}()
		}
		wg.Wait()
		otherKey, _ := (&chipClient{t: t, env: env, key: other.TestSecretKey}).publicKey()
		for _, k := range keys {
			if k != otherKey {
				t.Fatal("concurrent first requests made different keys")
			}
		}
		if live == first || otherKey == first || otherKey == live {
			t.Fatal("two accounts or modes share a callback key")
		}
		ctx := env.Ctx()
		var a *till.Account
		if err := env.Store.View(ctx, func(tx till.Tx) (err error) {
			a, err = tx.Account(ctx, tillIDOf(t, c.purchaseAccount(), "acct_"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		doc, _ := json.Marshal(a)
		k := a.TestCallbackKey
		if k.PublicKey != first || len(k.SealedPrivateKey) == 0 || k.DataKeyID == "" || bytes.Contains(doc, []byte("PRIVATE KEY")) {
			t.Fatalf("stored key: %+v", k)
		}
		if _, err := x509.ParsePKCS8PrivateKey(k.SealedPrivateKey); err == nil {
			t.Fatal("the private key is stored in clear")
		}
		if _, err := x509.ParsePKCS1PrivateKey(k.SealedPrivateKey); err == nil {
			t.Fatal("the private key is stored in clear")
		}
	})
}

// purchaseAccount returns the UUID of the client's account, as purchases
// show it (company_id).
func (c *chipClient) purchaseAccount() string {
	c.t.Helper()
	p := c.newPurchase(100, map[string]any{"client": map[string]any{"email": "acct@example.com"}}, nil)
	return p.CompanyID
}

// accountOf returns the UUID of the account of secret key.
func (c *chipClient) accountOf(key string) string {
	c.t.Helper()
	return (&chipClient{t: c.t, env: c.env, key: key}).purchaseAccount()
}

// hasEndpoint reports whether the account has a webhook endpoint to u.
func hasEndpoint(t *testing.T, env *Env, u string) bool {
	t.Helper()
	eps, err := env.Client.WebhookEndpoints(env.Ctx(), client.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps.Data {
		if ep.URL == u {
			return true
		}
	}
	return false
}

// nodeVerifiesCHIP runs testdata/node/chip_verify.mjs: Node's crypto, as a
// CHIP receiver written in Node verifies, must accept the body under
// "ok" and refuse the one under "reject" with signature and the PEM key.
// Without node on PATH it skips.
func nodeVerifiesCHIP(t *testing.T, pemKey, signature string, bodies map[string][]byte) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH; the Node verification of CHIP callbacks needs Node 20")
	}
	type delivery struct {
		Name      string `json:"name"`
		Signature string `json:"signature"`
		Body      string `json:"body"`
		Expect    string `json:"expect"`
	}
	in := struct {
		PublicKey  string     `json:"publicKey"`
		Deliveries []delivery `json:"deliveries"`
	}{PublicKey: pemKey}
	for expect, body := range bodies {
		in.Deliveries = append(in.Deliveries, delivery{Name: expect + " body", Signature: signature, Body: string(body), Expect: expect})
	}
	b, _ := json.Marshal(in)
	path := filepath.Join(t.TempDir(), "deliveries.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), node, filepath.Join("testdata", "node", "chip_verify.mjs"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("chip_verify.mjs: %v\n%s", err, out)
	}
	if n := bytes.Count(out, []byte(`"pass":true`)); n != len(bodies) {
		t.Fatalf("chip_verify.mjs passed %d of %d:\n%s", n, len(bodies), out)
	}
}

// TestChipHoldCallbacks: for skip_capture purchases a webhook of all events
// receives purchase.created, purchase.hold and purchase.captured or
// purchase.released; the success_callback is called when the hold is
// captured, with the paid Purchase, and never for a released one.
func TestChipHoldCallbacks(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		rc := newCommetReceiver(t)
		var wh chip.Webhook
		c.ok("POST", "/webhooks/", map[string]any{"title": "all", "callback": rc.srv.URL + "/all", "all_events": true}, &wh)
		if !wh.AllEvents || len(wh.Events) != 0 {
			t.Fatalf("all_events webhook: %+v", wh)
		}
		_, pub := c.publicKey()
		client := map[string]any{"client": map[string]any{"email": "hold-cb@example.com"}}
		held := c.newPurchase(1190, client, map[string]any{"skip_capture": true, "success_callback": rc.srv.URL + "/cb"})
		payOnPage(t, env, held.CheckoutURL, "4242424242424242")
		c.purchase("POST", "/purchases/"+held.ID+"/capture/", nil)
		all := waitEvents(t, env, rc, pub, "/all", held.ID, "purchase.created", "purchase.hold", "purchase.captured")
		if all[indexOfEvent(all, "purchase.hold")].Status != "hold" || all[indexOfEvent(all, "purchase.captured")].Status != "paid" {
			t.Fatalf("hold events: %+v", all)
		}
		cb := waitEvents(t, env, rc, pub, "/cb", held.ID, "purchase.captured")
		for _, e := range cb {
			if e.EventType != "purchase.captured" || e.Status != "paid" || e.Payment == nil || e.Payment.Amount != 1190 {
				t.Fatalf("success_callback of a captured hold: %+v", e)
			}
		}

		released := c.newPurchase(1000, client, map[string]any{"skip_capture": true, "success_callback": rc.srv.URL + "/released"})
		payOnPage(t, env, released.CheckoutURL, "4242424242424242")
		c.purchase("POST", "/purchases/"+released.ID+"/release/", nil)
		waitEvents(t, env, rc, pub, "/all", released.ID, "purchase.hold", "purchase.released")
		env.Eventually(10*time.Second, "the released purchase's callback endpoint to be retired", func() bool {
			return !hasEndpoint(t, env, rc.srv.URL+"/released")
		})
		if got := rc.find("/released", released.ID); len(got) != 0 {
			t.Fatalf("the success_callback of a released hold was called: %d times", len(got))
		}
	})
}
