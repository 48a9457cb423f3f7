package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/internal/testenv"
)

var newKeyPattern = regexp.MustCompile(`new card data key (dk_[0-9A-Za-z]+)`)

func saveAndCharge(t *testing.T, c *client.Client, card string) string {
	t.Helper()
	cust, err := c.CreateCustomer(ctx(t), api.CustomerCreate{Email: "k@example.com", Address: &api.Address{Country: "DE"}})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := c.AddPaymentMethod(ctx(t), cust.ID, api.PaymentMethodCreate{Card: &api.CardInput{Number: card, ExpMonth: 1, ExpYear: 2040}})
	if err != nil {
		t.Fatal(err)
	}
	charge(t, c, cust.ID)
	return pm.ID
}

func charge(t *testing.T, c *client.Client, customerID string) {
	t.Helper()
	amount := int64(1000)
	p, err := c.Charge(ctx(t), api.ChargeRequest{CustomerID: customerID, Amount: &amount, Currency: "EUR", Description: "k"})
	if err != nil || p.Status != "succeeded" {
		t.Fatalf("charge: %+v %v", p, err)
	}
}

// TestRotateDataKey rotates the card data key while the server runs: cards
// saved before and after, and after a restart, all still charge.
func TestRotateDataKey(t *testing.T) {
	data := t.TempDir()
	p := startTill(t, data)
	c := client.New(p.url, readKeys(t, data).TestSecretKey)
	saveAndCharge(t, c, "4242424242424242")
	out, stderr, code := runTill(t, nil, "keys", "rotate-data-key", "--data", data)
	if code != 0 || !newKeyPattern.MatchString(out) || !strings.Contains(out, "1 key(s) deactivated") {
		t.Fatalf("rotate: %d %q %q", code, out, stderr)
	}
	// The running server seals under the key it loaded: harmless.
	saveAndCharge(t, c, "5555555555554444")
	p.kill()
	p = startTill(t, data)
	c = client.New(p.url, readKeys(t, data).TestSecretKey)
	saveAndCharge(t, c, "378282246310005")
	list, err := c.Customers(ctx(t), client.ListParams{Limit: 10})
	if err != nil || len(list.Data) != 3 {
		t.Fatalf("customers: %v %v", list, err)
	}
	for _, cust := range list.Data {
		charge(t, c, cust.ID) // every card opens after the restart
	}
}

// TestRotateDataKeyAcrossProcesses runs two servers on one PostgreSQL
// database, rotates, restarts one: a card it seals under the new key is
// charged through the other, which loads the key it did not know.
func TestRotateDataKeyAcrossProcesses(t *testing.T) {
	url := testenv.FreshDatabase(t)
	env := []string{"TILL_DATABASE_URL=" + url, testMasterKey, "TILL_DB_MAX_CONNS=4"}
	dataA := t.TempDir()
	a := startTill(t, dataA, env...)
	b := startTill(t, t.TempDir(), env...)
	key := readKeys(t, dataA).TestSecretKey
	out, stderr, code := runTill(t, env, "keys", "rotate-data-key", "--data", t.TempDir())
	m := newKeyPattern.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("rotate: %d %q %q", code, out, stderr)
	}
	b.kill()
	b = startTill(t, t.TempDir(), env...)
	pmID := saveAndCharge(t, client.New(b.url, key), "4242424242424242")
	// The card was sealed under the new key…
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var doc []byte
	if err := conn.QueryRow(context.Background(), `SELECT doc FROM payment_methods WHERE id = $1`, pmID).Scan(&doc); err != nil {
		t.Fatal(err)
	}
	var pm struct{ DataKeyID string }
	json.Unmarshal(doc, &pm)
	if pm.DataKeyID != m[1] {
		t.Fatalf("card sealed under %s, not the new key %s", pm.DataKeyID, m[1])
	}
	// …and the process that started before the rotation charges it.
	ca := client.New(a.url, key)
	list, err := ca.Customers(ctx(t), client.ListParams{Limit: 1})
	if err != nil || len(list.Data) != 1 {
		t.Fatalf("customers: %v", err)
	}
	charge(t, ca, list.Data[0].ID)
}
