package api

import (
	"time"

	"github.com/tillpay/till"
)

// ProductCreate creates a product with its items.
type ProductCreate struct {
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Items       []ProductItemInput `json:"items"`
	Metadata    till.Metadata      `json:"metadata"`
}

// ProductItemInput is one item of a new product.
type ProductItemInput struct {
	Description    string `json:"description"`
	Price          *int64 `json:"price"` // in the currency's minor unit, in the terms of the account's default tax behaviour
	Currency       string `json:"currency"`
	SKU            string `json:"sku"`
	Shippable      bool   `json:"shippable"`
	WeightGrams    int64  `json:"weightGrams"` // weight of one unit in grams (shippable items only)
	StockEnabled   bool   `json:"stockEnabled"`
	StockAvailable int64  `json:"stockAvailable"` // units that can be sold (with stockEnabled)
	OncePerUser    bool   `json:"oncePerUser"`
	CustomPrice    bool   `json:"customPrice"`
}

// ProductUpdate changes a product's name, description or metadata.
type ProductUpdate struct {
	Name        *string       `json:"name"`
	Description *string       `json:"description"`
	Metadata    till.Metadata `json:"metadata"`
}

// ProductItemUpdate changes an item: its price and stock.
type ProductItemUpdate struct {
	Price          *int64 `json:"price"` // in the item's currency's minor unit
	StockEnabled   *bool  `json:"stockEnabled"`
	StockAvailable *int64 `json:"stockAvailable"` // units that can be sold from now on
}

// Product is the product object.
type Product struct {
	ID          string        `json:"id"`
	Object      string        `json:"object"`
	Number      int64         `json:"number"` // the per-account integer id (the CMS dialect's productId)
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Items       []ProductItem `json:"items"`
	Metadata    till.Metadata `json:"metadata"`
	Livemode    bool          `json:"livemode"`
	CreatedAt   time.Time     `json:"createdAt"`
	UpdatedAt   time.Time     `json:"updatedAt"`
}

// ProductItem is one item of a product.
type ProductItem struct {
	ID             string `json:"id"`
	Number         int64  `json:"number"` // the per-account integer id (the CMS dialect's item id)
	Description    string `json:"description"`
	Price          int64  `json:"price"` // in the currency's minor unit
	Currency       string `json:"currency"`
	SKU            string `json:"sku"`
	Shippable      bool   `json:"shippable"`
	WeightGrams    int64  `json:"weightGrams"` // weight of one unit in grams
	StockEnabled   bool   `json:"stockEnabled"`
	StockAvailable int64  `json:"stockAvailable"` // units that can still be sold
	OncePerUser    bool   `json:"oncePerUser"`
	CustomPrice    bool   `json:"customPrice"`
}

// ProductOf renders a product.
func ProductOf(p *till.Product) Product {
	items := make([]ProductItem, len(p.Items))
	for i, it := range p.Items {
		items[i] = ProductItem{ID: it.ID, Number: it.Number, Description: it.Description, Price: it.Price, Currency: it.Currency,
			SKU: it.SKU, Shippable: it.Shippable, WeightGrams: it.WeightGrams, StockEnabled: it.StockEnabled,
			StockAvailable: it.StockAvailable, OncePerUser: it.OncePerUser, CustomPrice: it.CustomPrice}
	}
	return Product{ID: p.ID, Object: "product", Number: p.Number, Name: p.Name, Description: p.Description, Items: items,
		Metadata: metadataOf(p.Metadata), Livemode: p.Livemode, CreatedAt: utc(p.CreatedAt), UpdatedAt: utc(p.UpdatedAt)}
}

// ArticleCreate creates an article.
type ArticleCreate struct {
	Title       string        `json:"title"`
	Description string        `json:"description"`
	Price       *int64        `json:"price"` // in the currency's minor unit
	Currency    string        `json:"currency"`
	CustomPrice bool          `json:"customPrice"`
	Metadata    till.Metadata `json:"metadata"`
}

// ArticleUpdate changes an article.
type ArticleUpdate struct {
	Title       *string       `json:"title"`
	Description *string       `json:"description"`
	Price       *int64        `json:"price"` // in the article's currency's minor unit, for charges from now on
	CustomPrice *bool         `json:"customPrice"`
	Metadata    till.Metadata `json:"metadata"`
}

