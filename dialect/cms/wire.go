package cms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// ChargeRequest is the body of POST /cms/customer/payment/charge. Ids and
// prices are decoded as json.Number and parsed exactly: an id must be a
// positive integer, a price a decimal with at most the currency's minor-unit
// digits. cartId and articleId take their several shapes (RawMessage).
type ChargeRequest struct {
	CartID           json.RawMessage   `json:"cartId"`
	ProductID        json.Number       `json:"productId"`
	ID               json.Number       `json:"id"`
	ArticleID        json.RawMessage   `json:"articleId"`
	Price            json.Number       `json:"price"`
	CustomPrice      json.Number       `json:"custom_price"`
	Quantity         json.Number       `json:"quantity"`
	Currency         string            `json:"currency"`
	PaymentMethod    string            `json:"payment_method"`
	TokenID          string            `json:"token_id"`
	Address          *Address          `json:"address"`
	ShippingAddress  *Address          `json:"shipping_address"`
	ShippingProvider string            `json:"shipping_provider"`
	VATCountry       string            `json:"vat_country"`
	IPAddress        string            `json:"ip_address"`
	Country          string            `json:"country"`
	Source           string            `json:"source"`
	Page             string            `json:"page"`
	Button           string            `json:"button"`
	Properties       map[string]string `json:"properties"`
}

// Address is a billing or shipping address.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	State      string `json:"state"`
	Country    string `json:"country"`
}

func (a *Address) domain() *till.Address {
	if a == nil {
		return nil
	}
	return &till.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, State: a.State, Country: a.Country}
}

func addressOf(a *till.Address) *Address {
	if a == nil {
		return nil
	}
	return &Address{Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, State: a.State, Country: a.Country}
}

// couponProperties are the properties keys that carry a coupon code.
var couponProperties = []string{"coupon", "coupon_code"}

// decodeCharge decodes a charge body strictly (unknown fields refused) and
// turns it into the service's params, naming every bad field by its wire
// name. It also returns the wire name of the custom price sent (price or
// custom_price; empty when none).
func decodeCharge(body []byte, customerID string) (service.CatalogChargeParams, string, error) {
	var in ChargeRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return service.CatalogChargeParams{}, "", decodeError(err)
	}
	if dec.More() {
		return service.CatalogChargeParams{}, "", till.Errorf(till.EInvalidJSON, "The body must be one JSON object.")
	}
	var v till.Validator
	out := service.CatalogChargeParams{CustomerID: customerID, PaymentMethodID: strings.TrimSpace(in.TokenID), Currency: in.Currency,
		ShippingProvider: strings.TrimSpace(in.ShippingProvider), ShippingAddress: in.ShippingAddress.domain(),
		BillingAddress: in.Address.domain(), VATCountry: in.VATCountry, IPAddress: strings.TrimSpace(in.IPAddress),
		IPCountry: in.Country, Source: in.Source, Page: in.Page, Button: in.Button}
	switch pm := strings.ToLower(strings.TrimSpace(in.PaymentMethod)); pm {
	case "", "card":
	default:
		v.Add("payment_method", "payment_method must be card (the saved card named by token_id)")
	}
	if len(in.CartID) > 0 && string(in.CartID) != "null" {
		out.Cart = refOf(&v, "cartId", in.CartID, till.PrefixCart)
	}
	if in.ProductID != "" {
		out.Product = CatalogNumber(&v, "productId", in.ProductID)
	}
	if in.ID != "" {
		out.Item = CatalogNumber(&v, "id", in.ID)
	}
	if in.Quantity != "" {
		q, err := strconv.ParseInt(in.Quantity.String(), 10, 64)
		if err != nil {
			v.Add("quantity", "quantity must be an integer")
		} else {
			out.Quantity = &q
		}
	}
	if len(in.ArticleID) > 0 && string(in.ArticleID) != "null" {
		out.Articles = articles(&v, in.ArticleID)
	}
	cur, curOK := till.LookupCurrency(in.Currency)
	for _, p := range []struct {
		field string
		n     json.Number
	}{{"price", in.Price}, {"custom_price", in.CustomPrice}} {
		if p.n == "" {
			continue
		}
		if out.CustomPrice != nil {
			v.Add(p.field, "send price (for a product item) or custom_price (for an article), not both")
			continue
		}
		if !curOK {
			continue // the currency's own error says what is wrong
		}
		amount, ok := till.ParseAmount(p.n.String(), cur)
		if !ok {
			v.Add(p.field, "%s must be a decimal number of %s with at most %d decimals, such as %s", p.field, cur.Code, cur.Exponent,
				till.FormatAmount(1999, cur))
			continue
		}
		out.CustomPrice = &amount
	}
	if in.Price != "" && len(out.Articles) > 0 {
		v.Add("price", "price is the custom price of a product item; send custom_price for an article")
	}
	if in.CustomPrice != "" && out.Item != (service.CatalogRef{}) {
		v.Add("custom_price", "custom_price is the custom price of an article; send price for a product item")
	}
	out.Metadata = till.Metadata{}
	for k, val := range in.Properties {
		if isCoupon(k) {
			out.CouponCode = val
			continue
		}
		out.Metadata[k] = val
	}
	priceField := ""
	switch {
	case in.Price != "":
		priceField = "price"
	case in.CustomPrice != "":
		priceField = "custom_price"
	}
	return out, priceField, v.Err()
}

