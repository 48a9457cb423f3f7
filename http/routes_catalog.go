package http

import (
	"net/http"
	"strings"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// --- the catalogue: products, articles, carts, shipping rates, coupons

// catalogKind is what the routes of one kind of catalogue object share:
// its kind, a new value to decode into, and its wire form.
type catalogKind struct {
	kind   till.CatalogKind
	newObj func() till.CatalogObject
}

var (
	productKind      = catalogKind{till.CatalogProduct, func() till.CatalogObject { return new(till.Product) }}
	articleKind      = catalogKind{till.CatalogArticle, func() till.CatalogObject { return new(till.Article) }}
	cartKind         = catalogKind{till.CatalogCart, func() till.CatalogObject { return new(till.Cart) }}
	shippingRateKind = catalogKind{till.CatalogShippingRate, func() till.CatalogObject { return new(till.ShippingRate) }}
	couponKind       = catalogKind{till.CatalogCoupon, func() till.CatalogObject { return new(till.Coupon) }}
)

// catalogRoutes are the create, list, retrieve, update and delete routes
// of the catalogue, and the update of a product's item.
func (s *Server) catalogRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/v1/payments/charge-catalog", Summary: "Charge a customer's saved payment method for a cart, a product item or articles", auth: authSecret, h: s.chargeCatalog},
		{Method: "POST", Path: "/v1/products", Summary: "Create a product with its items", auth: authSecret, h: s.createProduct},
		{Method: "GET", Path: "/v1/products", Summary: "List products", auth: authSecret, h: s.listCatalog(productKind)},
		{Method: "GET", Path: "/v1/products/{id}", Summary: "Retrieve a product", auth: authSecret, h: s.getCatalog(productKind)},
		{Method: "PATCH", Path: "/v1/products/{id}", Summary: "Update a product", auth: authSecret, h: s.updateProduct},
		{Method: "DELETE", Path: "/v1/products/{id}", Summary: "Delete a product", auth: authSecret, h: s.deleteCatalog(productKind)},
		{Method: "PATCH", Path: "/v1/products/{id}/items/{itemId}", Summary: "Update an item's price or stock", auth: authSecret, h: s.updateProductItem},
		{Method: "POST", Path: "/v1/articles", Summary: "Create an article", auth: authSecret, h: s.createArticle},
		{Method: "GET", Path: "/v1/articles", Summary: "List articles", auth: authSecret, h: s.listCatalog(articleKind)},
		{Method: "GET", Path: "/v1/articles/{id}", Summary: "Retrieve an article", auth: authSecret, h: s.getCatalog(articleKind)},
		{Method: "PATCH", Path: "/v1/articles/{id}", Summary: "Update an article", auth: authSecret, h: s.updateArticle},
		{Method: "DELETE", Path: "/v1/articles/{id}", Summary: "Delete an article", auth: authSecret, h: s.deleteCatalog(articleKind)},
		{Method: "POST", Path: "/v1/carts", Summary: "Create a customer's cart", auth: authSecret, h: s.createCart},
		{Method: "GET", Path: "/v1/carts", Summary: "List carts", auth: authSecret, h: s.listCatalog(cartKind)},
		{Method: "GET", Path: "/v1/carts/{id}", Summary: "Retrieve a cart", auth: authSecret, h: s.getCatalog(cartKind)},
		{Method: "PATCH", Path: "/v1/carts/{id}", Summary: "Replace a cart's lines or change its metadata", auth: authSecret, h: s.updateCart},
		{Method: "DELETE", Path: "/v1/carts/{id}", Summary: "Delete a cart", auth: authSecret, h: s.deleteCatalog(cartKind)},
		{Method: "POST", Path: "/v1/shipping-rates", Summary: "Create a shipping rate", auth: authSecret, h: s.createShippingRate},
		{Method: "GET", Path: "/v1/shipping-rates", Summary: "List shipping rates", auth: authSecret, h: s.listCatalog(shippingRateKind)},
		{Method: "GET", Path: "/v1/shipping-rates/{id}", Summary: "Retrieve a shipping rate", auth: authSecret, h: s.getCatalog(shippingRateKind)},
		{Method: "PATCH", Path: "/v1/shipping-rates/{id}", Summary: "Update a shipping rate", auth: authSecret, h: s.updateShippingRate},
		{Method: "DELETE", Path: "/v1/shipping-rates/{id}", Summary: "Delete a shipping rate", auth: authSecret, h: s.deleteCatalog(shippingRateKind)},
		{Method: "POST", Path: "/v1/coupons", Summary: "Create a coupon", auth: authSecret, h: s.createCoupon},
		{Method: "GET", Path: "/v1/coupons", Summary: "List coupons", auth: authSecret, h: s.listCatalog(couponKind)},
		{Method: "GET", Path: "/v1/coupons/{id}", Summary: "Retrieve a coupon", auth: authSecret, h: s.getCatalog(couponKind)},
		{Method: "PATCH", Path: "/v1/coupons/{id}", Summary: "Update a coupon", auth: authSecret, h: s.updateCoupon},
		{Method: "DELETE", Path: "/v1/coupons/{id}", Summary: "Delete a coupon", auth: authSecret, h: s.deleteCatalog(couponKind)},
	}
}

