package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	tillhttp "github.com/tillpay/till/http"
)

// TestCustomerSessions checks the customer role: a session token sees its
// own customer and payments and nothing of another customer's (404), is
// refused by every other route of the API (403, swept from the OpenAPI
// document, so a new route is covered), and stops working when revoked,
// when it expires on the account's clock, and when its customer is
// deleted.
func TestCustomerSessions(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b, Options{AdminToken: "admin-token-for-sessions"})
		ctx := env.Ctx()
		c := env.Client
		jana := Must[*api.Customer](t)(c.CreateCustomer(ctx, api.CustomerCreate{Email: "jana@example.com", Address: &api.Address{Country: "DE"}}))
		omar := Must[*api.Customer](t)(c.CreateCustomer(ctx, api.CustomerCreate{Email: "omar@example.com", Address: &api.Address{Country: "DE"}}))
		for _, cust := range []*api.Customer{jana, omar} {
			Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("4242424242424242")}))
		}
		janas := Must[*api.Payment](t)(c.Charge(ctx, api.ChargeRequest{CustomerID: jana.ID, Amount: Amount(1000), Currency: "EUR", Description: "jana"}))
		omars := Must[*api.Payment](t)(c.Charge(ctx, api.ChargeRequest{CustomerID: omar.ID, Amount: Amount(2000), Currency: "EUR", Description: "omar"}))

		_, err := c.CreateCustomerSession(ctx, jana.ID, api.CustomerSessionCreate{ExpiresIn: Amount(30)})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "expiresIn" {
			t.Errorf("a 30-second session: %+v", ce)
		}
		_, err = c.CreateCustomerSession(ctx, "cus_nobody", api.CustomerSessionCreate{})
		APIError(t, err, 404, "resource_missing")
		cs := Must[*api.CustomerSession](t)(c.CreateCustomerSession(ctx, jana.ID, api.CustomerSessionCreate{}))
		if !regexp.MustCompile(`^cs_test_[0-9A-Za-z]{48}$`).MatchString(cs.Token) || cs.CustomerID != jana.ID || cs.Last4 != cs.Token[len(cs.Token)-4:] ||
			cs.ExpiresAt.Sub(cs.CreatedAt) != time.Hour || cs.RevokedAt != nil {
			t.Fatalf("session: %+v", cs)
		}
		as := c.WithKey(cs.Token)

		// What the customer sees.
		if got := Must[*api.Customer](t)(as.Customer(ctx, jana.ID)); got.ID != jana.ID {
			t.Errorf("own customer: %+v", got)
		}
		_, err = as.Customer(ctx, omar.ID)
		APIError(t, err, 404, "resource_missing")
		if got := Must[*api.Payment](t)(as.Payment(ctx, janas.ID)); got.ID != janas.ID {
			t.Errorf("own payment: %+v", got)
		}
		_, err = as.Payment(ctx, omars.ID)
		APIError(t, err, 404, "resource_missing")
		list := Must[*client.List[api.Payment]](t)(as.Payments(ctx, client.ListParams{}))
		if len(list.Data) != 1 || list.Data[0].ID != janas.ID {
			t.Errorf("own payments: %+v", list.Data)
		}
		if other := Must[*client.List[api.Payment]](t)(as.Payments(ctx, client.ListParams{Filters: map[string]string{"customerId": omar.ID}})); len(other.Data) != 0 {
			t.Errorf("another customer's payments by filter: %+v", other.Data)
		}

		// Every other route refuses the session, before looking at anything.
		var doc struct {
			Paths map[string]map[string]struct {
				Security *[]map[string][]string `json:"security"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(tillhttp.OpenAPI(), &doc); err != nil {
			t.Fatal(err)
		}
		param := regexp.MustCompile(`\{[^}]+\}`)
		allowed, refused := 0, 0
		for path, ops := range doc.Paths {
			for method, op := range ops {
				method = strings.ToUpper(method)
				open := op.Security != nil && len(*op.Security) == 0
				session := op.Security != nil && slices.ContainsFunc(*op.Security, func(s map[string][]string) bool { _, ok := s["customerSession"]; return ok })
				if open || session {
					allowed++
					continue
				}
				refused++
				res, err := as.Raw(ctx, method, param.ReplaceAllString(path, "x_any"), nil)
				if err != nil {
					t.Fatal(err)
				}
				want := http.StatusForbidden
				if strings.HasPrefix(path, "/v1/admin/") {
					want = http.StatusUnauthorized // a session is no admin token
				}
				if res.Status != want {
					t.Errorf("%s %s with a customer session: %d %s", method, path, res.Status, res.Body)
				}
			}
		}
		if allowed < 3 || refused < 40 {
			t.Errorf("swept %d routes, %d open to sessions: the document lost its routes", refused, allowed)
		}

		// Another mode's customer is out of reach, even by id.
		live := c.WithKey(env.Keys.LiveSecretKey)
		liveCust := Must[*api.Customer](t)(live.CreateCustomer(ctx, api.CustomerCreate{Email: "live@example.com"}))
		_, err = as.Customer(ctx, liveCust.ID)
		APIError(t, err, 404, "resource_missing")
		liveSession := Must[*api.CustomerSession](t)(live.CreateCustomerSession(ctx, liveCust.ID, api.CustomerSessionCreate{}))
		if !strings.HasPrefix(liveSession.Token, "cs_live_") || !liveSession.Livemode {
			t.Errorf("live session: %+v", liveSession)
		}
		_, err = c.WithKey(liveSession.Token).Payment(ctx, janas.ID)
		APIError(t, err, 404, "resource_missing")

		// Revoked: 401 at once; revoking again changes nothing; another
		// customer's session id is not found.
		_, err = c.RevokeCustomerSession(ctx, omar.ID, cs.ID)
		APIError(t, err, 404, "resource_missing")
		revoked := Must[*api.CustomerSession](t)(c.RevokeCustomerSession(ctx, jana.ID, cs.ID))
		if revoked.RevokedAt == nil || revoked.Token != "" {
			t.Fatalf("revoked: %+v", revoked)
		}
		again := Must[*api.CustomerSession](t)(c.RevokeCustomerSession(ctx, jana.ID, cs.ID))
		if !again.RevokedAt.Equal(*revoked.RevokedAt) {
			t.Errorf("revoked twice: %v then %v", revoked.RevokedAt, again.RevokedAt)
		}
		_, err = as.Customer(ctx, jana.ID)
		APIError(t, err, 401, "api_key_invalid")

		// Expired on the account's clock.
		short := Must[*api.CustomerSession](t)(c.CreateCustomerSession(ctx, jana.ID, api.CustomerSessionCreate{ExpiresIn: Amount(60)}))
		Must[*api.Customer](t)(c.WithKey(short.Token).Customer(ctx, jana.ID))
		Must[*api.Clock](t)(c.AdvanceClock(ctx, 61))
		_, err = c.WithKey(short.Token).Customer(ctx, jana.ID)
		APIError(t, err, 401, "api_key_invalid")

		// A deleted customer's sessions end.
		gone := Must[*api.CustomerSession](t)(c.CreateCustomerSession(ctx, omar.ID, api.CustomerSessionCreate{}))
		Must[*api.DeletedObject](t)(c.DeleteCustomer(ctx, omar.ID))
		_, err = c.WithKey(gone.Token).Payments(ctx, client.ListParams{})
		APIError(t, err, 401, "api_key_invalid")

	})
}
