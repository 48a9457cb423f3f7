package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// TestCustomerLifecycle creates, reads, updates, lists and deletes a
// customer, checking every field on the way.
func TestCustomerLifecycle(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		in := api.CustomerCreate{
			Email: " jana@example.com ", Name: " Jana Müller ", Phone: "+49 30 1234567",
			Address: &api.Address{Line1: "Hauptstr. 1", Line2: "2. OG", City: "Berlin", PostalCode: "10115", State: "BE", Country: "de"},
			TaxIDs:  []till.TaxID{{Type: "eu_vat", Value: "de 123.456.789"}}, Locale: "de-DE",
			Metadata: till.Metadata{"crm": "42", "plan": "pro"},
		}
		c := Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, in))
		wantAddr := api.Address{Line1: "Hauptstr. 1", Line2: "2. OG", City: "Berlin", PostalCode: "10115", State: "BE", Country: "DE"}
		check := func(c *api.Customer) {
			t.Helper()
			if !strings.HasPrefix(c.ID, "cus_") || len(c.ID) < 20 || c.Object != "customer" || c.Livemode {
				t.Fatalf("id, object: %+v", c)
			}
			if c.Email != "jana@example.com" || c.Name != "Jana Müller" || c.Phone == nil || *c.Phone != "+49 30 1234567" || c.Locale == nil || *c.Locale != "de-DE" {
				t.Fatalf("contact: %+v", c)
			}
			if c.Address == nil || *c.Address != wantAddr {
				t.Fatalf("address: %+v", c.Address)
			}
			if len(c.TaxIDs) != 1 || c.TaxIDs[0] != (till.TaxID{Type: "eu_vat", Value: "DE123456789"}) {
				t.Fatalf("tax ids: %+v", c.TaxIDs)
			}
			if c.DefaultPaymentMethodID != nil || c.CreatedAt.IsZero() || c.UpdatedAt.Before(c.CreatedAt) {
				t.Fatalf("default, times: %+v", c)
			}
			if time.Since(c.CreatedAt).Abs() > time.Minute || c.CreatedAt.Location() != time.UTC {
				t.Fatalf("createdAt %s", c.CreatedAt)
			}
		}
		check(c)
		if c.Metadata["crm"] != "42" || c.Metadata["plan"] != "pro" || len(c.Metadata) != 2 {
			t.Fatalf("metadata: %+v", c.Metadata)
		}
		got := Must[*api.Customer](t)(env.Client.Customer(ctx, c.ID))
		check(got)
		if jsonOf(t, got) != jsonOf(t, c) {
			t.Fatalf("read differs from create:\n%s\n%s", jsonOf(t, got), jsonOf(t, c))
		}

		// A PATCH changes what it names; metadata merges, "" removes a key.
		u := Must[*api.Customer](t)(env.Client.UpdateCustomer(ctx, c.ID, api.CustomerUpdate{
			Name: Str("Jana Schmidt"), Metadata: till.Metadata{"plan": "", "seats": "5", "crm": "43"},
		}))
		if u.Name != "Jana Schmidt" || u.Email != "jana@example.com" || *u.Address != wantAddr || len(u.TaxIDs) != 1 {
			t.Fatalf("patched: %+v", u)
		}
		if len(u.Metadata) != 2 || u.Metadata["crm"] != "43" || u.Metadata["seats"] != "5" {
			t.Fatalf("merged metadata: %+v", u.Metadata)
		}
		if !u.UpdatedAt.After(c.UpdatedAt) || !u.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("times after patch: %s %s", u.CreatedAt, u.UpdatedAt)
		}
		// Replacing the address and clearing tax ids and phone.
		u = Must[*api.Customer](t)(env.Client.UpdateCustomer(ctx, c.ID, api.CustomerUpdate{
			Address: &api.Address{Country: "fr", City: "Paris"}, TaxIDs: &[]till.TaxID{}, Phone: Str(""), Email: Str("JANA@Example.com"),
		}))
		if *u.Address != (api.Address{Country: "FR", City: "Paris"}) || len(u.TaxIDs) != 0 || u.Phone != nil || u.Email != "JANA@Example.com" {
			t.Fatalf("second patch: %+v", u)
		}
		if got := Must[*api.Customer](t)(env.Client.Customer(ctx, c.ID)); jsonOf(t, got) != jsonOf(t, u) {
			t.Fatalf("read after patch differs:\n%s\n%s", jsonOf(t, got), jsonOf(t, u))
		}
		// An empty PATCH changes nothing but is fine.
		if _, err := env.Client.UpdateCustomer(ctx, c.ID, api.CustomerUpdate{}); err != nil {
			t.Fatal(err)
		}

		// A customer with only an email, and with nothing at all.
		bare := Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{}))
		if bare.Email != "" || bare.Address != nil || bare.Metadata == nil || bare.TaxIDs == nil {
			t.Fatalf("bare customer: %+v", bare)
		}

		del := Must[*api.DeletedObject](t)(env.Client.DeleteCustomer(ctx, c.ID))
		if del.ID != c.ID || del.Object != "customer" || !del.Deleted {
			t.Fatalf("delete: %+v", del)
		}
		_, err := env.Client.Customer(ctx, c.ID)
		if ce := APIError(t, err, 404, "resource_missing"); ce.Message != fmt.Sprintf("No such customer: '%s'", c.ID) {
			t.Fatalf("deleted: %q", ce.Message)
		}
		_, err = env.Client.DeleteCustomer(ctx, c.ID)
		APIError(t, err, 404, "resource_missing")
		_, err = env.Client.UpdateCustomer(ctx, c.ID, api.CustomerUpdate{Name: Str("back")})
		APIError(t, err, 404, "resource_missing")
		list := Must[*client.List[api.Customer]](t)(env.Client.Customers(ctx, client.ListParams{}))
		if len(list.Data) != 1 || list.Data[0].ID != bare.ID {
			t.Fatalf("list after delete: %+v", list.Data)
		}
	})
}