func isCoupon(key string) bool {
	for _, c := range couponProperties {
		if key == c {
			return true
		}
	}
	return false
}

// CatalogNumber parses a CMS integer id exactly: a positive integer, no
// fraction, no exponent.
func CatalogNumber(v *till.Validator, field string, n json.Number) service.CatalogRef {
	id, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || id < 1 {
		v.Add(field, "%s must be a positive integer", field)
		return service.CatalogRef{}
	}
	return service.CatalogRef{Number: id}
}

// refOf parses an id that is a CMS integer (a number or a string of
// digits) or a Till id with prefix.
func refOf(v *till.Validator, field string, raw json.RawMessage, prefix string) service.CatalogRef {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.HasPrefix(s, prefix) {
			return service.CatalogRef{ID: s}
		}
		return CatalogNumber(v, field, json.Number(s))
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&n) != nil {
		v.Add(field, "%s must be an integer or a string", field)
		return service.CatalogRef{}
	}
	return CatalogNumber(v, field, n)
}

// articles parses articleId: one integer or an array of them.
func articles(v *till.Validator, raw json.RawMessage) []service.CatalogRef {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var one json.Number
	if dec.Decode(&one) == nil {
		return []service.CatalogRef{CatalogNumber(v, "articleId", one)}
	}
	var many []json.Number
	dec = json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&many) != nil || len(many) == 0 {
		v.Add("articleId", "articleId must be an integer or a non-empty array of integers")
		return nil
	}
	out := make([]service.CatalogRef, len(many))
	for i, n := range many {
		out[i] = CatalogNumber(v, fmt.Sprintf("articleId[%d]", i), n)
	}
	return out
}

// decodeError explains a body that is not the request's JSON.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return till.ParamError(till.EParameterUnknown, name, "Unknown field %q.", name)
	case errors.As(err, &te):
		return till.ParamError(till.EValidation, te.Field, "%s must be a %s.", te.Field, jsonType(te.Type.String()))
	case errors.As(err, &se):
		return till.Errorf(till.EInvalidJSON, "The body is not valid JSON (at byte %d).", se.Offset)
	}
	return till.Errorf(till.EInvalidJSON, "The body must be a JSON object.")
}

func jsonType(goType string) string {
	switch {
	case goType == "string":
		return "string"
	case goType == "json.Number":
		return "number"
	case strings.HasPrefix(goType, "map["):
		return "object of strings"
	}
	return "object"
}
