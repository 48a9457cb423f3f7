package service

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// CatalogRef names a catalogue object by its id or, when ID is empty, by
// its per-account number (the CMS dialect's integer ids).
type CatalogRef struct {
	ID     string
	Number int64
}

func (r CatalogRef) set() bool { return r.ID != "" || r.Number != 0 }

func (r CatalogRef) String() string {
	if r.ID != "" {
		return r.ID
	}
	return fmt.Sprint(r.Number)
}

// CatalogChargeParams asks for an off-session charge of a customer's saved
// payment method for what the catalogue sells: a cart, one item of a
// product in a quantity, or one or several articles (exactly one of the
// three). CustomPrice, for a single item or article that allows it, is the
// unit price the buyer chose (at least the listed price). Shipping needs
// ShippingProvider and the country of ShippingAddress when something
// shippable is sold, and is refused otherwise. The tax country is
// VATCountry, else the billing address's country, else the customer's;
// IPAddress and IPCountry are recorded as evidence. CouponCode applies a
// coupon to the items (not to shipping).
type CatalogChargeParams struct {
	CustomerID       string
	PaymentMethodID  string
	Currency         string
	Cart             CatalogRef
	Product          CatalogRef
	Item             CatalogRef
	Quantity         *int64
	Articles         []CatalogRef
	CustomPrice      *int64
	ShippingProvider string
	ShippingAddress  *till.Address
	BillingAddress   *till.Address
	VATCountry       string
	IPAddress        string
	IPCountry        string
	CouponCode       string
	Source           string
	Page             string
	Button           string
	Metadata         till.Metadata
}

// catalogCharge is a validated catalogue charge: what it refers to, until
// resolve turns it into the order it sells.
type catalogCharge struct {
	in    CatalogChargeParams
	order *till.CatalogOrder
}

// ChargeCatalog charges a customer's saved payment method for catalogue
// objects, through the same units of work as Charge: the payment, with its
// line items and CatalogOrder, is recorded together with the reservation of its
// stock and claims (coupon redemptions, once-per-user items), before the
// processor is called. A request for more than an item has left is refused
// with state_conflict and nothing is charged; a customer session may charge
// only its own customer (forbidden otherwise). A payment that fails (or is
// canceled or expires) gives its stock and claims back in the unit of work
// of that move, and is not retried by the retry policy. It returns what
// Charge returns.
func (s *Service) ChargeCatalog(ctx context.Context, c *Caller, idem *Idem, in CatalogChargeParams) (*till.Payment, error) {
	if !c.sees(strings.TrimSpace(in.CustomerID)) {
		// A customer session buys for its own customer only.
		return nil, till.Errorf(till.EForbidden, "A customer session can only charge its own customer.")
	}
	req, err := validateCatalogCharge(in)
	if err != nil {
		return nil, err
	}
	return s.charge(ctx, c, idem, req)
}

