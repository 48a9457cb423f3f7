package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/internal/testenv"
)

// testMasterKey is the master key every process of one test shares, as an
// operator sets one TILL_MASTER_KEY on every process.
const testMasterKey = "TILL_MASTER_KEY=00000000000000000000000000000000000000000000000000000000000000aa"

// TestPostgresMigrateAndServe runs `till migrate` and then two `till serve`
// processes on one PostgreSQL database: data made through one is served by
// the other, and one Idempotency-Key sent to both at once makes one payment
// and one processor charge.
func TestPostgresMigrateAndServe(t *testing.T) {
	url := testenv.FreshDatabase(t)
	out, stderr, code := runTill(t, nil, "migrate", "--data", t.TempDir(), "--database-url", url)
	if code != 0 || !strings.Contains(out, "postgres ") || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %d %q %q", code, out, stderr)
	}
	// Again from the environment: nothing left to do.
	if out, stderr, code = runTill(t, []string{"TILL_DATABASE_URL=" + url}, "migrate", "--data", t.TempDir()); code != 0 {
		t.Fatalf("second migrate: %d %q %q", code, out, stderr)
	}

	env := []string{"TILL_DATABASE_URL=" + url, testMasterKey, "TILL_DB_MAX_CONNS=5"}
	dataA := t.TempDir()
	a := startTill(t, dataA, env...)
	b := startTill(t, t.TempDir(), env...)
	keys := readKeys(t, dataA)
	ca, cb := client.New(a.url, keys.TestSecretKey), client.New(b.url, keys.TestSecretKey)
	cust, err := ca.CreateCustomer(ctx(t), api.CustomerCreate{Email: "a@example.com", Address: &api.Address{Country: "DE"}})
	if err != nil {
		t.Fatal(err)
	}
	// The card is sealed by one process and opened by the other.
	if _, err := cb.AddPaymentMethod(ctx(t), cust.ID, api.PaymentMethodCreate{SetDefault: true,
		Card: &api.CardInput{Number: "4242424242424242", ExpMonth: 1, ExpYear: 2040}}); err != nil {
		t.Fatal(err)
	}
	body := []byte(fmt.Sprintf(`{"customerId":%q,"amount":1000,"currency":"EUR","description":"two processes"}`, cust.ID))
	var wg sync.WaitGroup
	resps := make([]*client.Response, 8)
	for i := range resps {
		c := []*client.Client{ca, cb}[i%2]
		wg.Go(func() {
			r, err := c.Raw(context.Background(), "POST", "/v1/payments/charge", body, client.IdempotencyKey("same-key"))
			if err != nil {
				t.Error(err)
			}
			resps[i] = r
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, r := range resps {
		if r == nil {
			continue
		}
		switch r.Status {
		case 200:
			var env struct{ Data api.Payment }
			json.Unmarshal(r.Body, &env)
			ids[env.Data.ID] = true
		case 409: // still in progress on the other process
		default:
			t.Fatalf("charge: %d %s", r.Status, r.Body)
		}
	}
	list, err := cb.Payments(ctx(t), client.ListParams{})
	if err != nil || len(list.Data) != 1 || list.Data[0].Status != "succeeded" {
		t.Fatalf("payments: %v %+v", err, list)
	}
	if len(ids) > 1 || (len(ids) == 1 && !ids[list.Data[0].ID]) {
		t.Fatalf("responses name payments %v, stored %s", ids, list.Data[0].ID)
	}
	recs, err := ca.ProcessorCharges(ctx(t), "", list.Data[0].ID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("processor charges: %v %+v", err, recs)
	}
	if !strings.Contains(a.log(), `"store":"postgres `) {
		t.Fatalf("no postgres store in the log:\n%s", a.log())
	}
}

// TestPostgresURLErrors checks the command line's handling of PostgreSQL
// settings without a server: a bad pool size is a usage error and an
// unreachable database is reported without its password.
func TestPostgresURLErrors(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"migrate", "--data", data, "--database-url", "postgres://u:secret@127.0.0.1:1/db", "--db-max-conns", "0"}, 2, "--db-max-conns"},
		{[]string{"migrate", "--data", data, "--database-url", "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2"}, 1, "postgres"},
		{[]string{"migrate", "--data", data, "--database-url", "postgresql://u:secret@127.0.0.1:1/db?sslmode=nonsense"}, 1, "sslmode"},
	} {
		_, stderr, code := runTill(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("till %v: exit %d, stderr %q; want exit %d containing %q", tc.args, code, stderr, tc.code, tc.want)
		}
		if strings.Contains(stderr, "secret") {
			t.Errorf("till %v printed a database password: %s", tc.args, stderr)
		}
	}
	_, stderr, _ := runTill(t, nil, "serve", "-h")
	for _, f := range []string{"TILL_DB_MAX_CONNS", "TILL_DB_STATEMENT_TIMEOUT"} {
		if !strings.Contains(stderr, f) {
			t.Errorf("serve -h does not document %s", f)
		}
	}
}