// Article is the article object.
type Article struct {
	ID          string        `json:"id"`
	Object      string        `json:"object"`
	Number      int64         `json:"number"` // the per-account integer id (the CMS dialect's articleId)
	Title       string        `json:"title"`
	Description string        `json:"description"`
	Price       int64         `json:"price"` // in the currency's minor unit
	Currency    string        `json:"currency"`
	CustomPrice bool          `json:"customPrice"`
	Metadata    till.Metadata `json:"metadata"`
	Livemode    bool          `json:"livemode"`
	CreatedAt   time.Time     `json:"createdAt"`
	UpdatedAt   time.Time     `json:"updatedAt"`
}

// ArticleOf renders an article.
func ArticleOf(a *till.Article) Article {
	return Article{ID: a.ID, Object: "article", Number: a.Number, Title: a.Title, Description: a.Description, Price: a.Price,
		Currency: a.Currency, CustomPrice: a.CustomPrice, Metadata: metadataOf(a.Metadata), Livemode: a.Livemode,
		CreatedAt: utc(a.CreatedAt), UpdatedAt: utc(a.UpdatedAt)}
}

// CartCreate creates a cart of a customer.
type CartCreate struct {
	CustomerID string          `json:"customerId"`
	Lines      []CartLineInput `json:"lines"`
	Metadata   till.Metadata   `json:"metadata"`
}

// CartUpdate changes a cart: lines, when sent, replace its lines.
type CartUpdate struct {
	Lines    []CartLineInput `json:"lines"`
	Metadata till.Metadata   `json:"metadata"`
}

// CartLineInput is one line of a new cart: productId with itemId, or
// articleId.
type CartLineInput struct {
	ProductID string `json:"productId"`
	ItemID    string `json:"itemId"`
	ArticleID string `json:"articleId"`
	Quantity  int64  `json:"quantity"` // units, 1 to 10000
}

// Cart is the cart object.
type Cart struct {
	ID         string        `json:"id"`
	Object     string        `json:"object"`
	Number     int64         `json:"number"` // the per-account integer id (the CMS dialect's cartId)
	CustomerID string        `json:"customerId"`
	Lines      []CartLine    `json:"lines"`
	Metadata   till.Metadata `json:"metadata"`
	Livemode   bool          `json:"livemode"`
	CreatedAt  time.Time     `json:"createdAt"`
	UpdatedAt  time.Time     `json:"updatedAt"`
}

// CartLine is one line of a cart.
type CartLine struct {
	ProductID *string `json:"productId"`
	ItemID    *string `json:"itemId"`
	ArticleID *string `json:"articleId"`
	Quantity  int64   `json:"quantity"` // units
}

// CartOf renders a cart.
func CartOf(c *till.Cart) Cart {
	lines := make([]CartLine, len(c.Lines))
	for i, l := range c.Lines {
		lines[i] = CartLine{ProductID: str(l.ProductID), ItemID: str(l.ItemID), ArticleID: str(l.ArticleID), Quantity: l.Quantity}
	}
	return Cart{ID: c.ID, Object: "cart", Number: c.Number, CustomerID: c.CustomerID, Lines: lines, Metadata: metadataOf(c.Metadata),
		Livemode: c.Livemode, CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt)}
}

// ShippingRateCreate creates a shipping rate.
type ShippingRateCreate struct {
	Provider       string `json:"provider"`
	Country        string `json:"country"`
	Amount         *int64 `json:"amount"` // per order, in the currency's minor unit
	Currency       string `json:"currency"`
	MaxWeightGrams int64  `json:"maxWeightGrams"` // heaviest order the rate ships, in grams; 0 for no limit
}

// ShippingRateUpdate changes a shipping rate's amount or weight limit.
type ShippingRateUpdate struct {
	Amount         *int64 `json:"amount"`         // per order, in the rate's currency's minor unit
	MaxWeightGrams *int64 `json:"maxWeightGrams"` // heaviest order the rate ships, in grams; 0 for no limit
}

