package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/processor/simulator"
	"github.com/tillpay/till/service"
	"github.com/tillpay/till/sqlite"
	"github.com/tillpay/till/vault"
)

// eventKind is one object type that events carry: the stored fixture of its
// domain type (testdata/stored of the root package, every field set or none)
// and how to decode and render it natively.
type eventKind struct {
	kind    string
	fixture string
	// native decodes a stored document, adjusts it to the kind (documents
	// get their Kind), and returns what the service would store, the
	// object's id and the native API's rendering of it.
	native func(tb testing.TB, doc []byte, live bool) (stored []byte, id string, rendered any)
}

func nativeKind[T any](kind, fixture string, prep func(*T), id func(*T) string, render func(*T, bool) any) eventKind {
	return eventKind{kind: kind, fixture: fixture, native: func(tb testing.TB, doc []byte, live bool) ([]byte, string, any) {
		tb.Helper()
		var v T
		if err := json.Unmarshal(doc, &v); err != nil {
			tb.Fatalf("fixture %s: %v", fixture, err)
		}
		if prep != nil {
			prep(&v)
		}
		return MustJSON(tb, &v), id(&v), render(&v, live)
	}}
}

var eventKinds = []eventKind{
	nativeKind("payment", "payment", nil, func(p *till.Payment) string { return p.ID },
		func(p *till.Payment, _ bool) any { return PaymentOf(p) }),
	nativeKind("refund", "refund", nil, func(r *till.Refund) string { return r.ID },
		func(r *till.Refund, _ bool) any { return RefundOf(r) }),
	nativeKind("customer", "customer", nil, func(c *till.Customer) string { return c.ID },
		func(c *till.Customer, _ bool) any { return CustomerOf(c) }),
	// The stored document does not say whether the method is its customer's
	// default; events render it as not the default.
	nativeKind("payment_method", "payment_method", nil, func(pm *till.PaymentMethod) string { return pm.ID },
		func(pm *till.PaymentMethod, _ bool) any { return PaymentMethodOf(pm, false) }),
	nativeKind("invoice", "document", func(d *till.Document) { d.Kind = till.DocInvoice },
		func(d *till.Document) string { return d.ID }, func(d *till.Document, _ bool) any { return DocumentOf(d) }),
	nativeKind("credit_note", "document", func(d *till.Document) { d.Kind = till.DocCreditNote },
		func(d *till.Document) string { return d.ID }, func(d *till.Document, _ bool) any { return DocumentOf(d) }),
	nativeKind("account", "account", nil, func(a *till.Account) string { return a.ID },
		func(a *till.Account, live bool) any { return AccountOf(a, live) }),
}

// MustJSON marshals v the way the service stores documents.
func MustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// MustEventOf renders e, failing the test on an error.
func MustEventOf(tb testing.TB, e *till.Event) Event {
	tb.Helper()
	out, err := EventOf(e)
	if err != nil {
		tb.Fatalf("EventOf(%s %s): %v", e.Type, e.ObjectType, err)
	}
	return out
}