// validateCatalogCharge checks a catalogue charge without the store.
func validateCatalogCharge(in CatalogChargeParams) (*chargeInput, error) {
	var v till.Validator
	out := &chargeInput{capture: true, sendReceipt: true, catalog: &catalogCharge{in: in}}
	out.customerID = validText(&v, "customerId", in.CustomerID, true, 255)
	out.catalog.in.CustomerID = out.customerID
	out.pmID = strings.TrimSpace(in.PaymentMethodID)
	out.currency, _ = validCurrency(&v, "currency", in.Currency)
	targets := 0
	for _, set := range []bool{in.Cart.set(), in.Product.set() || in.Item.set(), len(in.Articles) > 0} {
		if set {
			targets++
		}
	}
	switch {
	case targets == 0:
		v.Add("cart", "say what to charge for: cart, product with item (and quantity), or articles")
	case targets > 1:
		v.Add("cart", "charge for one of cart, product with item, or articles")
	}
	if in.Product.set() || in.Item.set() {
		if !in.Product.set() {
			v.Add("product", "product is required with item")
		}
		if !in.Item.set() {
			v.Add("item", "item is required with product")
		}
	}
	if in.Quantity != nil && !(in.Product.set() || in.Item.set()) {
		v.Add("quantity", "quantity is only for a product item (product with item)")
	} else if in.Quantity != nil && (*in.Quantity < 1 || *in.Quantity > maxQuantity) {
		v.Add("quantity", "quantity must be between 1 and %d", maxQuantity)
	}
	if len(in.Articles) > maxCatalogLines {
		v.Add("articles", "at most %d articles", maxCatalogLines)
	}
	if in.CustomPrice != nil {
		switch {
		case !(in.Item.set() || len(in.Articles) == 1):
			v.Add("customPrice", "a custom price is only for a single product item or a single article")
		case *in.CustomPrice < 0 || *in.CustomPrice > till.MaxAmount:
			v.Add("customPrice", "customPrice must be between 0 and %d", till.MaxAmount)
		}
	}
	if in.ShippingAddress != nil {
		a := validateAddress(&v, "shippingAddress", in.ShippingAddress)
		if a.Country == "" && !v.Has("shippingAddress.country") {
			v.Add("shippingAddress.country", "shippingAddress.country is required")
		}
		out.catalog.in.ShippingAddress = &a
	}
	if in.ShippingProvider != "" && in.ShippingAddress == nil {
		v.Add("shippingAddress", "shippingAddress is required with shippingProvider")
	}
	if in.BillingAddress != nil {
		a := validateAddress(&v, "billingAddress", in.BillingAddress)
		out.catalog.in.BillingAddress = &a
		out.taxCountry = a.Country
	}
	if in.VATCountry != "" {
		cc, ok := till.NormalizeCountry(in.VATCountry)
		if !ok {
			v.Add("vatCountry", "vatCountry must be an ISO 3166-1 alpha-2 code")
		}
		out.taxCountry = cc
		out.catalog.in.VATCountry = cc
	}
	if in.IPAddress != "" {
		if _, err := netip.ParseAddr(in.IPAddress); err != nil {
			v.Add("ipAddress", "ipAddress must be an IPv4 or IPv6 address")
		}
		if in.IPCountry == "" {
			v.Add("ipCountry", "ipCountry is required with ipAddress")
		}
	}
	if in.IPCountry != "" {
		cc, ok := till.NormalizeCountry(in.IPCountry)
		switch {
		case in.IPAddress == "":
			v.Add("ipCountry", "ipCountry is only sent with ipAddress")
		case !ok:
			v.Add("ipCountry", "ipCountry must be an ISO 3166-1 alpha-2 code")
		}
		out.catalog.in.IPCountry = cc
	}
	validText(&v, "couponCode", in.CouponCode, false, 64)
	validText(&v, "source", in.Source, false, 100)
	validText(&v, "page", in.Page, false, 2000)
	validText(&v, "button", in.Button, false, 200)
	till.ValidateMetadata(&v, "metadata", in.Metadata)
	out.metadata = till.MergeMetadata(nil, in.Metadata)
	return out, v.Err()
}