// ShippingRate is the shipping rate object.
type ShippingRate struct {
	ID             string    `json:"id"`
	Object         string    `json:"object"`
	Number         int64     `json:"number"` // the per-account integer id
	Provider       string    `json:"provider"`
	Country        string    `json:"country"`
	Amount         int64     `json:"amount"` // per order, in the currency's minor unit
	Currency       string    `json:"currency"`
	MaxWeightGrams int64     `json:"maxWeightGrams"` // heaviest order the rate ships, in grams; 0 for no limit
	Livemode       bool      `json:"livemode"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// ShippingRateOf renders a shipping rate.
func ShippingRateOf(r *till.ShippingRate) ShippingRate {
	return ShippingRate{ID: r.ID, Object: "shipping_rate", Number: r.Number, Provider: r.Provider, Country: r.Country, Amount: r.Amount,
		Currency: r.Currency, MaxWeightGrams: r.MaxWeightGrams, Livemode: r.Livemode, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}
}

// CouponCreate creates a coupon.
type CouponCreate struct {
	Code           string        `json:"code"`
	PercentOff     string        `json:"percentOff"` // a decimal percentage such as "12.5", parsed exactly
	AmountOff      *int64        `json:"amountOff"`  // in the currency's minor unit
	Currency       string        `json:"currency"`
	ValidFrom      *time.Time    `json:"validFrom"`      // on the account's clock
	ValidUntil     *time.Time    `json:"validUntil"`     // on the account's clock, exclusive
	MaxRedemptions int64         `json:"maxRedemptions"` // paid or pending payments in all; 0 for no limit
	MaxPerCustomer int64         `json:"maxPerCustomer"` // per customer; 0 for no limit
	Metadata       till.Metadata `json:"metadata"`
}

// CouponUpdate changes a coupon's validity window and limits.
type CouponUpdate struct {
	ValidFrom      *time.Time    `json:"validFrom"`      // on the account's clock
	ValidUntil     *time.Time    `json:"validUntil"`     // on the account's clock, exclusive
	MaxRedemptions *int64        `json:"maxRedemptions"` // 0 for no limit
	MaxPerCustomer *int64        `json:"maxPerCustomer"` // 0 for no limit
	Metadata       till.Metadata `json:"metadata"`
}

// Coupon is the coupon object.
type Coupon struct {
	ID             string        `json:"id"`
	Object         string        `json:"object"`
	Number         int64         `json:"number"` // the per-account integer id
	Code           string        `json:"code"`
	PercentOff     *string       `json:"percentOff"` // a decimal percentage; null for an amount off
	AmountOff      *int64        `json:"amountOff"`  // in the currency's minor unit; null for a percentage
	Currency       *string       `json:"currency"`
	ValidFrom      *time.Time    `json:"validFrom"`
	ValidUntil     *time.Time    `json:"validUntil"`
	MaxRedemptions int64         `json:"maxRedemptions"` // 0 for no limit
	MaxPerCustomer int64         `json:"maxPerCustomer"` // 0 for no limit
	Redeemed       int64         `json:"redeemed"`       // payments paid or under way that use it
	Metadata       till.Metadata `json:"metadata"`
	Livemode       bool          `json:"livemode"`
	CreatedAt      time.Time     `json:"createdAt"`
	UpdatedAt      time.Time     `json:"updatedAt"`
}

// CouponOf renders a coupon.
func CouponOf(c *till.Coupon) Coupon {
	out := Coupon{ID: c.ID, Object: "coupon", Number: c.Number, Code: c.Code, Currency: str(c.Currency), ValidFrom: utcp(c.ValidFrom),
		ValidUntil: utcp(c.ValidUntil), MaxRedemptions: c.MaxRedemptions, MaxPerCustomer: c.MaxPerCustomer, Redeemed: c.Redeemed,
		Metadata: metadataOf(c.Metadata), Livemode: c.Livemode, CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt)}
	if c.PercentOff > 0 {
		out.PercentOff = str(c.PercentOff.String())
	} else {
		n := c.AmountOff
		out.AmountOff = &n
	}
	return out
}

func metadataOf(m till.Metadata) till.Metadata {
	if m == nil {
		return till.Metadata{}
	}
	return m
}

// CatalogOrder is what a catalogue charge sold (the CMS storefront charge), on its
// payment: the lines, shipping, discount and the buyer's location evidence.
type CatalogOrder struct {
	CartID           *string            `json:"cartId"`
	Lines            []CatalogOrderLine `json:"lines"`
	Subtotal         int64              `json:"subtotal"` // the lines' sum before the discount, in the currency's minor unit
	Shipping         int64              `json:"shipping"` // in the currency's minor unit
	Discount         int64              `json:"discount"` // in the currency's minor unit
	CouponCode       *string            `json:"couponCode"`
	ShippingProvider *string            `json:"shippingProvider"`
	ShippingAddress  *Address           `json:"shippingAddress"`
	VATCountry       *string            `json:"vatCountry"`
	IPAddress        *string            `json:"ipAddress"` // tax evidence sent with the charge
	IPCountry        *string            `json:"ipCountry"` // the country the storefront derived from ipAddress
	Source           *string            `json:"source"`
	Page             *string            `json:"page"`
	Button           *string            `json:"button"`
	// StockReleased says the payment did not take the money and gave its
	// stock and coupon use back.
	StockReleased bool `json:"stockReleased"`
}

// CatalogOrderLine is one sold line of a catalogue order.
type CatalogOrderLine struct {
	Kind        string  `json:"kind"` // item or article
	ProductID   *string `json:"productId"`
	ItemID      *string `json:"itemId"`
	ArticleID   *string `json:"articleId"`
	Description string  `json:"description"`
	SKU         *string `json:"sku"`
	Quantity    int64   `json:"quantity"`  // units
	UnitPrice   int64   `json:"unitPrice"` // in the currency's minor unit, before the discount
	Amount      int64   `json:"amount"`    // quantity × unitPrice
}

// CatalogOrderOf renders a payment's catalogue order; nil for a payment
// without one.
func CatalogOrderOf(o *till.CatalogOrder) *CatalogOrder {
	if o == nil {
		return nil
	}
	addr := func(a *till.Address) *Address {
		if a == nil {
			return nil
		}
		return AddressOf(*a)
	}
	out := &CatalogOrder{CartID: str(o.CartID), Lines: make([]CatalogOrderLine, len(o.Lines)), Subtotal: o.Subtotal, Shipping: o.Shipping,
		Discount: o.Discount, CouponCode: str(o.CouponCode), ShippingProvider: str(o.ShippingProvider),
		ShippingAddress: addr(o.ShippingAddress), VATCountry: str(o.VATCountry),
		IPAddress: str(o.Evidence.IPAddress), IPCountry: str(o.Evidence.Country), Source: str(o.Source), Page: str(o.Page),
		Button: str(o.Button), StockReleased: o.Released}
	for i, l := range o.Lines {
		out.Lines[i] = CatalogOrderLine{Kind: string(l.Kind), ProductID: str(l.ProductID), ItemID: str(l.ItemID), ArticleID: str(l.ArticleID),
			Description: l.Description, SKU: str(l.SKU), Quantity: l.Quantity, UnitPrice: l.UnitPrice, Amount: l.Amount}
	}
	return out
}

// CatalogChargeRequest charges a customer's saved payment method for
// catalogue objects: a cart, an item of a product × quantity, or articles
// (exactly one of the three).
type CatalogChargeRequest struct {
	CustomerID       string        `json:"customerId"`
	PaymentMethodID  string        `json:"paymentMethodId"`
	Currency         string        `json:"currency"`
	CartID           string        `json:"cartId"`
	ProductID        string        `json:"productId"`
	ItemID           string        `json:"itemId"`
	Quantity         *int64        `json:"quantity"` // units of the item, default 1
	ArticleIDs       []string      `json:"articleIds"`
	CustomPrice      *int64        `json:"customPrice"` // unit price of a single item or article that allows it, in minor units
	ShippingProvider string        `json:"shippingProvider"`
	ShippingAddress  *Address      `json:"shippingAddress"`
	BillingAddress   *Address      `json:"billingAddress"`
	VATCountry       string        `json:"vatCountry"`
	IPAddress        string        `json:"ipAddress"`
	IPCountry        string        `json:"ipCountry"`
	CouponCode       string        `json:"couponCode"`
	Source           string        `json:"source"`
	Page             string        `json:"page"`
	Button           string        `json:"button"`
	Metadata         till.Metadata `json:"metadata"`
}
