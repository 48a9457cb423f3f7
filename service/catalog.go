package service

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till"
)

// The catalogue's use cases: products with items, articles, carts,
// shipping rates and coupons, created, read, listed and deleted. Each
// object gets, in its create's unit of work, a per-account Number that the
// CMS dialect uses as its integer id; each item of a product gets one too.

// maxCatalogLines bounds a product's items and a cart's lines.
const maxCatalogLines = 100

// maxQuantity bounds the quantity of one line.
const maxQuantity = 10_000

// ProductParams creates a product with its items.
type ProductParams struct {
	Name        string
	Description string
	Items       []ProductItemParams
	Metadata    till.Metadata
}

// ProductItemParams is one item of a new product. Price is in minor units
// of Currency; nil is refused as missing.
type ProductItemParams struct {
	Description    string
	Price          *int64
	Currency       string
	SKU            string
	Shippable      bool
	WeightGrams    int64
	StockEnabled   bool
	StockAvailable int64
	OncePerUser    bool
	CustomPrice    bool
}

// ArticleParams creates an article.
type ArticleParams struct {
	Title       string
	Description string
	Price       *int64
	Currency    string
	CustomPrice bool
	Metadata    till.Metadata
}

// CartParams creates a cart of a customer.
type CartParams struct {
	CustomerID string
	Lines      []CartLineParams
	Metadata   till.Metadata
}

// CartLineParams is one line of a new cart: ProductID with ItemID, or
// ArticleID.
type CartLineParams struct {
	ProductID string
	ItemID    string
	ArticleID string
	Quantity  int64
}

// ShippingRateParams creates a shipping rate.
type ShippingRateParams struct {
	Provider       string
	Country        string
	Amount         *int64
	Currency       string
	MaxWeightGrams int64
}

// CouponParams creates a coupon: PercentOff, a decimal percentage such as
// "12.5" parsed exactly, or AmountOff with Currency.
type CouponParams struct {
	Code           string
	PercentOff     string
	AmountOff      *int64
	Currency       string
	ValidFrom      *time.Time
	ValidUntil     *time.Time
	MaxRedemptions int64
	MaxPerCustomer int64
	Metadata       till.Metadata
}

// newEntry returns the entry of a new catalogue object of the caller.
func (s *Service) newEntry(c *Caller, kind till.CatalogKind, prefix, key string) till.CatalogEntry {
	now := s.now(c.Account, c.Livemode)
	return till.CatalogEntry{ID: s.ids.NewID(prefix), AccountID: c.Account.ID, Livemode: c.Livemode, Kind: kind, Key: key,
		Version: 1, CreatedAt: now, UpdatedAt: now}
}

// createCatalog stores a new catalogue object o in one unit of work: its
// number, the numbers of its items (number, when set), a refusal of a
// taken key, and the remembered outcome.
func (s *Service) createCatalog(ctx context.Context, c *Caller, idem *Idem, o till.CatalogObject, check func(tx till.Tx) error, number func(tx till.Tx) error) error {
	e := o.Entry()
	return s.idempotent(ctx, c, idem, OpCatalogCreate, o, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			if check != nil {
				if err := check(tx); err != nil {
					return err
				}
			}
			if e.Key != "" {
				err := tx.CatalogObjectByKey(ctx, c.Scope(), e.Kind, e.Key, &till.CatalogEntry{})
				if err == nil {
					return till.Conflict("A %s with this key already exists.", strings.ReplaceAll(string(e.Kind), "_", " "))
				}
				if !isNotFound(err) {
					return err
				}
			}
			n, err := tx.NextCatalogNumber(ctx, c.Scope(), e.Kind)
			if err != nil {
				return err
			}
			e.Number = n
			if number != nil {
				if err := number(tx); err != nil {
					return err
				}
			}
			if err := tx.CreateCatalogObject(ctx, o); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpCatalogCreate, o, e.ID)
		})
	})
}

