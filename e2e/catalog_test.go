package e2e

import (
	"slices"
	"testing"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// detailFields returns the fields a validation error names, in order.
func detailFields(ce *client.Error) []string {
	var out []string
	for _, f := range ce.Fields() {
		out = append(out, f.Field)
	}
	return out
}

// mug is a product of one shippable, stocked item at 19.99 EUR.
func mug(stock int64) api.ProductCreate {
	return api.ProductCreate{Name: "Mug", Items: []api.ProductItemInput{{Description: "Blue", Price: Amount(1999), Currency: "EUR",
		SKU: "MUG-B", Shippable: true, WeightGrams: 500, StockEnabled: true, StockAvailable: stock}}}
}

// TestCatalogCRUD creates, reads, lists and deletes every kind of
// catalogue object through the native API: per-kind numbers from 1, newest
// first pages, unique coupon codes and shipping rates (free again once
// deleted), and deleted objects gone from reads and lists.
func TestCatalogCRUD(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		var products []*api.Product
		for i := range 3 {
			p := Must[*api.Product](t)(c.CreateProduct(ctx, mug(int64(i))))
			if p.Number != int64(i+1) || p.Object != "product" || len(p.Items) != 1 || p.Items[0].Number != int64(i+1) ||
				p.Items[0].Price != 1999 || p.Items[0].Currency != "EUR" || p.Items[0].StockAvailable != int64(i) {
				t.Fatalf("product %d: %+v", i, p)
			}
			products = append(products, p)
		}
		page := Must[*client.List[api.Product]](t)(c.Products(ctx, client.ListParams{Limit: 2}))
		if len(page.Data) != 2 || page.Data[0].ID != products[2].ID || !page.HasMore {
			t.Fatalf("first page: %+v", page)
		}
		page = Must[*client.List[api.Product]](t)(c.Products(ctx, client.ListParams{Limit: 2, StartingAfter: page.NextCursor}))
		if len(page.Data) != 1 || page.Data[0].ID != products[0].ID || page.HasMore {
			t.Fatalf("second page: %+v", page)
		}
		if got := Must[*api.Product](t)(c.Product(ctx, products[1].ID)); got.ID != products[1].ID || got.Number != 2 {
			t.Fatalf("get: %+v", got)
		}
		if err := c.Do(ctx, "DELETE", "/v1/products/"+products[1].ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		_, err := c.Product(ctx, products[1].ID)
		APIError(t, err, 404, "resource_missing")
		page = Must[*client.List[api.Product]](t)(c.Products(ctx, client.ListParams{}))
		if len(page.Data) != 2 {
			t.Fatalf("list after delete: %+v", page.Data)
		}
		restocked := Must[*api.Product](t)(c.UpdateProductItem(ctx, products[0].ID, products[0].Items[0].ID, api.ProductItemUpdate{StockAvailable: Int64(7)}))
		if restocked.Items[0].StockAvailable != 7 {
			t.Fatalf("restocked: %+v", restocked.Items[0])
		}
		// Another account's key and the live key see nothing of it.
		_, err = c.WithKey(env.Keys.LiveSecretKey).Product(ctx, products[0].ID)
		APIError(t, err, 404, "resource_missing")

		art := Must[*api.Article](t)(c.CreateArticle(ctx, api.ArticleCreate{Title: "Issue 12", Price: Amount(499), Currency: "eur"}))
		if art.Number != 1 || art.Currency != "EUR" || art.Object != "article" {
			t.Fatalf("article: %+v", art)
		}
		rate := Must[*api.ShippingRate](t)(c.CreateShippingRate(ctx, api.ShippingRateCreate{Provider: "dhl", Country: "de", Amount: Amount(490), Currency: "EUR"}))
		if rate.Country != "DE" || rate.Number != 1 {
			t.Fatalf("rate: %+v", rate)
		}
		_, err = c.CreateShippingRate(ctx, api.ShippingRateCreate{Provider: "dhl", Country: "DE", Amount: Amount(590), Currency: "EUR"})
		APIError(t, err, 409, "state_conflict")
		coupon := Must[*api.Coupon](t)(c.CreateCoupon(ctx, api.CouponCreate{Code: "Summer10", PercentOff: "12.5"}))
		if coupon.PercentOff == nil || *coupon.PercentOff != "12.5" || coupon.AmountOff != nil {
			t.Fatalf("coupon: %+v", coupon)
		}
		_, err = c.CreateCoupon(ctx, api.CouponCreate{Code: "SUMMER10", AmountOff: Amount(500), Currency: "EUR"})
		APIError(t, err, 409, "state_conflict")
		if err := c.Do(ctx, "DELETE", "/v1/coupons/"+coupon.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		again := Must[*api.Coupon](t)(c.CreateCoupon(ctx, api.CouponCreate{Code: "SUMMER10", AmountOff: Amount(500), Currency: "EUR"}))
		if again.Number != 2 || again.AmountOff == nil || *again.AmountOff != 500 {
			t.Fatalf("coupon with a freed code: %+v", again)
		}
		var changed api.Article
		if err := c.Do(ctx, "PATCH", "/v1/articles/"+art.ID, api.ArticleUpdate{Price: Amount(599), Title: Str("Issue 12b")}, &changed); err != nil ||
			changed.Price != 599 || changed.Title != "Issue 12b" || changed.Currency != "EUR" {
			t.Fatalf("article update: %+v, %v", changed, err)
		}
		err = c.Do(ctx, "PATCH", "/v1/articles/"+art.ID, api.ArticleUpdate{Title: Str(""), Price: Amount(-1)}, nil)
		if ce := APIError(t, err, 400, "validation_error"); !slices.Equal(detailFields(ce), []string{"title", "price"}) {
			t.Errorf("bad article update: %v", detailFields(ce))
		}
		var limited api.Coupon
		if err := c.Do(ctx, "PATCH", "/v1/coupons/"+again.ID, api.CouponUpdate{MaxRedemptions: Int64(3)}, &limited); err != nil || limited.MaxRedemptions != 3 {
			t.Fatalf("coupon update: %+v, %v", limited, err)
		}
		var moved api.ShippingRate
		if err := c.Do(ctx, "PATCH", "/v1/shipping-rates/"+rate.ID, api.ShippingRateUpdate{Amount: Amount(590), MaxWeightGrams: Int64(2000)}, &moved); err != nil ||
			moved.Amount != 590 || moved.MaxWeightGrams != 2000 || moved.Provider != "dhl" {
			t.Fatalf("rate update: %+v, %v", moved, err)
		}
		cust := env.Customer("DE")
		cart := Must[*api.Cart](t)(c.CreateCart(ctx, api.CartCreate{CustomerID: cust.ID, Lines: []api.CartLineInput{
			{ProductID: products[0].ID, ItemID: products[0].Items[0].ID, Quantity: 2}, {ArticleID: art.ID, Quantity: 1}}}))
		if cart.Number != 1 || len(cart.Lines) != 2 || cart.Lines[1].ArticleID == nil || *cart.Lines[1].ArticleID != art.ID {
			t.Fatalf("cart: %+v", cart)
		}
		cart = Must[*api.Cart](t)(c.UpdateCart(ctx, cart.ID, api.CartUpdate{Lines: []api.CartLineInput{{ArticleID: art.ID, Quantity: 3}},
			Metadata: map[string]string{"note": "gift"}}))
		if len(cart.Lines) != 1 || cart.Lines[0].Quantity != 3 || cart.Metadata["note"] != "gift" {
			t.Fatalf("updated cart: %+v", cart)
		}
		_, err = c.UpdateCart(ctx, cart.ID, api.CartUpdate{Lines: []api.CartLineInput{{ArticleID: "art_nothing", Quantity: 1}}})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "lines[0].articleId" {
			t.Errorf("a cart line of nothing: %+v", ce)
		}
	})
}

// TestCatalogValidation checks that bad catalogue requests are refused
// with 400 naming every bad field, and leave nothing behind.
func TestCatalogValidation(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		for _, tc := range []struct {
			name   string
			path   string
			body   any
			status int
			code   string
			fields []string
		}{
			{"product without anything", "/v1/products", map[string]any{}, 400, "validation_error", []string{"name", "items"}},
			{"bad items", "/v1/products", map[string]any{"name": "Mug", "items": []map[string]any{
				{"price": -1, "currency": "XXX", "weightGrams": 5, "stockAvailable": 3},
			}}, 400, "validation_error", []string{"items[0].description", "items[0].price", "items[0].currency", "items[0].weightGrams", "items[0].stockAvailable"}},
			{"float price", "/v1/products", map[string]any{"name": "Mug", "items": []map[string]any{{"description": "x", "price": 19.99, "currency": "EUR"}}},
				400, "validation_error", nil},
			{"unknown field", "/v1/products", map[string]any{"name": "Mug", "colour": "blue"}, 400, "parameter_unknown", nil},
			{"article", "/v1/articles", map[string]any{"currency": "EUR"}, 400, "validation_error", []string{"title", "price"}},
			{"coupon with both", "/v1/coupons", map[string]any{"code": "X", "percentOff": "10", "amountOff": 100}, 400, "validation_error", []string{"percentOff"}},
			{"coupon percent too precise", "/v1/coupons", map[string]any{"code": "X", "percentOff": "10.123456"}, 400, "validation_error", []string{"percentOff"}},
			{"coupon window", "/v1/coupons", map[string]any{"code": "X", "percentOff": "10", "validFrom": "2026-05-01T00:00:00Z", "validUntil": "2026-04-01T00:00:00Z", "maxRedemptions": -1},
				400, "validation_error", []string{"validUntil", "maxRedemptions"}},
			{"shipping rate", "/v1/shipping-rates", map[string]any{"country": "Germany", "currency": "EUR"}, 400, "validation_error", []string{"provider", "country", "amount"}},
			{"cart lines", "/v1/carts", map[string]any{"customerId": "cus_x", "lines": []map[string]any{{"productId": "prod_x", "quantity": 0}, {"articleId": "art_x", "itemId": "item_x", "quantity": 1}}},
				400, "validation_error", []string{"lines[0]", "lines[0].quantity", "lines[1]"}},
			{"cart of nobody", "/v1/carts", map[string]any{"customerId": "cus_nobody", "lines": []map[string]any{{"articleId": "art_x", "quantity": 1}}},
				404, "resource_missing", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := c.Do(ctx, "POST", tc.path, tc.body, nil)
				ce := APIError(t, err, tc.status, tc.code)
				if tc.fields != nil {
					if got := detailFields(ce); !slices.Equal(got, tc.fields) {
						t.Errorf("fields %v, want %v", got, tc.fields)
					}
					if ce.Param != tc.fields[0] {
						t.Errorf("param %q, want %q", ce.Param, tc.fields[0])
					}
				}
			})
		}
		page := Must[*client.List[api.Product]](t)(c.Products(ctx, client.ListParams{}))
		if len(page.Data) != 0 {
			t.Errorf("a refused request left %d products", len(page.Data))
		}
	})
}