// resolve reads what the charge sells, in the read-only transaction of the
// charge, and fills the order: its amount, line items (the discount shared
// over the items, shipping as a line of its own) and description.
func (k *catalogCharge) resolve(ctx context.Context, tx till.Tx, scope till.Scope, o *order) error {
	in := k.in
	cur := o.currency
	ord := &till.CatalogOrder{ShippingAddress: in.ShippingAddress, VATCountry: in.VATCountry,
		Evidence: till.TaxEvidence{IPAddress: in.IPAddress, Country: in.IPCountry},
		Source:   strings.TrimSpace(in.Source), Page: strings.TrimSpace(in.Page), Button: strings.TrimSpace(in.Button)}
	var v till.Validator
	type want struct {
		product, item, article CatalogRef
		qty                    int64
		field                  string
	}
	var wants []want
	switch {
	case in.Cart.set():
		var cart till.Cart
		if err := readRef(ctx, tx, scope, till.CatalogCart, in.Cart, &cart); err != nil || cart.CustomerID != in.CustomerID {
			return paramNotFound("cart", in.Cart.String(), "cart")
		}
		ord.CartID = cart.ID
		for i, l := range cart.Lines {
			wants = append(wants, want{product: CatalogRef{ID: l.ProductID}, item: CatalogRef{ID: l.ItemID},
				article: CatalogRef{ID: l.ArticleID}, qty: l.Quantity, field: indexed("cart.lines", i)})
		}
	case in.Product.set():
		q := int64(1)
		if in.Quantity != nil {
			q = *in.Quantity
		}
		wants = append(wants, want{product: in.Product, item: in.Item, qty: q, field: "item"})
	default:
		for i, r := range in.Articles {
			wants = append(wants, want{article: r, qty: 1, field: indexed("articles", i)})
		}
	}
	shippable := false
	var weight int64
	products := map[string]*till.Product{}
	for _, w := range wants {
		var line till.CatalogLine
		var custom bool
		var currency string
		if w.article.set() {
			var art till.Article
			if err := readRef(ctx, tx, scope, till.CatalogArticle, w.article, &art); err != nil {
				v.Add(w.field, "no such article: %s", w.article)
				continue
			}
			line = till.CatalogLine{Kind: till.CatalogArticle, ArticleID: art.ID, ArticleNumber: art.Number, Description: art.Title,
				Quantity: w.qty, UnitPrice: art.Price}
			custom, currency = art.CustomPrice, art.Currency
		} else {
			p := products[w.product.String()]
			if p == nil {
				p = new(till.Product)
				if err := readRef(ctx, tx, scope, till.CatalogProduct, w.product, p); err != nil {
					v.Add(w.field, "no such product: %s", w.product)
					continue
				}
				products[w.product.String()] = p
			}
			it := p.Item(w.item.ID, w.item.Number)
			if it == nil {
				v.Add(w.field, "product %s has no item %s", w.product, w.item)
				continue
			}
			line = till.CatalogLine{Kind: till.CatalogItem, ProductID: p.ID, ProductNumber: p.Number, ProductName: p.Name,
				ItemID: it.ID, ItemNumber: it.Number, Description: p.Name + " – " + it.Description, SKU: it.SKU,
				Quantity: w.qty, UnitPrice: it.Price, Shippable: it.Shippable, WeightGrams: it.WeightGrams, OncePerUser: it.OncePerUser}
			custom, currency = it.CustomPrice, it.Currency
			if it.Shippable {
				shippable = true
				weight += it.WeightGrams * w.qty
			}
			if it.StockEnabled && it.StockAvailable < w.qty {
				return outOfStock(w.field, it, p)
			}
		}
		if currency != cur.Code {
			v.Add(w.field, "%s is priced in %s, not %s", line.Description, currency, cur.Code)
		}
		if in.CustomPrice != nil {
			switch {
			case !custom:
				v.Add("customPrice", "%s has a fixed price", line.Description)
			case *in.CustomPrice < line.UnitPrice:
				v.Add("customPrice", "customPrice must be at least the listed price, %s %s", till.FormatAmount(line.UnitPrice, cur), cur.Code)
			default:
				line.UnitPrice = *in.CustomPrice
			}
		}
		line.Amount = line.Quantity * line.UnitPrice // quantity ≤ 10⁴, price ≤ MaxAmount: checked below
		if line.UnitPrice > 0 && line.Quantity > till.MaxAmount/line.UnitPrice {
			v.AddCode(till.EAmountTooLarge, w.field, "quantity × price can be at most %d", till.MaxAmount)
			continue
		}
		ord.Subtotal += line.Amount
		if ord.Subtotal > till.MaxAmount {
			return till.ParamError(till.EAmountTooLarge, "amount", "the order can be at most %d", till.MaxAmount)
		}
		ord.Lines = append(ord.Lines, line)
	}
	if err := v.Err(); err != nil {
		return err
	}
	var rate *till.ShippingRate
	switch {
	case shippable && in.ShippingProvider == "":
		return till.ParamError(till.EValidation, "shippingProvider", "shippingProvider and shippingAddress are required: the order has shippable items")
	case !shippable && in.ShippingProvider != "":
		return till.ParamError(till.EValidation, "shippingProvider", "nothing in this order is shippable; send no shippingProvider")
	case shippable:
		rate = new(till.ShippingRate)
		country := in.ShippingAddress.Country
		if err := tx.CatalogObjectByKey(ctx, scope, till.CatalogShippingRate, till.ShippingRateKey(strings.TrimSpace(in.ShippingProvider), country, cur.Code), rate); err != nil {
			if isNotFound(err) {
				return till.ParamError(till.EValidation, "shippingProvider", "%s does not ship to %s in %s", in.ShippingProvider, country, cur.Code)
			}
			return err
		}
		if rate.MaxWeightGrams > 0 && weight > rate.MaxWeightGrams {
			return till.ParamError(till.EValidation, "shippingProvider", "the order weighs %d g; %s ships at most %d g to %s", weight, rate.Provider, rate.MaxWeightGrams, country)
		}
		ord.Shipping, ord.ShippingRateID, ord.ShippingProvider = rate.Amount, rate.ID, rate.Provider
	}
	if code := strings.TrimSpace(in.CouponCode); code != "" {
		var cp till.Coupon
		if err := tx.CatalogObjectByKey(ctx, scope, till.CatalogCoupon, couponKey(code), &cp); err != nil {
			if isNotFound(err) {
				return till.ParamError(till.EValidation, "couponCode", "no such coupon: %s", code)
			}
			return err
		}
		d, err := couponDiscount(&cp, ord.Subtotal, cur)
		if err != nil {
			return err
		}
		ord.Discount, ord.CouponID, ord.CouponCode = d, cp.ID, cp.Code
	}
	o.amount = ord.Subtotal - ord.Discount + ord.Shipping
	if o.amount < 1 {
		return till.ParamError(till.EAmountTooSmall, "amount", "the order's total is %s %s; a charge must be at least 1 minor unit", till.FormatAmount(o.amount, cur), cur.Code)
	}
	o.lines = orderLineItems(ord, rate, cur)
	o.description = orderDescription(ord)
	k.order = ord
	return nil
}