// catalogObject reads a catalogue object of the caller that is not deleted
// into into.
func catalogObject(ctx context.Context, tx till.Tx, scope till.Scope, kind till.CatalogKind, id string, into till.CatalogObject) error {
	if err := tx.CatalogObject(ctx, scope, kind, id, into); err != nil {
		return err
	}
	if into.Entry().Deleted {
		return till.NotFound(string(kind), id)
	}
	return nil
}

// CatalogObject reads a catalogue object of kind of the caller into into;
// an unknown or deleted one is resource_missing.
func (s *Service) CatalogObject(ctx context.Context, c *Caller, kind till.CatalogKind, id string, into till.CatalogObject) error {
	return s.store.View(ctx, func(tx till.Tx) error {
		return catalogObject(ctx, tx, c.Scope(), kind, id, into)
	})
}

// CatalogObjectByNumber reads a catalogue object of kind of the caller by
// its number into into; an unknown or deleted one is resource_missing.
func (s *Service) CatalogObjectByNumber(ctx context.Context, c *Caller, kind till.CatalogKind, number int64, into till.CatalogObject) error {
	return s.store.View(ctx, func(tx till.Tx) error {
		if err := tx.CatalogObjectByNumber(ctx, c.Scope(), kind, number, into); err != nil {
			return err
		}
		if into.Entry().Deleted {
			return till.NotFound(string(kind), fmt.Sprint(number))
		}
		return nil
	})
}

// ListCatalog returns a page of the caller's catalogue objects of kind,
// newest first, each decoded into a value of newObj.
func (s *Service) ListCatalog(ctx context.Context, c *Caller, kind till.CatalogKind, p till.Page, newObj func() till.CatalogObject) ([]till.CatalogObject, bool, error) {
	var out []till.CatalogObject
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		out, more, err = tx.ListCatalogObjects(ctx, c.Scope(), kind, p, newObj)
		return err
	})
	return out, more, err
}

// DeleteCatalog deletes a catalogue object of kind: it is no longer read,
// listed or sold, its key is free again and its number is never reused.
// Payments that sold it keep what they sold.
func (s *Service) DeleteCatalog(ctx context.Context, c *Caller, idem *Idem, kind till.CatalogKind, id string, into till.CatalogObject) (*Deleted, error) {
	out := &Deleted{ID: id, Kind: string(kind)}
	err := s.idempotent(ctx, c, idem, OpCatalogDelete, out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			if err := catalogObject(ctx, tx, c.Scope(), kind, id, into); err != nil {
				return err
			}
			e := into.Entry()
			from := e.Version
			e.Deleted = true
			e.Version++
			e.UpdatedAt = s.now(c.Account, c.Livemode)
			if err := tx.UpdateCatalogObject(ctx, into, from); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpCatalogDelete, out, id)
		})
	})
	return out, err
}

// updateCatalog changes a catalogue object of kind in one unit of work:
// it reads the object (not deleted) into into, lets apply change it, and
// stores it with a new version and the remembered outcome.
func (s *Service) updateCatalog(ctx context.Context, c *Caller, idem *Idem, kind till.CatalogKind, id string, into till.CatalogObject, apply func(tx till.Tx) error) error {
	return s.idempotent(ctx, c, idem, OpCatalogUpdate, into, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			if err := catalogObject(ctx, tx, c.Scope(), kind, id, into); err != nil {
				return err
			}
			if err := apply(tx); err != nil {
				return err
			}
			if err := s.bumpCatalog(ctx, tx, into, s.now(c.Account, c.Livemode)); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpCatalogUpdate, into, id)
		})
	})
}

// validText checks a required or optional text field of at most max runes
// and returns it trimmed.
func validText(v *till.Validator, field, in string, required bool, max int) string {
	t := strings.TrimSpace(in)
	switch {
	case t == "" && required:
		v.Add(field, "%s is required", lastSegment(field))
	case utf8.RuneCountInString(t) > max:
		v.Add(field, "%s can be at most %d characters", lastSegment(field), max)
	case strings.ContainsFunc(t, isControl):
		v.Add(field, "%s cannot contain control characters", lastSegment(field))
	}
	return t
}

func lastSegment(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		return field[i+1:]
	}
	return field
}