// TestCustomerValidation checks the customer fields' rules: each bad field
// named, all at once, and nothing stored.
func TestCustomerValidation(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		_, err := env.Client.CreateCustomer(ctx, api.CustomerCreate{
			Email: "not-an-email", Name: strings.Repeat("n", 201), Phone: "call me", Locale: "de DE!",
			Address: &api.Address{Country: "Germany", City: strings.Repeat("c", 101)},
			TaxIDs:  []till.TaxID{{Type: "eu_vat", Value: "DE12"}, {Type: "xx_vat", Value: "1"}, {Type: "gb_vat", Value: ""}},
		})
		wantFields(t, APIError(t, err, 400, "validation_error"), "email", "name", "phone", "locale", "address.city",
			"address.country", "taxIds[0].value", "taxIds[1].type", "taxIds[2].value")
		for _, e := range []string{"Jana <jana@example.com>", "jana@", "@example.com", "a b@example.com", strings.Repeat("a", 250) + "@example.com"} {
			_, err := env.Client.CreateCustomer(ctx, api.CustomerCreate{Email: e})
			wantFields(t, APIError(t, err, 400, "validation_error"), "email")
		}
		if n := countCustomers(t, env); n != 0 {
			t.Fatalf("refused creates stored %d customers", n)
		}

		// EU VAT numbers: the country's national format after its prefix.
		for _, tc := range []struct {
			value string
			ok    bool
		}{
			{"DE123456789", true}, {"de 123 456 789", true}, {"FR40303265045", true}, {"ATU12345678", true},
			{"EL123456789", true}, {"NL123456789B01", true}, {"IE1234567WI", true},
			{"DE12", false}, {"DE1234567890", false}, {"DEABCDEFGHI", false}, {"GR123456789", false},
			{"US123456789", false}, {"GB123456789", false}, {"FRIO303265045", false}, {"DE", false},
		} {
			_, err := env.Client.CreateCustomer(ctx, api.CustomerCreate{TaxIDs: []till.TaxID{{Type: "eu_vat", Value: tc.value}}})
			if tc.ok && err != nil {
				t.Fatalf("%s: %v", tc.value, err)
			}
			if !tc.ok {
				wantFields(t, APIError(t, err, 400, "validation_error"), "taxIds[0].value")
			}
		}
		_, err = env.Client.CreateCustomer(ctx, api.CustomerCreate{TaxIDs: make([]till.TaxID, 6)})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "taxIds" {
			t.Fatalf("six tax ids: %+v", ce)
		}
		// Other tax id types are kept as given (normalized).
		c := Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{TaxIDs: []till.TaxID{{Type: "gb_vat", Value: "gb 123 4567 89"}}}))
		if c.TaxIDs[0] != (till.TaxID{Type: "gb_vat", Value: "GB123456789"}) {
			t.Fatalf("gb vat: %+v", c.TaxIDs)
		}
		// A PATCH with a bad field changes nothing.
		_, err = env.Client.UpdateCustomer(ctx, c.ID, api.CustomerUpdate{Name: Str("New"), Email: Str("bad")})
		wantFields(t, APIError(t, err, 400, "validation_error"), "email")
		if got := Must[*api.Customer](t)(env.Client.Customer(ctx, c.ID)); got.Name != "" || got.Email != "" {
			t.Fatalf("refused patch changed the customer: %+v", got)
		}
	})
}

