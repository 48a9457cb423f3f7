package till

import "time"

// CatalogKind names a kind of catalogue object (and, for items, a kind of
// catalogue number).
type CatalogKind string

// Catalogue kinds. Every kind but CatalogItem is a stored object; items live
// inside their product and only have numbers of their own.
const (
	CatalogProduct      CatalogKind = "product"
	CatalogItem         CatalogKind = "item"
	CatalogArticle      CatalogKind = "article"
	CatalogCart         CatalogKind = "cart"
	CatalogShippingRate CatalogKind = "shipping_rate"
	CatalogCoupon       CatalogKind = "coupon"
)

// ID prefixes of catalogue objects.
const (
	PrefixProduct      = "prod_"
	PrefixItem         = "item_"
	PrefixArticle      = "art_"
	PrefixCart         = "cart_"
	PrefixShippingRate = "shr_"
	PrefixCoupon       = "coup_"
)

// CatalogEntry is what every catalogue object has: its id, tenant, kind and
// Number, a per-account integer unique per account, mode and kind that the
// CMS dialect uses as the object's id (allocated in the create's unit of
// work). Key, when not empty, is unique per account, mode and kind among
// objects that are not deleted: a coupon's code, a shipping rate's
// provider, country and currency.
type CatalogEntry struct {
	ID        string      `json:"ID"`
	AccountID string      `json:"AccountID"`
	Livemode  bool        `json:"Livemode"`
	Kind      CatalogKind `json:"Kind"`
	Number    int64       `json:"Number"`
	Key       string      `json:"Key"`
	Deleted   bool        `json:"Deleted"`
	// Version rises with every change.
	Version   int64     `json:"Version"`
	CreatedAt time.Time `json:"CreatedAt"`
	UpdatedAt time.Time `json:"UpdatedAt"`
}

// Entry returns e itself: every catalogue object embeds its entry.
func (e *CatalogEntry) Entry() *CatalogEntry { return e }

// CatalogObject is a catalogue object as the store keeps it: a JSON
// document with its entry's columns.
type CatalogObject interface {
	Entry() *CatalogEntry
}

// Product is something sold in variants: its items.
type Product struct {
	CatalogEntry `json:"Entry"`
	Name         string        `json:"Name"`
	Description  string        `json:"Description"`
	Items        []ProductItem `json:"Items"`
	Metadata     Metadata      `json:"Metadata"`
}

// Item returns the product's item with the given id or number (whichever
// is set), or nil.
func (p *Product) Item(id string, number int64) *ProductItem {
	for i := range p.Items {
		if (id != "" && p.Items[i].ID == id) || (id == "" && p.Items[i].Number == number) {
			return &p.Items[i]
		}
	}
	return nil
}

// ProductItem is one purchasable variant of a product. Price is in minor
// units of Currency, in the terms of the account's default tax behaviour.
// With StockEnabled, StockAvailable counts the units that can still be sold:
// a charge reserves its units in the unit of work that records the payment
// and a failed charge gives them back. OncePerUser items can be bought by a
// customer once. CustomPrice lets the buyer pay more than Price (never
// less).
type ProductItem struct {
	ID             string `json:"id"`
	Number         int64  `json:"number"`
	Description    string `json:"description"`
	Price          int64  `json:"price"`
	Currency       string `json:"currency"`
	SKU            string `json:"sku"`
	Shippable      bool   `json:"shippable"`
	WeightGrams    int64  `json:"weightGrams"`
	StockEnabled   bool   `json:"stockEnabled"`
	StockAvailable int64  `json:"stockAvailable"`
	OncePerUser    bool   `json:"oncePerUser"`
	CustomPrice    bool   `json:"customPrice"`
}

// Article is a single priced piece of content (never shipped, no stock).
type Article struct {
	CatalogEntry `json:"Entry"`
	Title        string   `json:"Title"`
	Description  string   `json:"Description"`
	Price        int64    `json:"Price"`
	Currency     string   `json:"Currency"`
	CustomPrice  bool     `json:"CustomPrice"`
	Metadata     Metadata `json:"Metadata"`
}

// Cart is a customer's basket: product items by quantity and articles.
type Cart struct {
	CatalogEntry `json:"Entry"`
	CustomerID   string     `json:"CustomerID"`
	Lines        []CartLine `json:"Lines"`
	Metadata     Metadata   `json:"Metadata"`
}

// CartLine is one line of a cart: an item of a product, or an article.
type CartLine struct {
	ProductID string `json:"productId"`
	ItemID    string `json:"itemId"`
	ArticleID string `json:"articleId"`
	Quantity  int64  `json:"quantity"`
}