// TestCatalogNativeCharge charges the catalogue through the native API:
// a product item with shipping, articles, field names in the native
// spelling, and a decline (402) that gives the stock back.
func TestCatalogNativeCharge(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		prod := Must[*api.Product](t)(c.CreateProduct(ctx, mug(2)))
		Must[*api.ShippingRate](t)(c.CreateShippingRate(ctx, api.ShippingRateCreate{Provider: "dhl", Country: "DE", Amount: Amount(490), Currency: "EUR"}))
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		p := Must[*api.Payment](t)(c.ChargeCatalog(ctx, api.CatalogChargeRequest{CustomerID: cust.ID, Currency: "EUR", ProductID: prod.ID,
			ItemID: prod.Items[0].ID, ShippingProvider: "dhl", ShippingAddress: &api.Address{Country: "DE"}, Metadata: map[string]string{"order": "7"}},
			client.IdempotencyKey("native-1")))
		// 19.99 + 4.90 = 24.89, 19 % per line: 3.80 + 0.93 = 4.73.
		if p.Status != "succeeded" || p.AmountSubtotal != 2489 || p.TaxAmount != 473 || p.CatalogOrder == nil || p.CatalogOrder.Shipping != 490 ||
			len(p.LineItems) != 2 || p.Metadata["order"] != "7" {
			t.Fatalf("payment: %s", String(p))
		}
		again := Must[*api.Payment](t)(c.ChargeCatalog(ctx, api.CatalogChargeRequest{CustomerID: cust.ID, Currency: "EUR", ProductID: prod.ID,
			ItemID: prod.Items[0].ID, ShippingProvider: "dhl", ShippingAddress: &api.Address{Country: "DE"}, Metadata: map[string]string{"order": "7"}},
			client.IdempotencyKey("native-1")))
		if again.ID != p.ID || stockOf(t, env, prod.ID) != 1 {
			t.Fatalf("a replay charged again: %s, stock %d", again.ID, stockOf(t, env, prod.ID))
		}

		_, err := c.ChargeCatalog(ctx, api.CatalogChargeRequest{CustomerID: cust.ID, Currency: "EUR", ProductID: prod.ID, ArticleIDs: []string{"art_x"}})
		if ce := APIError(t, err, 400, "validation_error"); !slices.Equal(detailFields(ce), []string{"cartId", "itemId"}) {
			t.Errorf("fields: %v", detailFields(ce))
		}
		_, err = c.ChargeCatalog(ctx, api.CatalogChargeRequest{CustomerID: cust.ID, Currency: "EUR", ArticleIDs: []string{"art_x"}})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "articleIds[0]" {
			t.Errorf("unknown article: %+v", ce)
		}

		bad, _ := env.CustomerWithCard("DE", "4000000000000002")
		_, err = c.ChargeCatalog(ctx, api.CatalogChargeRequest{CustomerID: bad.ID, Currency: "EUR", ProductID: prod.ID, ItemID: prod.Items[0].ID,
			ShippingProvider: "dhl", ShippingAddress: &api.Address{Country: "DE"}})
		ce := APIError(t, err, 402, "card_declined")
		if d := ce.Decline(); d == nil || d.PaymentID == "" || stockOf(t, env, prod.ID) != 1 {
			t.Errorf("decline: %+v, stock %d", ce, stockOf(t, env, prod.ID))
		}
	})
}