// validPrice checks a required price in minor units and its currency.
func validPrice(v *till.Validator, field string, price *int64, currencyField, currency string, minimum int64) (int64, string) {
	var amount int64
	switch {
	case price == nil:
		v.Add(field, "%s is required (an integer in the currency's minor unit, e.g. 1999 for 19.99 EUR)", lastSegment(field))
	case *price < minimum:
		v.AddCode(till.EAmountTooSmall, field, "%s must be at least %d", lastSegment(field), minimum)
	case *price > till.MaxAmount:
		v.AddCode(till.EAmountTooLarge, field, "%s can be at most %d", lastSegment(field), till.MaxAmount)
	default:
		amount = *price
	}
	cur, _ := validCurrency(v, currencyField, currency)
	return amount, cur.Code
}

// validMetadata checks metadata and returns a copy of it.
func validMetadata(v *till.Validator, in till.Metadata) till.Metadata {
	till.ValidateMetadata(v, "metadata", in)
	return till.MergeMetadata(nil, in)
}

// validLineCount checks that a list of lines has 1 to maxCatalogLines
// entries.
func validLineCount(v *till.Validator, field string, n int) {
	switch {
	case n == 0:
		v.Add(field, "%s is required: at least one", field)
	case n > maxCatalogLines:
		v.Add(field, "%s can have at most %d entries", field, maxCatalogLines)
	}
}

// maxCount bounds the weights and stock counts of the catalogue.
const maxCount = 1_000_000_000

// validCount checks a weight or a count: 0 to maxCount.
func validCount(v *till.Validator, field string, n int64) bool {
	if n < 0 || n > maxCount {
		v.Add(field, "%s must be between 0 and %d", lastSegment(field), maxCount)
		return false
	}
	return true
}