// catalogView renders a catalogue object in its wire form.
func catalogView(o till.CatalogObject) any {
	switch v := o.(type) {
	case *till.Product:
		return api.ProductOf(v)
	case *till.Article:
		return api.ArticleOf(v)
	case *till.Cart:
		return api.CartOf(v)
	case *till.ShippingRate:
		return api.ShippingRateOf(v)
	case *till.Coupon:
		return api.CouponOf(v)
	}
	return o
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ProductCreate) (any, error) {
		p := service.ProductParams{Name: in.Name, Description: in.Description, Metadata: in.Metadata}
		for _, it := range in.Items {
			p.Items = append(p.Items, service.ProductItemParams{Description: it.Description, Price: it.Price, Currency: it.Currency,
				SKU: it.SKU, Shippable: it.Shippable, WeightGrams: it.WeightGrams, StockEnabled: it.StockEnabled,
				StockAvailable: it.StockAvailable, OncePerUser: it.OncePerUser, CustomPrice: it.CustomPrice})
		}
		return nilIfErr(s.svc.CreateProduct(r.Context(), c, idem, p))
	})
}

func (s *Server) updateProductItem(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ProductItemUpdate) (any, error) {
		return nilIfErr(s.svc.UpdateProductItem(r.Context(), c, idem, r.PathValue("id"), r.PathValue("itemId"),
			service.ProductItemUpdateParams{Price: in.Price, StockEnabled: in.StockEnabled, StockAvailable: in.StockAvailable}))
	})
}

func (s *Server) createArticle(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ArticleCreate) (any, error) {
		return nilIfErr(s.svc.CreateArticle(r.Context(), c, idem, service.ArticleParams{Title: in.Title, Description: in.Description,
			Price: in.Price, Currency: in.Currency, CustomPrice: in.CustomPrice, Metadata: in.Metadata}))
	})
}

func (s *Server) createCart(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.CartCreate) (any, error) {
		return nilIfErr(s.svc.CreateCart(r.Context(), c, idem, service.CartParams{CustomerID: in.CustomerID,
			Lines: cartLineParams(in.Lines), Metadata: in.Metadata}))
	})
}

func (s *Server) updateCart(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.CartUpdate) (any, error) {
		return nilIfErr(s.svc.UpdateCart(r.Context(), c, idem, r.PathValue("id"), service.CartUpdateParams{
			Lines: cartLineParams(in.Lines), Metadata: in.Metadata}))
	})
}

// cartLineParams converts cart lines; nil stays nil (no change).
func cartLineParams(in []api.CartLineInput) []service.CartLineParams {
	if in == nil {
		return nil
	}
	out := make([]service.CartLineParams, len(in))
	for i, l := range in {
		out[i] = service.CartLineParams{ProductID: l.ProductID, ItemID: l.ItemID, ArticleID: l.ArticleID, Quantity: l.Quantity}
	}
	return out
}

func (s *Server) createShippingRate(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ShippingRateCreate) (any, error) {
		return nilIfErr(s.svc.CreateShippingRate(r.Context(), c, idem, service.ShippingRateParams{Provider: in.Provider,
			Country: in.Country, Amount: in.Amount, Currency: in.Currency, MaxWeightGrams: in.MaxWeightGrams}))
	})
}

func (s *Server) createCoupon(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.CouponCreate) (any, error) {
		return nilIfErr(s.svc.CreateCoupon(r.Context(), c, idem, service.CouponParams{Code: in.Code, PercentOff: in.PercentOff,
			AmountOff: in.AmountOff, Currency: in.Currency, ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil,
			MaxRedemptions: in.MaxRedemptions, MaxPerCustomer: in.MaxPerCustomer, Metadata: in.Metadata}))
	})
}