// readRef reads the catalogue object r names that is not deleted.
func readRef(ctx context.Context, tx till.Tx, scope till.Scope, kind till.CatalogKind, r CatalogRef, into till.CatalogObject) error {
	if r.ID != "" {
		return catalogObject(ctx, tx, scope, kind, r.ID, into)
	}
	if err := tx.CatalogObjectByNumber(ctx, scope, kind, r.Number, into); err != nil {
		return err
	}
	if into.Entry().Deleted {
		return till.NotFound(string(kind), r.String())
	}
	return nil
}

// outOfStock is the refusal of a line for more units than its item has.
func outOfStock(field string, it *till.ProductItem, p *till.Product) error {
	if it.StockAvailable == 0 {
		return till.ParamError(till.EConflict, field, "%s – %s is out of stock", p.Name, it.Description)
	}
	return till.ParamError(till.EConflict, field, "only %d of %s – %s left", it.StockAvailable, p.Name, it.Description)
}

// couponDiscount is what coupon cp takes off a subtotal: PercentOff of it,
// rounded half up, or AmountOff in the same currency, never more than the
// subtotal.
func couponDiscount(cp *till.Coupon, subtotal int64, cur till.Currency) (int64, error) {
	if cp.PercentOff > 0 {
		d, ok := till.MulDiv(subtotal, int64(cp.PercentOff), till.RateScale)
		if !ok {
			return 0, till.Internal(fmt.Errorf("service: discount of %d at %s overflowed", subtotal, cp.PercentOff))
		}
		return d, nil
	}
	if cp.Currency != cur.Code {
		return 0, till.ParamError(till.EValidation, "couponCode", "coupon %s takes off %s, not %s", cp.Code, cp.Currency, cur.Code)
	}
	return min(cp.AmountOff, subtotal), nil
}

// orderLineItems are the payment's line items of an order: its lines, the
// discount shared over them in proportion to their amounts (a line whose
// share does not divide by its quantity is shown as one line of its
// total), and shipping as a line of its own.
func orderLineItems(ord *till.CatalogOrder, rate *till.ShippingRate, cur till.Currency) []till.LineItem {
	shares := make([]int64, len(ord.Lines))
	if ord.Discount > 0 && ord.Subtotal > 0 {
		var given int64
		for i, l := range ord.Lines {
			shares[i], _, _ = till.MulDivFloor(ord.Discount, l.Amount, ord.Subtotal)
			given += shares[i]
		}
		for i := 0; given < ord.Discount; i = (i + 1) % len(ord.Lines) {
			if shares[i] < ord.Lines[i].Amount {
				shares[i]++
				given++
			}
		}
	}
	var out []till.LineItem
	for i, l := range ord.Lines {
		li := till.LineItem{Description: l.Description, Quantity: l.Quantity, UnitAmount: l.UnitPrice, Amount: l.Amount}
		if d := shares[i]; d > 0 {
			li.Amount -= d
			li.Description = fmt.Sprintf("%s (coupon %s: −%s %s)", l.Description, ord.CouponCode, till.FormatAmount(d, cur), cur.Code)
			if d%l.Quantity == 0 {
				li.UnitAmount -= d / l.Quantity
			} else {
				li.Description = fmt.Sprintf("%d × %s", l.Quantity, li.Description)
				li.Quantity, li.UnitAmount = 1, li.Amount
			}
		}
		out = append(out, li)
	}
	if rate != nil {
		out = append(out, till.LineItem{Description: "Shipping (" + rate.Provider + ", " + rate.Country + ")", Quantity: 1,
			UnitAmount: rate.Amount, Amount: rate.Amount})
	}
	return out
}