// CreateProduct creates a product with its items (at least one, at most
// 100), giving the product and each item a number.
func (s *Service) CreateProduct(ctx context.Context, c *Caller, idem *Idem, in ProductParams) (*till.Product, error) {
	var v till.Validator
	p := &till.Product{CatalogEntry: s.newEntry(c, till.CatalogProduct, till.PrefixProduct, "")}
	p.Name = validText(&v, "name", in.Name, true, 200)
	p.Description = validText(&v, "description", in.Description, false, 2000)
	p.Metadata = validMetadata(&v, in.Metadata)
	validLineCount(&v, "items", len(in.Items))
	for i, it := range in.Items {
		f := indexed("items", i)
		item := till.ProductItem{ID: s.ids.NewID(till.PrefixItem), Shippable: it.Shippable, StockEnabled: it.StockEnabled,
			OncePerUser: it.OncePerUser, CustomPrice: it.CustomPrice}
		item.Description = validText(&v, f+".description", it.Description, true, 500)
		item.Price, item.Currency = validPrice(&v, f+".price", it.Price, f+".currency", it.Currency, 0)
		item.SKU = validText(&v, f+".sku", it.SKU, false, 100)
		switch {
		case !validCount(&v, f+".weightGrams", it.WeightGrams):
		case it.WeightGrams > 0 && !it.Shippable:
			v.Add(f+".weightGrams", "weightGrams is only for shippable items")
		default:
			item.WeightGrams = it.WeightGrams
		}
		switch {
		case !validCount(&v, f+".stockAvailable", it.StockAvailable):
		case it.StockAvailable > 0 && !it.StockEnabled:
			v.Add(f+".stockAvailable", "stockAvailable needs stockEnabled")
		default:
			item.StockAvailable = it.StockAvailable
		}
		p.Items = append(p.Items, item)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.createCatalog(ctx, c, idem, p, nil, func(tx till.Tx) error {
		for i := range p.Items {
			n, err := tx.NextCatalogNumber(ctx, c.Scope(), till.CatalogItem)
			if err != nil {
				return err
			}
			p.Items[i].Number = n
		}
		return nil
	})
	return p, err
}

// CreateArticle creates an article.
func (s *Service) CreateArticle(ctx context.Context, c *Caller, idem *Idem, in ArticleParams) (*till.Article, error) {
	var v till.Validator
	a := &till.Article{CatalogEntry: s.newEntry(c, till.CatalogArticle, till.PrefixArticle, ""), CustomPrice: in.CustomPrice}
	a.Title = validText(&v, "title", in.Title, true, 200)
	a.Description = validText(&v, "description", in.Description, false, 2000)
	a.Price, a.Currency = validPrice(&v, "price", in.Price, "currency", in.Currency, 0)
	a.Metadata = validMetadata(&v, in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return a, s.createCatalog(ctx, c, idem, a, nil, nil)
}

// CreateCart creates a cart of a customer: lines of product items (by the
// product's and the item's ids) and articles, each at least once. The
// lines must exist when the cart is created; prices are taken when it is
// charged.
func (s *Service) CreateCart(ctx context.Context, c *Caller, idem *Idem, in CartParams) (*till.Cart, error) {
	var v till.Validator
	cart := &till.Cart{CatalogEntry: s.newEntry(c, till.CatalogCart, till.PrefixCart, "")}
	cart.CustomerID = validText(&v, "customerId", in.CustomerID, true, 255)
	cart.Metadata = validMetadata(&v, in.Metadata)
	cart.Lines = validCartLines(&v, in.Lines)
	if err := v.Err(); err != nil {
		return nil, err
	}
	scope := c.Scope()
	err := s.createCatalog(ctx, c, idem, cart, func(tx till.Tx) error {
		if cust, err := tx.Customer(ctx, scope, cart.CustomerID); err != nil || cust.Deleted {
			return paramNotFound("customer", cart.CustomerID, "customerId")
		}
		return checkCartLines(ctx, tx, scope, cart.Lines)
	}, nil)
	return cart, err
}

// CartUpdateParams changes a cart: Lines, when not nil, replace its lines;
// metadata keys set to "" are removed.
type CartUpdateParams struct {
	Lines    []CartLineParams
	Metadata till.Metadata
}

// UpdateCart replaces a cart's lines or changes its metadata.
func (s *Service) UpdateCart(ctx context.Context, c *Caller, idem *Idem, id string, in CartUpdateParams) (*till.Cart, error) {
	var v till.Validator
	var lines []till.CartLine
	if in.Lines != nil {
		lines = validCartLines(&v, in.Lines)
	}
	till.ValidateMetadata(&v, "metadata", in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := new(till.Cart)
	err := s.updateCatalog(ctx, c, idem, till.CatalogCart, id, out, func(tx till.Tx) error {
		if in.Lines != nil {
			if err := checkCartLines(ctx, tx, c.Scope(), lines); err != nil {
				return err
			}
			out.Lines = lines
		}
		out.Metadata = till.MergeMetadata(out.Metadata, in.Metadata)
		return nil
	})
	return out, err
}

// validCartLines checks the lines of a cart.
func validCartLines(v *till.Validator, in []CartLineParams) []till.CartLine {
	validLineCount(v, "lines", len(in))
	out := make([]till.CartLine, 0, len(in))
	for i, l := range in {
		f := indexed("lines", i)
		line := till.CartLine{ProductID: strings.TrimSpace(l.ProductID), ItemID: strings.TrimSpace(l.ItemID),
			ArticleID: strings.TrimSpace(l.ArticleID), Quantity: l.Quantity}
		switch {
		case line.ArticleID != "" && (line.ProductID != "" || line.ItemID != ""):
			v.Add(f, "a line is either productId with itemId, or articleId")
		case line.ArticleID == "" && (line.ProductID == "" || line.ItemID == ""):
			v.Add(f, "a line needs productId and itemId, or articleId")
		}
		if l.Quantity < 1 || l.Quantity > maxQuantity {
			v.Add(f+".quantity", "quantity must be between 1 and %d", maxQuantity)
		}
		out = append(out, line)
	}
	return out
}

// checkCartLines refuses cart lines whose product, item or article does
// not exist, naming each.
func checkCartLines(ctx context.Context, tx till.Tx, scope till.Scope, lines []till.CartLine) error {
	var v till.Validator
	for i, l := range lines {
		f := indexed("lines", i)
		if l.ArticleID != "" {
			if err := catalogObject(ctx, tx, scope, till.CatalogArticle, l.ArticleID, &till.Article{}); err != nil {
				v.Add(f+".articleId", "no such article: %s", l.ArticleID)
			}
			continue
		}
		var p till.Product
		if err := catalogObject(ctx, tx, scope, till.CatalogProduct, l.ProductID, &p); err != nil {
			v.Add(f+".productId", "no such product: %s", l.ProductID)
		} else if p.Item(l.ItemID, 0) == nil {
			v.Add(f+".itemId", "product %s has no item %s", l.ProductID, l.ItemID)
		}
	}
	return v.Err()
}

// CreateShippingRate creates the rate of a provider to a country in a
// currency; there is one per provider, country and currency.
func (s *Service) CreateShippingRate(ctx context.Context, c *Caller, idem *Idem, in ShippingRateParams) (*till.ShippingRate, error) {
	var v till.Validator
	r := &till.ShippingRate{}
	r.Provider = validText(&v, "provider", in.Provider, true, 100)
	if in.Country == "" {
		v.Add("country", "country is required (an ISO 3166-1 alpha-2 code)")
	} else if cc, ok := till.NormalizeCountry(in.Country); !ok {
		v.Add("country", "country must be an ISO 3166-1 alpha-2 code")
	} else {
		r.Country = cc
	}
	r.Amount, r.Currency = validPrice(&v, "amount", in.Amount, "currency", in.Currency, 0)
	validCount(&v, "maxWeightGrams", in.MaxWeightGrams)
	r.MaxWeightGrams = in.MaxWeightGrams
	if err := v.Err(); err != nil {
		return nil, err
	}
	r.CatalogEntry = s.newEntry(c, till.CatalogShippingRate, till.PrefixShippingRate, till.ShippingRateKey(r.Provider, r.Country, r.Currency))
	return r, s.createCatalog(ctx, c, idem, r, nil, nil)
}

// CreateCoupon creates a coupon; its code is unique among the account's
// coupons that are not deleted and matched without regard to case.
func (s *Service) CreateCoupon(ctx context.Context, c *Caller, idem *Idem, in CouponParams) (*till.Coupon, error) {
	var v till.Validator
	k := &till.Coupon{}
	k.Code = validText(&v, "code", in.Code, true, 64)
	if strings.ContainsAny(k.Code, " \t") {
		v.Add("code", "code cannot contain spaces")
	}
	switch {
	case in.PercentOff != "" && in.AmountOff != nil:
		v.Add("percentOff", "give percentOff or amountOff, not both")
	case in.PercentOff != "":
		r, ok := till.ParseRate(in.PercentOff)
		if !ok || r == 0 {
			v.Add("percentOff", "percentOff must be a decimal percentage above 0 and at most 100 with at most four decimals, such as \"12.5\"")
		}
		k.PercentOff = r
		if in.Currency != "" {
			v.Add("currency", "currency is only for amountOff")
		}
	case in.AmountOff != nil:
		k.AmountOff, k.Currency = validPrice(&v, "amountOff", in.AmountOff, "currency", in.Currency, 1)
	default:
		v.Add("percentOff", "percentOff or amountOff is required")
	}
	if in.ValidFrom != nil {
		t := in.ValidFrom.UTC()
		k.ValidFrom = &t
	}
	if in.ValidUntil != nil {
		t := in.ValidUntil.UTC()
		k.ValidUntil = &t
		if k.ValidFrom != nil && !t.After(*k.ValidFrom) {
			v.Add("validUntil", "validUntil must be after validFrom")
		}
	}
	if in.MaxRedemptions < 0 {
		v.Add("maxRedemptions", "maxRedemptions must be 0 (no limit) or more")
	}
	if in.MaxPerCustomer < 0 {
		v.Add("maxPerCustomer", "maxPerCustomer must be 0 (no limit) or more")
	}
	k.MaxRedemptions, k.MaxPerCustomer = in.MaxRedemptions, in.MaxPerCustomer
	k.Metadata = validMetadata(&v, in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	k.CatalogEntry = s.newEntry(c, till.CatalogCoupon, till.PrefixCoupon, couponKey(k.Code))
	return k, s.createCatalog(ctx, c, idem, k, nil, nil)
}

// couponKey is the stored key of a coupon code: codes match without regard
// to case.
func couponKey(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// ProductItemUpdateParams changes an item of a product; nil fields stay as
// they are.
type ProductItemUpdateParams struct {
	Price          *int64
	StockEnabled   *bool
	StockAvailable *int64
}

// UpdateProductItem changes the price or the stock of a product's item. The
// stock set is what can be sold from now on: units reserved by payments
// under way are not in it, and a failed payment's units are added to it
// when they come back.
func (s *Service) UpdateProductItem(ctx context.Context, c *Caller, idem *Idem, productID, itemID string, in ProductItemUpdateParams) (*till.Product, error) {
	var v till.Validator
	if in.Price != nil && (*in.Price < 0 || *in.Price > till.MaxAmount) {
		v.Add("price", "price must be between 0 and %d", till.MaxAmount)
	}
	if in.StockAvailable != nil {
		validCount(&v, "stockAvailable", *in.StockAvailable)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := new(till.Product)
	err := s.updateCatalog(ctx, c, idem, till.CatalogProduct, productID, out, func(tx till.Tx) error {
		it := out.Item(itemID, 0)
		if it == nil {
			return till.NotFound("item", itemID)
		}
		if in.Price != nil {
			it.Price = *in.Price
		}
		if in.StockEnabled != nil {
			it.StockEnabled = *in.StockEnabled
		}
		if in.StockAvailable != nil {
			it.StockAvailable = *in.StockAvailable
		}
		if it.StockAvailable > 0 && !it.StockEnabled {
			return till.ParamError(till.EValidation, "stockAvailable", "stockAvailable needs stockEnabled")
		}
		return nil
	})
	return out, err
}

// ProductUpdateParams changes a product; nil fields stay as they are,
// metadata keys set to "" are removed.
type ProductUpdateParams struct {
	Name        *string
	Description *string
	Metadata    till.Metadata
}

// UpdateProduct changes a product's name, description or metadata (its
// items change through UpdateProductItem).
func (s *Service) UpdateProduct(ctx context.Context, c *Caller, idem *Idem, id string, in ProductUpdateParams) (*till.Product, error) {
	var v till.Validator
	name, desc := optText(&v, "name", in.Name, true, 200), optText(&v, "description", in.Description, false, 2000)
	till.ValidateMetadata(&v, "metadata", in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := new(till.Product)
	err := s.updateCatalog(ctx, c, idem, till.CatalogProduct, id, out, func(till.Tx) error {
		setText(&out.Name, name)
		setText(&out.Description, desc)
		out.Metadata = till.MergeMetadata(out.Metadata, in.Metadata)
		return nil
	})
	return out, err
}

// ArticleUpdateParams changes an article; nil fields stay as they are,
// metadata keys set to "" are removed.
type ArticleUpdateParams struct {
	Title       *string
	Description *string
	Price       *int64
	CustomPrice *bool
	Metadata    till.Metadata
}

// UpdateArticle changes an article; a new price applies to charges from
// now on.
func (s *Service) UpdateArticle(ctx context.Context, c *Caller, idem *Idem, id string, in ArticleUpdateParams) (*till.Article, error) {
	var v till.Validator
	title, desc := optText(&v, "title", in.Title, true, 200), optText(&v, "description", in.Description, false, 2000)
	if in.Price != nil && (*in.Price < 0 || *in.Price > till.MaxAmount) {
		v.Add("price", "price must be between 0 and %d", till.MaxAmount)
	}
	till.ValidateMetadata(&v, "metadata", in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := new(till.Article)
	err := s.updateCatalog(ctx, c, idem, till.CatalogArticle, id, out, func(till.Tx) error {
		setText(&out.Title, title)
		setText(&out.Description, desc)
		if in.Price != nil {
			out.Price = *in.Price
		}
		if in.CustomPrice != nil {
			out.CustomPrice = *in.CustomPrice
		}
		out.Metadata = till.MergeMetadata(out.Metadata, in.Metadata)
		return nil
	})
	return out, err
}

// ShippingRateUpdateParams changes a shipping rate's amount or weight
// limit; nil fields stay as they are.
type ShippingRateUpdateParams struct {
	Amount         *int64
	MaxWeightGrams *int64
}

// UpdateShippingRate changes what a rate charges or how heavy an order it
// ships; its provider, country and currency (its key) stay.
func (s *Service) UpdateShippingRate(ctx context.Context, c *Caller, idem *Idem, id string, in ShippingRateUpdateParams) (*till.ShippingRate, error) {
	var v till.Validator
	if in.Amount != nil && (*in.Amount < 0 || *in.Amount > till.MaxAmount) {
		v.Add("amount", "amount must be between 0 and %d", till.MaxAmount)
	}
	if in.MaxWeightGrams != nil {
		validCount(&v, "maxWeightGrams", *in.MaxWeightGrams)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := new(till.ShippingRate)
	err := s.updateCatalog(ctx, c, idem, till.CatalogShippingRate, id, out, func(till.Tx) error {
		if in.Amount != nil {
			out.Amount = *in.Amount
		}
		if in.MaxWeightGrams != nil {
			out.MaxWeightGrams = *in.MaxWeightGrams
		}
		return nil
	})
	return out, err
}

// CouponUpdateParams changes a coupon's window and limits; nil fields stay
// as they are, metadata keys set to "" are removed.
type CouponUpdateParams struct {
	ValidFrom      *time.Time
	ValidUntil     *time.Time
	MaxRedemptions *int64
	MaxPerCustomer *int64
	Metadata       till.Metadata
}

// UpdateCoupon changes a coupon's validity window or limits (its code and
// discount stay: a new discount is a new coupon). A limit below what was
// already used stops further use.
func (s *Service) UpdateCoupon(ctx context.Context, c *Caller, idem *Idem, id string, in CouponUpdateParams) (*till.Coupon, error) {
	var v till.Validator
	if in.MaxRedemptions != nil && *in.MaxRedemptions < 0 {
		v.Add("maxRedemptions", "maxRedemptions must be 0 (no limit) or more")
	}
	if in.MaxPerCustomer != nil && *in.MaxPerCustomer < 0 {
		v.Add("maxPerCustomer", "maxPerCustomer must be 0 (no limit) or more")
	}
	till.ValidateMetadata(&v, "metadata", in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := new(till.Coupon)
	err := s.updateCatalog(ctx, c, idem, till.CatalogCoupon, id, out, func(till.Tx) error {
		if in.ValidFrom != nil {
			t := in.ValidFrom.UTC()
			out.ValidFrom = &t
		}
		if in.ValidUntil != nil {
			t := in.ValidUntil.UTC()
			out.ValidUntil = &t
		}
		if out.ValidFrom != nil && out.ValidUntil != nil && !out.ValidUntil.After(*out.ValidFrom) {
			return till.ParamError(till.EValidation, "validUntil", "validUntil must be after validFrom")
		}
		if in.MaxRedemptions != nil {
			out.MaxRedemptions = *in.MaxRedemptions
		}
		if in.MaxPerCustomer != nil {
			out.MaxPerCustomer = *in.MaxPerCustomer
		}
		out.Metadata = till.MergeMetadata(out.Metadata, in.Metadata)
		return nil
	})
	return out, err
}

// optText checks an optional text field of an update; nil means
// unchanged.
func optText(v *till.Validator, field string, in *string, required bool, max int) *string {
	if in == nil {
		return nil
	}
	t := validText(v, field, *in, required, max)
	return &t
}

// setText sets *dst to *val unless val is nil.
func setText(dst *string, val *string) {
	if val != nil {
		*dst = *val
	}
}