func (s *Server) getCatalog(k catalogKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o := k.newObj()
		if err := s.svc.CatalogObject(r.Context(), callerOf(r).Caller, k.kind, r.PathValue("id"), o); err != nil {
			s.fail(w, r, err)
			return
		}
		s.ok(w, r, o)
	}
}

func (s *Server) listCatalog(k catalogKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := middleware.NewQuery(r, "limit", "startingAfter")
		page := q.Page("startingAfter")
		if err := q.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		objs, more, err := s.svc.ListCatalog(r.Context(), callerOf(r).Caller, k.kind, page, k.newObj)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out := make([]any, len(objs))
		for i, o := range objs {
			out[i] = catalogView(o)
		}
		s.list(w, out, more, lastID(len(objs), func(i int) string { return objs[i].Entry().ID }))
	}
}

func (s *Server) deleteCatalog(k catalogKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mutate(s, w, r, func(c *service.Caller, idem *idemRequest, _ struct{}) (any, error) {
			return nilIfErr(s.svc.DeleteCatalog(r.Context(), c, idem, k.kind, r.PathValue("id"), k.newObj()))
		})
	}
}

func (s *Server) updateProduct(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ProductUpdate) (any, error) {
		return nilIfErr(s.svc.UpdateProduct(r.Context(), c, idem, r.PathValue("id"), service.ProductUpdateParams{
			Name: in.Name, Description: in.Description, Metadata: in.Metadata}))
	})
}

func (s *Server) updateArticle(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ArticleUpdate) (any, error) {
		return nilIfErr(s.svc.UpdateArticle(r.Context(), c, idem, r.PathValue("id"), service.ArticleUpdateParams{
			Title: in.Title, Description: in.Description, Price: in.Price, CustomPrice: in.CustomPrice, Metadata: in.Metadata}))
	})
}

func (s *Server) updateShippingRate(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ShippingRateUpdate) (any, error) {
		return nilIfErr(s.svc.UpdateShippingRate(r.Context(), c, idem, r.PathValue("id"), service.ShippingRateUpdateParams{
			Amount: in.Amount, MaxWeightGrams: in.MaxWeightGrams}))
	})
}

func (s *Server) updateCoupon(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.CouponUpdate) (any, error) {
		return nilIfErr(s.svc.UpdateCoupon(r.Context(), c, idem, r.PathValue("id"), service.CouponUpdateParams{
			ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, MaxRedemptions: in.MaxRedemptions, MaxPerCustomer: in.MaxPerCustomer,
			Metadata: in.Metadata}))
	})
}

func (s *Server) chargeCatalog(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.CatalogChargeRequest) (any, error) {
		p := service.CatalogChargeParams{CustomerID: in.CustomerID, PaymentMethodID: in.PaymentMethodID, Currency: in.Currency,
			Cart: service.CatalogRef{ID: in.CartID}, Product: service.CatalogRef{ID: in.ProductID}, Item: service.CatalogRef{ID: in.ItemID},
			Quantity: in.Quantity, CustomPrice: in.CustomPrice, ShippingProvider: in.ShippingProvider,
			ShippingAddress: addressp(in.ShippingAddress), BillingAddress: addressp(in.BillingAddress), VATCountry: in.VATCountry,
			IPAddress: in.IPAddress, IPCountry: in.IPCountry, CouponCode: in.CouponCode, Source: in.Source, Page: in.Page,
			Button: in.Button, Metadata: in.Metadata}
		for _, id := range in.ArticleIDs {
			p.Articles = append(p.Articles, service.CatalogRef{ID: id})
		}
		out, err := s.svc.ChargeCatalog(r.Context(), c, idem, p)
		return nilIfErr(out, till.RenameFields(err, func(path string) string {
			seg, rest, _ := strings.Cut(path, ".")
			base, idx, _ := strings.Cut(seg, "[")
			if n, ok := catalogChargeNames[base]; ok {
				base = n
			}
			if idx != "" {
				base += "[" + idx
			}
			if rest != "" {
				return base + "." + rest
			}
			return base
		}))
	})
}

// catalogChargeNames are the wire names of the catalogue charge's fields
// whose domain names differ.
var catalogChargeNames = map[string]string{"cart": "cartId", "product": "productId", "item": "itemId", "articles": "articleIds"}