// orderDescription is a payment's description of an order.
func orderDescription(ord *till.CatalogOrder) string {
	if len(ord.Lines) == 1 {
		l := ord.Lines[0]
		if l.Quantity == 1 {
			return l.Description
		}
		return fmt.Sprintf("%d × %s", l.Quantity, l.Description)
	}
	return fmt.Sprintf("Order of %d lines", len(ord.Lines))
}

// reserveOrder takes what the order of p needs, in the unit of work that
// records p: each item's units from its stock, a claim of each
// once-per-user item and of the coupon. It reads the products and the
// coupon again inside the unit (PostgreSQL locks them), so concurrent
// charges of the last unit take turns and exactly one gets it. It may run
// again when the unit is retried: it starts from the order as resolved.
func (s *Service) reserveOrder(ctx context.Context, tx till.Tx, scope till.Scope, p *till.Payment, now time.Time) error {
	ord := p.CatalogOrder
	products, order, err := productsOf(ctx, tx, scope, ord.Lines, func(l till.CatalogLine) bool { return l.Kind == till.CatalogItem }, true)
	if err != nil {
		return err
	}
	for i := range ord.Lines {
		l := &ord.Lines[i]
		l.StockReserved = false
		if l.Kind != till.CatalogItem {
			continue
		}
		prod := products[l.ProductID]
		it := prod.Item(l.ItemID, 0)
		field := "item"
		if ord.CartID != "" {
			field = "cart"
		}
		if it == nil {
			return till.Conflict("%s is no longer sold.", l.Description)
		}
		if it.StockEnabled {
			if it.StockAvailable < l.Quantity {
				return outOfStock(field, it, prod)
			}
			it.StockAvailable -= l.Quantity
			l.StockReserved = true
		}
		if it.OncePerUser {
			n, err := tx.CountCatalogClaims(ctx, scope, till.CatalogItem, it.ID, p.CustomerID)
			if err != nil {
				return err
			}
			if n > 0 || l.Quantity > 1 {
				return till.ParamError(till.EConflict, field, "%s can be bought once per customer", l.Description)
			}
			if err := tx.CreateCatalogClaim(ctx, &till.CatalogClaim{AccountID: scope.AccountID, Livemode: scope.Livemode,
				Kind: till.CatalogItem, ObjectID: it.ID, CustomerID: p.CustomerID, PaymentID: p.ID, CreatedAt: now}); err != nil {
				return err
			}
		}
	}
	for _, id := range order {
		// Every product sold is written, so that a once-per-user claim
		// conflicts with a concurrent one as a stock change does.
		if err := s.bumpCatalog(ctx, tx, products[id], now); err != nil {
			return err
		}
	}
	if ord.CouponID == "" {
		return nil
	}
	var cp till.Coupon
	if err := catalogObject(ctx, tx, scope, till.CatalogCoupon, ord.CouponID, &cp); err != nil {
		return till.ParamError(till.EValidation, "couponCode", "no such coupon: %s", ord.CouponCode)
	}
	if err := couponUsable(ctx, tx, scope, &cp, p.CustomerID, now); err != nil {
		return err
	}
	cp.Redeemed++
	if err := tx.CreateCatalogClaim(ctx, &till.CatalogClaim{AccountID: scope.AccountID, Livemode: scope.Livemode,
		Kind: till.CatalogCoupon, ObjectID: cp.ID, CustomerID: p.CustomerID, PaymentID: p.ID, CreatedAt: now}); err != nil {
		return err
	}
	return s.bumpCatalog(ctx, tx, &cp, now)
}