// TestEventOfRendersNatively: for every object type, the event's
// data.object is exactly what the native API renders for the same domain
// value, with every field set and with none, in both modes, and the event's
// own fields are those of SPEC §12.
func TestEventOfRendersNatively(t *testing.T) {
	created := time.Date(2026, 12, 6, 11, 0, 0, 123000, time.FixedZone("CET", 3600))
	for _, k := range eventKinds {
		for _, variant := range []string{"full", "zero"} {
			for _, live := range []bool{false, true} {
				name := k.kind + "/" + variant + "/test"
				if live {
					name = k.kind + "/" + variant + "/live"
				}
				t.Run(name, func(t *testing.T) {
					doc, err := os.ReadFile(filepath.Join("..", "testdata", "stored", k.fixture+"."+variant+".json"))
					if err != nil {
						t.Fatal(err)
					}
					stored, id, want := k.native(t, doc, live)
					e := &till.Event{ID: "evt_1", AccountID: "acct_1", Livemode: live, Type: k.kind + ".something",
						ObjectType: k.kind, ObjectID: id, ObjectVersion: 7, Data: stored, CreatedAt: created}
					got := MustEventOf(t, e)
					if reflect.TypeOf(got.Data.Object) != reflect.TypeOf(want) {
						t.Fatalf("data.object is a %T, want %T", got.Data.Object, want)
					}
					if g, w := MustJSON(t, got.Data.Object), MustJSON(t, want); !bytes.Equal(g, w) {
						t.Errorf("data.object differs from the native rendering:\n got %s\nwant %s", g, w)
					}
					var top map[string]json.RawMessage
					if err := json.Unmarshal(MustJSON(t, got), &top); err != nil {
						t.Fatal(err)
					}
					wantTop := map[string]string{
						"id": `"evt_1"`, "object": `"event"`, "type": `"` + k.kind + `.something"`, "apiVersion": `"` + APIVersion + `"`,
						"createdAt": `"2026-12-06T10:00:00.000123Z"`, "livemode": string(MustJSON(t, live)),
						"objectId": string(MustJSON(t, id)), "objectVersion": "7",
					}
					for key, w := range wantTop {
						if g := string(top[key]); g != w {
							t.Errorf("%s = %s, want %s", key, g, w)
						}
					}
					if len(top) != len(wantTop)+1 {
						t.Errorf("event fields %v, want %v and data", keys(top), wantTop)
					}
					var data map[string]json.RawMessage
					if err := json.Unmarshal(top["data"], &data); err != nil || len(data) != 1 || data["object"] == nil {
						t.Errorf("data = %s, want {object}", top["data"])
					}
				})
			}
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestEventOfHasNoSecrets renders an event of every object type from domain
// values that carry secrets, stored as they are (as events were before
// migration 0005 removed them): no secret reaches the rendering. The one
// place a link token appears is inside the payment's url and nextAction.url,
// the /pay/{token} page the native API gives the merchant to send the payer
// (SPEC §6); nowhere else.
func TestEventOfHasNoSecrets(t *testing.T) {
	const (
		linkToken = "LINKTOKENsecret0123456789abcdefgh"
		dataKey   = "dk_SECRETdatakey0000000000"
		pan       = "4242424242424242"
	)
	sealedPAN := []byte("SEALED-PAN-" + pan)
	sealedKey := []byte("SEALED-PROCESSOR-KEY-sk_live_secret")
	sealedHook := []byte("SEALED-WEBHOOK-SECRET-whsec_secret")
	payURL := "https://till.example/pay/" + linkToken
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	secrets := []string{linkToken, dataKey, pan, string(sealedPAN), string(sealedKey), string(sealedHook),
		base64.StdEncoding.EncodeToString(sealedPAN), base64.StdEncoding.EncodeToString(sealedKey),
		base64.StdEncoding.EncodeToString(sealedHook), "LinkToken", "linkToken", "SealedPAN", "sealed", "Sealed", "DataKeyID", "dataKeyId"}
	// Allowed are the payment-link urls the native API shows.
	allowed := []string{`"url":"` + payURL + `"`}

	card := till.CardDetails{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, Fingerprint: "fp_1", Country: "DE"}
	objects := []struct {
		kind string
		obj  any
		id   string
	}{
		{"payment", &till.Payment{ID: "pay_1", AccountID: "acct_1", Kind: "link", Status: "requires_action", Currency: "EUR",
			AmountTotal: 1190, URL: payURL, LinkToken: linkToken, NextAction: &till.NextAction{Type: "authenticate", URL: payURL},
			Attempts:  []till.Attempt{{ID: "att_1", Kind: "charge", At: at, Provider: "simulator", Amount: 1190, Reference: "att_1"}},
			CreatedAt: at, UpdatedAt: at}, "pay_1"},
		{"payment_method", &till.PaymentMethod{ID: "pm_1", AccountID: "acct_1", CustomerID: "cus_1", Type: "card", Card: card,
			Provider: "simulator", SealedPAN: sealedPAN, DataKeyID: dataKey, Version: 1, CreatedAt: at}, "pm_1"},
		{"account", &till.Account{ID: "acct_1", Name: "Shop", OriginCountry: "DE",
			TestProcessor: till.ProcessorSettings{Name: "stripe", SecretKeyLast4: "cret", SealedSecretKey: sealedKey, SealedWebhookSecret: sealedHook, DataKeyID: dataKey},
			LiveProcessor: till.ProcessorSettings{Name: "stripe", SecretKeyLast4: "cret", SealedSecretKey: sealedKey, SealedWebhookSecret: sealedHook, DataKeyID: dataKey},
			CreatedAt:     at}, "acct_1"},
		{"customer", &till.Customer{ID: "cus_1", AccountID: "acct_1", Email: "a@example.com", DefaultPaymentMethodID: "pm_1", CreatedAt: at, UpdatedAt: at}, "cus_1"},
		{"refund", &till.Refund{ID: "re_1", AccountID: "acct_1", PaymentID: "pay_1", Amount: 100, Currency: "EUR",
			Attempt: till.Attempt{ID: "att_2", Kind: "refund", At: at, Provider: "simulator", Amount: 100, Reference: "att_2"}, CreatedAt: at, UpdatedAt: at}, "re_1"},
		{"invoice", &till.Document{ID: "in_1", AccountID: "acct_1", Kind: till.DocInvoice, Number: "SHOP-2026-1", PaymentID: "pay_1",
			PaymentMethod: "visa •••• 4242", CreatedAt: at}, "in_1"},
		{"credit_note", &till.Document{ID: "cn_1", AccountID: "acct_1", Kind: till.DocCreditNote, Number: "SHOP-CN-2026-1", PaymentID: "pay_1",
			RefundID: "re_1", InvoiceID: "in_1", CreatedAt: at}, "cn_1"},
	}
	seen := map[string]bool{}
	for _, o := range objects {
		for _, live := range []bool{false, true} {
			t.Run(o.kind, func(t *testing.T) {
				storedBytes := MustJSON(t, o.obj)
				stored := string(storedBytes)
				got := MustEventOf(t, &till.Event{ID: "evt_1", Livemode: live, Type: o.kind + ".x", ObjectType: o.kind, ObjectID: o.id,
					ObjectVersion: 1, Data: storedBytes, CreatedAt: at})
				out := string(MustJSON(t, got))
				rest := out
				for _, a := range allowed {
					rest = strings.ReplaceAll(rest, a, `"url":"…"`)
				}
				for _, s := range secrets {
					if strings.Contains(stored, s) {
						seen[s] = true
					}
					if strings.Contains(rest, s) {
						t.Errorf("the %s event shows %q:\n%s", o.kind, s, out)
					}
				}
			})
		}
	}
	// The fixtures really did carry every secret.
	for _, s := range []string{linkToken, dataKey, base64.StdEncoding.EncodeToString(sealedPAN),
		base64.StdEncoding.EncodeToString(sealedKey), base64.StdEncoding.EncodeToString(sealedHook)} {
		if !seen[s] {
			t.Errorf("test setup: no stored object holds %q", s)
		}
	}
}

// TestEventOfRefusesBadEvents: an unknown object type, undecodable data,
// data of another object, a document of the other kind and a nil event are
// internal errors, never a panic.
func TestEventOfRefusesBadEvents(t *testing.T) {
	for _, tt := range []struct {
		name string
		e    *till.Event
	}{
		{"nil", nil},
		{"unknown type", &till.Event{ID: "evt_1", ObjectType: "payment_link", ObjectID: "pl_1", Data: []byte(`{"ID":"pl_1"}`)}},
		{"no type", &till.Event{ID: "evt_1", ObjectID: "pay_1", Data: []byte(`{"ID":"pay_1"}`)}},
		{"bad json", &till.Event{ID: "evt_1", ObjectType: "payment", ObjectID: "pay_1", Data: []byte(`{"ID":`)}},
		{"empty data", &till.Event{ID: "evt_1", ObjectType: "customer", ObjectID: "cus_1"}},
		{"wrong shape", &till.Event{ID: "evt_1", ObjectType: "refund", ObjectID: "re_1", Data: []byte(`["re_1"]`)}},
		{"other object", &till.Event{ID: "evt_1", ObjectType: "payment", ObjectID: "pay_1", Data: []byte(`{"ID":"pay_2"}`)}},
		{"null data", &till.Event{ID: "evt_1", ObjectType: "payment", ObjectID: "pay_1", Data: []byte(`null`)}},
		{"credit note as invoice", &till.Event{ID: "evt_1", ObjectType: "invoice", ObjectID: "cn_1", Data: []byte(`{"ID":"cn_1","Kind":"credit_note"}`)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EventOf(tt.e)
			if err == nil {
				t.Fatalf("no error; rendered %+v", got)
			}
			if till.ErrorCode(err) != till.EInternal {
				t.Errorf("error %v has code %s, want %s", err, till.ErrorCode(err), till.EInternal)
			}
		})
	}
}

// recordingStore is a till.Store that keeps a copy of every event its
// committed units of work create.
type recordingStore struct {
	till.Store
	mu     sync.Mutex
	events []*till.Event
}

type recordingTx struct {
	till.Tx
	pending *[]*till.Event
}

func (tx recordingTx) CreateEvent(ctx context.Context, e *till.Event) error {
	if err := tx.Tx.CreateEvent(ctx, e); err != nil {
		return err
	}
	c := *e
	*tx.pending = append(*tx.pending, &c)
	return nil
}

func (s *recordingStore) Update(ctx context.Context, fn func(tx till.Tx) error) error {
	var pending []*till.Event
	err := s.Store.Update(ctx, func(tx till.Tx) error {
		pending = pending[:0]
		return fn(recordingTx{Tx: tx, pending: &pending})
	})
	if err == nil {
		s.mu.Lock()
		s.events = append(s.events, pending...)
		s.mu.Unlock()
	}
	return err
}

func (s *recordingStore) Events() []*till.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*till.Event(nil), s.events...)
}

// TestEventOfRendersServiceEvents runs the real service on SQLite through
// the headline flow (customer, two cards, a charge, one that needs
// authentication, a refund, a detach) and renders every event it stored:
// each renders, as its object type, holding no card number, sealed data or
// link token outside the authentication url.
func TestEventOfRendersServiceEvents(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "till.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mk, err := vault.ParseMasterKeys("0000000000000000000000000000000000000000000000000000000000000001")
	if err != nil {
		t.Fatal(err)
	}
	kr := vault.NewKeyring(mk, nil, nil)
	if err := st.Update(ctx, func(tx till.Tx) error {
		existing, err := tx.DataKeys(ctx)
		if err != nil {
			return err
		}
		created, _, err := kr.Load(existing)
		for _, k := range created {
			if err == nil {
				err = tx.CreateDataKey(ctx, k)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rec := &recordingStore{Store: st}
	sim := simulator.New(st, till.RandomIDs{})
	svc := service.New(service.Config{Store: rec, Keyring: kr, PublicBaseURL: "https://till.example",
		Processor: func(context.Context, *till.Account, bool) (till.Processor, error) { return sim, nil }})
	keys, err := svc.Bootstrap(ctx)
	if err != nil || keys == nil {
		t.Fatalf("bootstrap: %v, %v", keys, err)
	}
	caller, err := svc.Authenticate(ctx, keys.TestSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	cust, err := svc.CreateCustomer(ctx, caller, nil, service.CustomerParams{Email: "payer@example.com", Name: "Payer",
		Address: till.Address{Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"}})
	if err != nil {
		t.Fatal(err)
	}
	addCard := func(number string) *till.PaymentMethod {
		t.Helper()
		pm, _, err := svc.AddPaymentMethod(ctx, caller, nil, cust.ID, service.PaymentMethodParams{
			Card: &till.Card{Number: number, ExpMonth: 12, ExpYear: 2040, CVC: "123", HolderName: "Payer"}})
		if err != nil {
			t.Fatalf("add card %s: %v", number[len(number)-4:], err)
		}
		return pm
	}
	visa := addCard(simulator.CardVisa)
	auth := addCard(simulator.CardAuthentication)
	amount := int64(1000)
	pay, err := svc.Charge(ctx, caller, nil, service.ChargeParams{CustomerID: cust.ID, Amount: &amount, Currency: "EUR",
		Description: "Order 1", PaymentMethodID: visa.ID})
	if err != nil {
		t.Fatalf("charge: %v", err)
	}
	_, err = svc.Charge(ctx, caller, nil, service.ChargeParams{CustomerID: cust.ID, Amount: &amount, Currency: "EUR",
		Description: "Order 2", PaymentMethodID: auth.ID})
	declined, ok := till.AsError(err)
	if !ok || declined.Code != till.ECardDeclined || declined.Decline == nil || declined.Decline.PaymentID == "" {
		t.Fatalf("charge needing authentication: %v, want card_declined naming the payment", err)
	}
	if _, err := svc.CreateRefund(ctx, caller, nil, pay.ID, service.RefundParams{Reason: "requested_by_customer"}); err != nil {
		t.Fatalf("refund: %v", err)
	}
	if _, err := svc.DetachPaymentMethod(ctx, caller, nil, auth.ID); err != nil {
		t.Fatalf("detach: %v", err)
	}

	// What the stored objects hold that no event may show.
	scope := caller.Scope()
	var secrets []string
	var payURL string
	if err := st.View(ctx, func(tx till.Tx) error {
		for _, id := range []string{visa.ID, auth.ID} {
			pm, err := tx.PaymentMethod(ctx, scope, id)
			if err != nil {
				return err
			}
			if pm.SealedPAN != nil {
				secrets = append(secrets, base64.StdEncoding.EncodeToString(pm.SealedPAN))
			}
			if pm.DataKeyID != "" {
				secrets = append(secrets, pm.DataKeyID)
			}
		}
		p, err := tx.Payment(ctx, scope, declined.Decline.PaymentID)
		if err != nil {
			return err
		}
		if p.LinkToken != "" {
			secrets = append(secrets, p.LinkToken)
			payURL = "https://till.example/pay/" + p.LinkToken
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if payURL == "" {
		t.Fatal("test setup: the payment needing authentication has no link token")
	}
	secrets = append(secrets, simulator.CardVisa, simulator.CardAuthentication, keys.TestSecretKey, keys.LiveSecretKey,
		`"sealed`, `"Sealed`, `"LinkToken"`, `"linkToken"`, `"DataKeyID"`, `"dataKeyId"`, `"CVC"`, `"cvc"`)

	events := rec.Events()
	types := map[string]bool{}
	for _, e := range events {
		types[e.Type] = true
		got := MustEventOf(t, e)
		out := string(MustJSON(t, got))
		rest := strings.ReplaceAll(out, `"url":"`+payURL+`"`, `"url":"…"`)
		for _, s := range secrets {
			if strings.Contains(rest, s) {
				t.Errorf("event %s (%s) shows %q:\n%s", e.ID, e.Type, s, out)
			}
		}
		var obj struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		}
		if err := json.Unmarshal(MustJSON(t, got.Data.Object), &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Object != e.ObjectType || obj.ID != e.ObjectID || got.ObjectVersion != e.ObjectVersion || got.Type != e.Type {
			t.Errorf("event %s (%s) renders %s %s version %d, stored as %s %s version %d", e.ID, e.Type,
				obj.Object, obj.ID, got.ObjectVersion, e.ObjectType, e.ObjectID, e.ObjectVersion)
		}
		if e.Type == till.EventCustomerCreated {
			if g, w := MustJSON(t, got.Data.Object), MustJSON(t, CustomerOf(cust)); !bytes.Equal(g, w) {
				t.Errorf("customer.created renders\n %s\nnot what the API answered\n %s", g, w)
			}
		}
	}
	for _, want := range []string{till.EventCustomerCreated, till.EventPaymentMethodAttached, till.EventPaymentSucceeded,
		till.EventInvoiceCreated, till.EventRefundSucceeded, till.EventCreditNoteCreated, till.EventPaymentMethodDetached,
		till.EventPaymentRequiresAction} {
		if !types[want] {
			t.Errorf("the flow stored no %s event (stored: %v)", want, types)
		}
	}
}