// TestCustomerMetadataLimits checks the metadata limits of SPEC §1 at and
// just past each boundary, on create, patch and charge.
func TestCustomerMetadataLimits(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		keys := func(n int) till.Metadata {
			m := till.Metadata{}
			for i := range n {
				m[fmt.Sprintf("k%02d", i)] = "v"
			}
			return m
		}
		long := strings.Repeat("k", 41)
		for _, tc := range []struct {
			md    till.Metadata
			field string
		}{
			{keys(51), "metadata"},
			{till.Metadata{long: "v"}, "metadata." + long},
			{till.Metadata{"note": strings.Repeat("v", 501)}, "metadata.note"},
			{till.Metadata{"ü" + strings.Repeat("k", 40): "v"}, "metadata.ü" + strings.Repeat("k", 40)},
		} {
			_, err := env.Client.CreateCustomer(ctx, api.CustomerCreate{Metadata: tc.md})
			wantFields(t, APIError(t, err, 400, "validation_error"), tc.field)
		}
		if n := countCustomers(t, env); n != 0 {
			t.Fatalf("refused creates stored %d customers", n)
		}
		// At the limits: 50 keys, 40-character keys (in characters, not
		// bytes), 500-character values.
		edge := keys(48)
		edge[strings.Repeat("ä", 40)] = strings.Repeat("ö", 500)
		edge[strings.Repeat("k", 40)] = strings.Repeat("v", 500)
		c := Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{Metadata: edge}))
		if len(c.Metadata) != 50 || c.Metadata[strings.Repeat("ä", 40)] != strings.Repeat("ö", 500) {
			t.Fatalf("metadata at the limits: %d keys", len(c.Metadata))
		}
		// A patch may not take the merged metadata past 50 keys, but
		// removing keys in the same patch makes room.
		_, err := env.Client.UpdateCustomer(ctx, c.ID, api.CustomerUpdate{Metadata: till.Metadata{"extra": strings.Repeat("v", 501)}})
		wantFields(t, APIError(t, err, 400, "validation_error"), "metadata.extra")
		_, err = env.Client.UpdateCustomer(ctx, c.ID, api.CustomerUpdate{Metadata: till.Metadata{"one-too-many": "v"}})
		wantFields(t, APIError(t, err, 400, "validation_error"), "metadata")
		if got := Must[*api.Customer](t)(env.Client.Customer(ctx, c.ID)); len(got.Metadata) != 50 {
			t.Fatalf("metadata after refused patches: %d keys", len(got.Metadata))
		}
		u := Must[*api.Customer](t)(env.Client.UpdateCustomer(ctx, c.ID, api.CustomerUpdate{Metadata: till.Metadata{"k00": "", "k01": "", "new": "x"}}))
		if len(u.Metadata) != 49 || u.Metadata["new"] != "x" || u.Metadata["k00"] != "" {
			t.Fatalf("patched metadata: %d keys", len(u.Metadata))
		}
		// The same limits hold on a charge.
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		_, err = env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x", Metadata: keys(51)})
		wantFields(t, APIError(t, err, 400, "validation_error"), "metadata")
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x", Metadata: till.Metadata{"order": "A-1"}}))
		if p.Metadata["order"] != "A-1" {
			t.Fatalf("payment metadata: %+v", p.Metadata)
		}
		p = Must[*api.Payment](t)(env.Client.UpdatePayment(ctx, p.ID, api.PaymentUpdate{Metadata: till.Metadata{"order": "", "shipped": "yes"}}))
		if len(p.Metadata) != 1 || p.Metadata["shipped"] != "yes" || p.Status != "succeeded" {
			t.Fatalf("payment metadata patch: %+v", p)
		}
		// No receipt: its delivery in the background is a write to the
		// payment, and the version check below must see only the patch.
		full := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x", Metadata: keys(50), SendReceipt: Bool(false)}))
		_, err = env.Client.UpdatePayment(ctx, full.ID, api.PaymentUpdate{Metadata: till.Metadata{"one-too-many": "v"}})
		wantFields(t, APIError(t, err, 400, "validation_error"), "metadata")
		if got := Must[*api.Payment](t)(env.Client.Payment(ctx, full.ID)); len(got.Metadata) != 50 || got.ObjectVersion != full.ObjectVersion {
			t.Fatalf("payment after a refused patch: %d keys, version %d→%d", len(got.Metadata), full.ObjectVersion, got.ObjectVersion)
		}
	})
}