// ShippingRate is what a provider charges to ship an order to a country, in
// Currency. MaxWeightGrams, when positive, is the heaviest order the rate
// covers; a heavier order cannot ship with it.
type ShippingRate struct {
	CatalogEntry   `json:"Entry"`
	Provider       string `json:"Provider"`
	Country        string `json:"Country"`
	Amount         int64  `json:"Amount"`
	Currency       string `json:"Currency"`
	MaxWeightGrams int64  `json:"MaxWeightGrams"`
}

// ShippingRateKey is the unique key of a shipping rate.
func ShippingRateKey(provider, country, currency string) string {
	return provider + "|" + country + "|" + currency
}

// Coupon is a discount code: PercentOff (an exact rate) of the order's
// subtotal, or AmountOff in Currency, valid from ValidFrom to ValidUntil on
// the account's clock, at most MaxRedemptions times in all and
// MaxPerCustomer times per customer (0: no limit). Redeemed counts the
// payments under way or paid that use it.
type Coupon struct {
	CatalogEntry   `json:"Entry"`
	Code           string     `json:"Code"`
	PercentOff     Rate       `json:"PercentOff"`
	AmountOff      int64      `json:"AmountOff"`
	Currency       string     `json:"Currency"`
	ValidFrom      *time.Time `json:"ValidFrom"`
	ValidUntil     *time.Time `json:"ValidUntil"`
	MaxRedemptions int64      `json:"MaxRedemptions"`
	MaxPerCustomer int64      `json:"MaxPerCustomer"`
	Redeemed       int64      `json:"Redeemed"`
	Metadata       Metadata   `json:"Metadata"`
}

// CatalogClaim records that a payment uses something a customer may only
// use so often: a coupon (Kind CatalogCoupon) or a once-per-user item (Kind
// CatalogItem). Claims are made with the payment and removed when it fails.
type CatalogClaim struct {
	AccountID  string
	Livemode   bool
	Kind       CatalogKind
	ObjectID   string
	CustomerID string
	PaymentID  string
	CreatedAt  time.Time
}

// CatalogOrder is what a catalogue charge sold: its lines, shipping, discount and
// the evidence of the buyer's location, kept on the payment (its billing
// address is the payment's BillingAddress). Subtotal is the
// lines' sum before Discount; the payment's amount is Subtotal − Discount +
// Shipping. Released records that a failed payment gave its stock and
// claims back.
type CatalogOrder struct {
	CartID           string        `json:"cartId,omitempty"`
	Lines            []CatalogLine `json:"lines"`
	Subtotal         int64         `json:"subtotal"`
	Shipping         int64         `json:"shipping"`
	Discount         int64         `json:"discount"`
	CouponID         string        `json:"couponId,omitempty"`
	CouponCode       string        `json:"couponCode,omitempty"`
	ShippingRateID   string        `json:"shippingRateId,omitempty"`
	ShippingProvider string        `json:"shippingProvider,omitempty"`
	ShippingAddress  *Address      `json:"shippingAddress,omitempty"`
	VATCountry       string        `json:"vatCountry,omitempty"`
	Evidence         TaxEvidence   `json:"evidence"`
	Source           string        `json:"source,omitempty"`
	Page             string        `json:"page,omitempty"`
	Button           string        `json:"button,omitempty"`
	Released         bool          `json:"released"`
}

// TaxEvidence is what a charge recorded of where the buyer is.
type TaxEvidence struct {
	IPAddress string `json:"ipAddress,omitempty"`
	Country   string `json:"country,omitempty"`
}

// CatalogLine is one sold line: Quantity units at UnitPrice (minor units),
// with what the item was when it was sold (Shippable, WeightGrams of one
// unit, OncePerUser). StockReserved says the line took units from its
// item's stock.
type CatalogLine struct {
	Kind          CatalogKind `json:"kind"` // CatalogItem or CatalogArticle
	ProductID     string      `json:"productId,omitempty"`
	ProductNumber int64       `json:"productNumber,omitempty"`
	ProductName   string      `json:"productName,omitempty"`
	ItemID        string      `json:"itemId,omitempty"`
	ItemNumber    int64       `json:"itemNumber,omitempty"`
	ArticleID     string      `json:"articleId,omitempty"`
	ArticleNumber int64       `json:"articleNumber,omitempty"`
	Description   string      `json:"description"`
	SKU           string      `json:"sku,omitempty"`
	Quantity      int64       `json:"quantity"`
	UnitPrice     int64       `json:"unitPrice"`
	Amount        int64       `json:"amount"`
	Shippable     bool        `json:"shippable"`
	WeightGrams   int64       `json:"weightGrams"`
	OncePerUser   bool        `json:"oncePerUser"`
	StockReserved bool        `json:"stockReserved"`
}
