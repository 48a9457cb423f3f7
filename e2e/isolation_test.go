package e2e

import (
	"strings"
	"testing"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	tillhttp "github.com/tillpay/till/http"
	"github.com/tillpay/till/service"
)

// TestIsolationFromRouteTable calls every route of the native API's route table
// that names an object, with the ids of objects of account A, as another
// account (B's secret key) and as A's other mode (A's live key): each
// answers 404 and changes nothing. A route whose objects the test cannot
// name fails it, so a new route is covered when it is added.
func TestIsolationFromRouteTable(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		a := env.Client
		other := Must[*service.AccountKeys](t)(env.Service.CreateAccount(ctx, nil, service.NewAccountParams{Name: "Other GmbH"}))

		// Account A's objects, one of each kind a route can name.
		cust := Must[*api.Customer](t)(a.CreateCustomer(ctx, api.CustomerCreate{Email: "a@example.com", Address: &api.Address{Country: "DE"}}))
		pm := Must[*api.PaymentMethod](t)(a.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("4242424242424242"), SetDefault: true}))
		paid := Must[*api.Payment](t)(a.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "a"}))
		refund := Must[*api.Refund](t)(a.CreateRefund(ctx, paid.ID, api.RefundRequest{Amount: Amount(100)}))
		ep := Must[*api.WebhookEndpointWithSecret](t)(a.CreateWebhookEndpoint(ctx, api.WebhookEndpointCreate{URL: "http://127.0.0.1:9/hooks", Events: []string{"*"}}))
		events := Must[*client.List[api.Event]](t)(a.Events(ctx, client.ListParams{Limit: 1}))
		order := Must[*api.Order](t)(a.CreateOrder(ctx, api.OrderCreate{CustomerID: cust.ID, Currency: "EUR", Lines: orderLines("Box", 1, 500)}))
		sub := Must[*api.Subscription](t)(a.CreateSubscription(ctx, api.SubscriptionCreate{CustomerID: cust.ID, Currency: "EUR",
			Items: orderLines("Plan", 1, 900), Interval: "month", StartDate: Ptr(paid.CreatedAt.AddDate(0, 0, 7))}))
		session := Must[*api.CustomerSession](t)(a.CreateCustomerSession(ctx, cust.ID, api.CustomerSessionCreate{}))
		prod := Must[*api.Product](t)(a.CreateProduct(ctx, mug(3)))
		art := Must[*api.Article](t)(a.CreateArticle(ctx, api.ArticleCreate{Title: "Issue", Price: Amount(499), Currency: "EUR"}))
		cart := Must[*api.Cart](t)(a.CreateCart(ctx, api.CartCreate{CustomerID: cust.ID, Lines: []api.CartLineInput{{ArticleID: art.ID, Quantity: 1}}}))
		rate := Must[*api.ShippingRate](t)(a.CreateShippingRate(ctx, api.ShippingRateCreate{Provider: "dhl", Country: "DE", Amount: Amount(490), Currency: "EUR"}))
		coupon := Must[*api.Coupon](t)(a.CreateCoupon(ctx, api.CouponCreate{Code: "TEN", PercentOff: "10"}))

		// The id each route's path names, by the route's path.
		ids := map[string][]string{
			"/v1/customers/{id}":                      {cust.ID},
			"/v1/customers/{id}/payment-methods":      {cust.ID},
			"/v1/customers/{id}/sessions":             {cust.ID},
			"/v1/customers/{id}/sessions/{sessionId}": {cust.ID, session.ID},
			"/v1/payment-methods/{id}":                {pm.ID},
			"/v1/payments/{id}":                       {paid.ID},
			"/v1/payments/{id}/cancel":                {paid.ID},
			"/v1/payment-links/{id}/cancel":           {paid.ID},
			"/v1/payments/{id}/capture":               {paid.ID},
			"/v1/payments/{id}/release":               {paid.ID},
			"/v1/payments/{id}/refunds":               {paid.ID},
			"/v1/refunds/{id}":                        {refund.ID},
			"/v1/invoices/{id}":                       {*paid.InvoiceID},
			"/v1/invoices/{id}/pdf":                   {*paid.InvoiceID},
			"/v1/credit-notes/{id}":                   {*refund.CreditNoteID},
			"/v1/credit-notes/{id}/pdf":               {*refund.CreditNoteID},
			"/v1/events/{id}":                         {events.Data[0].ID},
			"/v1/events/{id}/deliveries":              {events.Data[0].ID},
			"/v1/events/{id}/resend":                  {events.Data[0].ID},
			"/v1/webhook-endpoints/{id}":              {ep.ID},
			"/v1/webhook-endpoints/{id}/roll-secret":  {ep.ID},
			"/v1/orders/{id}":                         {order.ID},
			"/v1/orders/{id}/cancel":                  {order.ID},
			"/v1/subscriptions/{id}":                  {sub.ID},
			"/v1/subscriptions/{id}/cancel":           {sub.ID},
			"/v1/products/{id}":                       {prod.ID},
			"/v1/products/{id}/items/{itemId}":        {prod.ID, prod.Items[0].ID},
			"/v1/articles/{id}":                       {art.ID},
			"/v1/carts/{id}":                          {cart.ID},
			"/v1/shipping-rates/{id}":                 {rate.ID},
			"/v1/coupons/{id}":                        {coupon.ID},
		}
		// Routes that name no object of an account's: the admin API (its
		// own token) and the processors' webhooks (signed, not keyed).
		outside := func(path string) bool {
			return strings.HasPrefix(path, "/v1/admin/") || strings.HasPrefix(path, "/hooks/")
		}
		callers := map[string]*client.Client{"another account": a.WithKey(other.TestSecretKey), "the other mode": a.WithKey(env.Keys.LiveSecretKey)}
		covered := 0
		for _, rt := range tillhttp.New(env.Service, tillhttp.Options{}).Routes() {
			if !strings.Contains(rt.Path, "{") || outside(rt.Path) {
				continue
			}
			vals, ok := ids[rt.Path]
			if !ok {
				t.Errorf("route %s %s names objects this test cannot name: add it to the table", rt.Method, rt.Path)
				continue
			}
			fill := func(vals []string) string {
				path := rt.Path
				for _, v := range vals {
					path = path[:strings.Index(path, "{")] + v + path[strings.Index(path, "}")+1:]
				}
				return path
			}
			// The same ids, made up: an answer about A's objects must be
			// the answer about objects that do not exist.
			fakes := make([]string, len(vals))
			for i, v := range vals {
				fakes[i] = v[:strings.Index(v, "_")+1] + "0000000000000000000000"
			}
			var body any
			if rt.Method != "GET" && rt.Method != "DELETE" {
				// A body valid in itself, so the answer is about the object
				// (a route may check its body before it looks).
				body = "{}"
				if rt.Path == "/v1/customers/{id}/payment-methods" {
					body = api.PaymentMethodCreate{Card: card("4242424242424242")}
				}
			}
			for who, c := range callers {
				res := Must[*client.Response](t)(c.Raw(ctx, rt.Method, fill(vals), body))
				none := Must[*client.Response](t)(c.Raw(ctx, rt.Method, fill(fakes), body))
				if res.Status < 400 || res.Status != none.Status || errorCode(t, res) != errorCode(t, none) ||
					res.Status != 404 && !(who == "the other mode" && errorCode(t, res) == "live_mode_forbidden") {
					t.Errorf("%s %s as %s: %d %s; for ids that do not exist: %d %s", rt.Method, rt.Path, who, res.Status, res.Body, none.Status, none.Body)
				}
			}
			covered++
		}
		if covered < 25 {
			t.Errorf("only %d routes swept", covered)
		}
		// Nothing changed: A's objects are as they were.
		if p := Must[*api.Payment](t)(a.Payment(ctx, paid.ID)); p.Status != "partially_refunded" || p.AmountRefunded != 100 {
			t.Errorf("A's payment after the sweep: %s %d", p.Status, p.AmountRefunded)
		}
		if o := Must[*api.Order](t)(a.Order(ctx, order.ID)); o.Status != "open" {
			t.Errorf("A's order after the sweep: %s", o.Status)
		}
		if s := Must[*api.Subscription](t)(a.Subscription(ctx, sub.ID)); s.Status != "active" {
			t.Errorf("A's subscription after the sweep: %s", s.Status)
		}
		if p := Must[*api.Product](t)(a.Product(ctx, prod.ID)); p.Items[0].StockAvailable != 3 || p.Name != "Mug" {
			t.Errorf("A's product after the sweep: %+v", p)
		}
		if k := Must[*api.Coupon](t)(a.Coupon(ctx, coupon.ID)); k.Code != "TEN" {
			t.Errorf("A's coupon after the sweep: %+v", k)
		}
		if _, err := a.WithKey(session.Token).Customer(ctx, cust.ID); err != nil {
			t.Errorf("A's session after the sweep: %v", err)
		}
		// Lists show nothing of A's.
		for who, c := range callers {
			if l := Must[*client.List[api.Payment]](t)(c.Payments(ctx, client.ListParams{})); len(l.Data) != 0 {
				t.Errorf("%s lists A's payments: %d", who, len(l.Data))
			}
			if l := Must[*client.List[api.Customer]](t)(c.Customers(ctx, client.ListParams{})); len(l.Data) != 0 {
				t.Errorf("%s lists A's customers: %d", who, len(l.Data))
			}
		}
	})
}