// TestCustomerList checks the filters (email, createdFrom, createdTo) and
// cursor pagination, newest first.
func TestCustomerList(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		create := func(email string) *api.Customer {
			return Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{Email: email}))
		}
		// Three customers "yesterday", then the clock moves a day, then four.
		var all []string // newest first
		early := []*api.Customer{create("a@example.com"), create("b@example.com"), create("Shared@Example.com")}
		for _, c := range early {
			all = append([]string{c.ID}, all...)
		}
		clock := Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 86400))
		boundary := clock.Now.Add(-time.Hour)
		late := []*api.Customer{create("shared@example.com"), create("c@example.com"), create("d@example.com"), create("e@example.com")}
		for _, c := range late {
			all = append([]string{c.ID}, all...)
			if c.CreatedAt.Before(boundary) {
				t.Fatalf("customer created after the clock moved has createdAt %s (clock %s)", c.CreatedAt, clock.Now)
			}
		}

		walk := func(p client.ListParams) []string {
			var ids []string
			for range 20 {
				page := Must[*client.List[api.Customer]](t)(env.Client.Customers(ctx, p))
				for _, c := range page.Data {
					ids = append(ids, c.ID)
				}
				if !page.HasMore {
					if page.NextCursor != "" {
						t.Fatalf("nextCursor without hasMore")
					}
					return ids
				}
				if page.NextCursor != page.Data[len(page.Data)-1].ID {
					t.Fatalf("nextCursor %q is not the page's last id", page.NextCursor)
				}
				p.StartingAfter = page.NextCursor
			}
			t.Fatal("pagination does not end")
			return nil
		}
		for _, limit := range []int{1, 2, 3, 7, 100} {
			if got := walk(client.ListParams{Limit: limit}); fmt.Sprint(got) != fmt.Sprint(all) {
				t.Fatalf("limit %d:\n got %v\nwant %v", limit, got, all)
			}
		}
		if page := Must[*client.List[api.Customer]](t)(env.Client.Customers(ctx, client.ListParams{})); len(page.Data) != 7 || page.HasMore {
			t.Fatalf("default page: %d %v", len(page.Data), page.HasMore)
		}

		byEmail := walk(client.ListParams{Filters: map[string]string{"email": "SHARED@example.COM"}})
		if fmt.Sprint(byEmail) != fmt.Sprint([]string{late[0].ID, early[2].ID}) {
			t.Fatalf("email filter (case-insensitive): %v", byEmail)
		}
		if none := walk(client.ListParams{Filters: map[string]string{"email": "nobody@example.com"}}); len(none) != 0 {
			t.Fatalf("unknown email: %v", none)
		}
		from := boundary.Format(time.RFC3339)
		if got := walk(client.ListParams{Limit: 2, Filters: map[string]string{"createdFrom": from}}); fmt.Sprint(got) != fmt.Sprint(all[:4]) {
			t.Fatalf("createdFrom: %v", got)
		}
		if got := walk(client.ListParams{Filters: map[string]string{"createdTo": from}}); fmt.Sprint(got) != fmt.Sprint(all[4:]) {
			t.Fatalf("createdTo: %v", got)
		}
		unix := fmt.Sprint(boundary.Unix())
		if got := walk(client.ListParams{Filters: map[string]string{"createdTo": unix, "email": "a@example.com"}}); fmt.Sprint(got) != fmt.Sprint([]string{early[0].ID}) {
			t.Fatalf("createdTo (unix) with email: %v", got)
		}
		// Inclusive bounds: a customer's own createdAt finds it.
		exact := late[1].CreatedAt.Format(time.RFC3339Nano)
		got := walk(client.ListParams{Filters: map[string]string{"createdFrom": exact, "createdTo": exact}})
		if fmt.Sprint(got) != fmt.Sprint([]string{late[1].ID}) {
			t.Fatalf("exact createdAt window: %v", got)
		}

		for _, q := range []map[string]string{{"createdFrom": "yesterday"}, {"limit": "0"}, {"limit": "101"}} {
			_, err := env.Client.Customers(ctx, client.ListParams{Filters: q})
			APIError(t, err, 400, "validation_error")
		}
		_, err := env.Client.Customers(ctx, client.ListParams{Filters: map[string]string{"name": "x"}})
		if ce := APIError(t, err, 400, "parameter_unknown"); ce.Param != "name" {
			t.Fatalf("unknown filter: %+v", ce)
		}
		_, err = env.Client.Customers(ctx, client.ListParams{StartingAfter: "cus_nope"})
		APIError(t, err, 400, "validation_error")

		// A deleted customer leaves the list and does not break a cursor
		// pointing at it.
		Must[*api.DeletedObject](t)(env.Client.DeleteCustomer(ctx, all[2]))
		want := append(append([]string{}, all[:2]...), all[3:]...)
		if got := walk(client.ListParams{Limit: 2}); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after delete:\n got %v\nwant %v", got, want)
		}
	})
}

