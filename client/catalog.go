package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tillpay/till/api"
)

// CreateProduct creates a product with its items.
func (c *Client) CreateProduct(ctx context.Context, in api.ProductCreate, opts ...Option) (*api.Product, error) {
	return send[api.Product](ctx, c, http.MethodPost, "/v1/products", in, opts)
}

// Product returns a product.
func (c *Client) Product(ctx context.Context, id string) (*api.Product, error) {
	return get[api.Product](ctx, c, "/v1/products/"+url.PathEscape(id))
}

// UpdateProductItem changes an item's price or stock.
func (c *Client) UpdateProductItem(ctx context.Context, productID, itemID string, in api.ProductItemUpdate, opts ...Option) (*api.Product, error) {
	return send[api.Product](ctx, c, http.MethodPatch, "/v1/products/"+url.PathEscape(productID)+"/items/"+url.PathEscape(itemID), in, opts)
}

// CreateArticle creates an article.
func (c *Client) CreateArticle(ctx context.Context, in api.ArticleCreate, opts ...Option) (*api.Article, error) {
	return send[api.Article](ctx, c, http.MethodPost, "/v1/articles", in, opts)
}

// CreateCart creates a customer's cart.
func (c *Client) CreateCart(ctx context.Context, in api.CartCreate, opts ...Option) (*api.Cart, error) {
	return send[api.Cart](ctx, c, http.MethodPost, "/v1/carts", in, opts)
}

// CreateShippingRate creates a shipping rate.
func (c *Client) CreateShippingRate(ctx context.Context, in api.ShippingRateCreate, opts ...Option) (*api.ShippingRate, error) {
	return send[api.ShippingRate](ctx, c, http.MethodPost, "/v1/shipping-rates", in, opts)
}

// CreateCoupon creates a coupon.
func (c *Client) CreateCoupon(ctx context.Context, in api.CouponCreate, opts ...Option) (*api.Coupon, error) {
	return send[api.Coupon](ctx, c, http.MethodPost, "/v1/coupons", in, opts)
}

// Coupon returns a coupon.
func (c *Client) Coupon(ctx context.Context, id string) (*api.Coupon, error) {
	return get[api.Coupon](ctx, c, "/v1/coupons/"+url.PathEscape(id))
}

// Products returns a page of products, newest first.
func (c *Client) Products(ctx context.Context, p ListParams) (*List[api.Product], error) {
	return list[api.Product](ctx, c, "/v1/products", p)
}

// UpdateCart replaces a cart's lines or changes its metadata.
func (c *Client) UpdateCart(ctx context.Context, id string, in api.CartUpdate, opts ...Option) (*api.Cart, error) {
	return send[api.Cart](ctx, c, http.MethodPatch, "/v1/carts/"+url.PathEscape(id), in, opts)
}

// ChargeCatalog charges a customer's saved payment method for a cart, a
// product item or articles.
func (c *Client) ChargeCatalog(ctx context.Context, in api.CatalogChargeRequest, opts ...Option) (*api.Payment, error) {
	return send[api.Payment](ctx, c, http.MethodPost, "/v1/payments/charge-catalog", in, opts)
}