// productsOf reads the products of the lines that want selects, in the
// order of their ids, so that concurrent units of work lock the products
// they share in the same order (PostgreSQL locks what a unit reads) and
// never wait for each other in a circle. With live, a deleted product is
// refused as no longer sold. It returns the products by id and their ids
// in that order.
func productsOf(ctx context.Context, tx till.Tx, scope till.Scope, lines []till.CatalogLine, want func(till.CatalogLine) bool, live bool) (map[string]*till.Product, []string, error) {
	names := map[string]string{}
	var ids []string
	for _, l := range lines {
		if want(l) && names[l.ProductID] == "" {
			names[l.ProductID] = l.ProductName
			ids = append(ids, l.ProductID)
		}
	}
	slices.Sort(ids)
	products := make(map[string]*till.Product, len(ids))
	for _, id := range ids {
		prod := new(till.Product)
		if live {
			if err := catalogObject(ctx, tx, scope, till.CatalogProduct, id, prod); err != nil {
				return nil, nil, till.Conflict("%s is no longer sold.", names[id])
			}
		} else if err := tx.CatalogObject(ctx, scope, till.CatalogProduct, id, prod); err != nil {
			return nil, nil, err
		}
		products[id] = prod
	}
	return products, ids, nil
}

// couponUsable refuses a coupon outside its validity window on the
// account's clock or at one of its limits.
func couponUsable(ctx context.Context, tx till.Tx, scope till.Scope, cp *till.Coupon, customerID string, now time.Time) error {
	switch {
	case cp.ValidFrom != nil && now.Before(*cp.ValidFrom):
		return till.ParamError(till.EValidation, "couponCode", "coupon %s is valid from %s", cp.Code, cp.ValidFrom.Format(time.RFC3339))
	case cp.ValidUntil != nil && !now.Before(*cp.ValidUntil):
		return till.ParamError(till.EValidation, "couponCode", "coupon %s expired at %s", cp.Code, cp.ValidUntil.Format(time.RFC3339))
	case cp.MaxRedemptions > 0 && cp.Redeemed >= cp.MaxRedemptions:
		return till.ParamError(till.EConflict, "couponCode", "coupon %s has been used as often as it can be", cp.Code)
	}
	if cp.MaxPerCustomer > 0 {
		n, err := tx.CountCatalogClaims(ctx, scope, till.CatalogCoupon, cp.ID, customerID)
		if err != nil {
			return err
		}
		if n >= cp.MaxPerCustomer {
			return till.ParamError(till.EConflict, "couponCode", "coupon %s can be used %d times per customer", cp.Code, cp.MaxPerCustomer)
		}
	}
	return nil
}

// bumpCatalog stores a changed catalogue object with a new version.
func (s *Service) bumpCatalog(ctx context.Context, tx till.Tx, o till.CatalogObject, now time.Time) error {
	e := o.Entry()
	from := e.Version
	e.Version++
	e.UpdatedAt = now
	return tx.UpdateCatalogObject(ctx, o, from)
}

// releaseOrder gives back what the order of a payment that did not take
// the money reserved: the units to their items' stock, the coupon's
// redemption and the claims. It runs once per payment (CatalogOrder.Released);
// a payment without an order is left alone.
func (s *Service) releaseOrder(ctx context.Context, tx till.Tx, scope till.Scope, p *till.Payment, now time.Time) error {
	ord := p.CatalogOrder
	if ord == nil || ord.Released {
		return nil
	}
	ord.Released = true
	// A deleted product gets its units back too, so that its stock stays
	// the count of what was not sold.
	reserved := func(l till.CatalogLine) bool { return l.StockReserved }
	products, order, err := productsOf(ctx, tx, scope, ord.Lines, reserved, false)
	if err != nil {
		return err
	}
	for _, l := range ord.Lines {
		if !reserved(l) {
			continue
		}
		if it := products[l.ProductID].Item(l.ItemID, 0); it != nil {
			it.StockAvailable += l.Quantity
		}
	}
	for _, id := range order {
		if err := s.bumpCatalog(ctx, tx, products[id], now); err != nil {
			return err
		}
	}
	if ord.CouponID != "" {
		var cp till.Coupon
		if err := tx.CatalogObject(ctx, scope, till.CatalogCoupon, ord.CouponID, &cp); err != nil {
			return err
		}
		cp.Redeemed = max(cp.Redeemed-1, 0)
		if err := s.bumpCatalog(ctx, tx, &cp, now); err != nil {
			return err
		}
	}
	return tx.DeleteCatalogClaims(ctx, scope, p.ID)
}