// TestCustomerDeleteDetachesCards checks that deleting a customer destroys
// its saved cards: they can no longer be read, listed or charged, while its
// payments remain.
func TestCustomerDeleteDetachesCards(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		cust, pm1 := env.CustomerWithCard("DE", "4242424242424242")
		pm2 := Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("5555555555554444")}))
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(500), Currency: "EUR", Description: "before"}))

		Must[*api.DeletedObject](t)(env.Client.DeleteCustomer(ctx, cust.ID))
		for _, id := range []string{pm1.ID, pm2.ID} {
			_, err := env.Client.PaymentMethod(ctx, id)
			APIError(t, err, 404, "resource_missing")
			_, err = env.Client.DetachPaymentMethod(ctx, id)
			APIError(t, err, 404, "resource_missing")
		}
		_, err := env.Client.PaymentMethods(ctx, cust.ID)
		APIError(t, err, 404, "resource_missing")
		_, err = env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(500), Currency: "EUR", Description: "after"})
		if ce := APIError(t, err, 404, "resource_missing"); ce.Param != "customerId" {
			t.Fatalf("charge of a deleted customer: %+v", ce)
		}
		_, err = env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("4242424242424242")})
		APIError(t, err, 404, "resource_missing")
		// The past payment is still there, still naming the customer.
		got := Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID))
		if got.Status != "succeeded" || *got.CustomerID != cust.ID || got.AmountTotal != 595 {
			t.Fatalf("payment of a deleted customer: %+v", got)
		}
		if n := countPayments(t, env); n != 1 {
			t.Fatalf("payments: %d", n)
		}
		// The cards' encrypted numbers are gone from the store.
		for _, id := range []string{pm1.ID, pm2.ID} {
			if pm := storedPM(t, env, id); pm.SealedPAN != nil || pm.DataKeyID != "" || pm.DetachedAt == nil {
				t.Fatalf("payment method %s of a deleted customer keeps its card data (detached %v)", id, pm.DetachedAt)
			}
		}
	})
}

// storedPM reads a payment method of the env's test account straight from
// the store, sealed card number included.
func storedPM(t *testing.T, env *Env, id string) *till.PaymentMethod {
	t.Helper()
	var pm *till.PaymentMethod
	ctx := env.Ctx()
	if err := env.Store.View(ctx, func(tx till.Tx) (err error) {
		pm, err = tx.PaymentMethod(ctx, till.Scope{AccountID: env.Keys.ID}, id)
		return err
	}); err != nil {
		t.Fatalf("payment method %s: %v", id, err)
	}
	return pm
}

// TestCustomerReferences sets a customer's externalId, taxDocument and
// timezone through the native API (the fields the Commet dialect speaks):
// shown back, listed by externalId, changed and removed with PATCH, and a
// bad time zone refused.
func TestCustomerReferences(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		c := env.Client
		cust := Must[*api.Customer](t)(c.CreateCustomer(ctx, api.CustomerCreate{Email: "ref@example.com", ExternalID: "crm-42",
			TaxDocument: "B12345678", Timezone: "Europe/Madrid"}))
		if cust.ExternalID == nil || *cust.ExternalID != "crm-42" || cust.TaxDocument == nil || *cust.TaxDocument != "B12345678" ||
			cust.Timezone == nil || *cust.Timezone != "Europe/Madrid" {
			t.Fatalf("customer: %+v", cust)
		}
		_, err := c.CreateCustomer(ctx, api.CustomerCreate{Email: "tz@example.com", Timezone: "Mars/Olympus"})
		if got := fieldsOf(t, err); len(got) != 1 || got[0] != "timezone" {
			t.Errorf("a bad time zone: %v", got)
		}
		Must[*api.Customer](t)(c.CreateCustomer(ctx, api.CustomerCreate{Email: "other@example.com", ExternalID: "crm-43"}))
		if l := Must[*client.List[api.Customer]](t)(c.Customers(ctx, client.ListParams{Filters: map[string]string{"externalId": "crm-42"}})); len(l.Data) != 1 || l.Data[0].ID != cust.ID {
			t.Errorf("by externalId: %+v", l.Data)
		}
		upd := Must[*api.Customer](t)(c.UpdateCustomer(ctx, cust.ID, api.CustomerUpdate{Timezone: Str("America/New_York"), TaxDocument: Str("")}))
		if upd.Timezone == nil || *upd.Timezone != "America/New_York" || upd.TaxDocument != nil || *upd.ExternalID != "crm-42" {
			t.Errorf("updated: %+v", upd)
		}
	})
}
