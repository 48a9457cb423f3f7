package cms

import (
	"testing"

	"github.com/tillpay/till"
)

// TestErrorStatusCoversEveryCode checks that every error code has its HTTP
// status in the dialect's table.
func TestErrorStatusCoversEveryCode(t *testing.T) {
	for _, code := range till.Codes {
		if _, ok := errorStatus[code]; !ok {
			t.Errorf("code %s has no status", code)
		}
	}
}

func TestWireName(t *testing.T) {
	for in, want := range map[string]string{
		"shippingAddress.postalCode": "shipping_address.postal_code",
		"couponCode":                 "properties.coupon",
		"metadata.utm_source":        "properties.utm_source",
		"articleId[2]":               "articleId[2]",
		"cart.lines[1]":              "cartId.lines[1]",
		"item":                       "id",
		"articles[3]":                "articleId[3]",
		"ipCountry":                  "country",
		"paymentMethodId":            "token_id",
		"customPrice":                "price",
	} {
		if got := wireName(in); got != want {
			t.Errorf("wireName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDecodeExact checks ids and prices decoded exactly.
func TestDecodeExact(t *testing.T) {
	for _, tc := range []struct {
		body  string
		price int64
		field string
	}{
		{`{"articleId":1,"currency":"EUR","custom_price":19.99}`, 1999, ""},
		{`{"articleId":1,"currency":"KWD","custom_price":1.234}`, 1234, ""},
		{`{"articleId":1,"currency":"JPY","custom_price":1990}`, 1990, ""},
		{`{"articleId":1,"currency":"EUR","custom_price":1.234}`, 0, "custom_price"},
		{`{"articleId":1,"currency":"EUR","custom_price":0.1e1}`, 0, "custom_price"},
		{`{"productId":1,"id":1,"currency":"EUR","price":"12.5"}`, 1250, ""},
		{`{"productId":1,"id":1.5,"currency":"EUR"}`, 0, "id"},
		{`{"productId":1,"id":1,"currency":"EUR","custom_price":2}`, 0, "custom_price"},
		{`{"articleId":[1,"x"],"currency":"EUR"}`, 0, "articleId"},
	} {
		p, _, err := decodeCharge([]byte(tc.body), "cus_1")
		if tc.field != "" {
			if e, ok := till.AsError(err); !ok || e.Param != tc.field {
				t.Errorf("%s: %v, want an error about %s", tc.body, err, tc.field)
			}
			continue
		}
		if err != nil || p.CustomPrice == nil || *p.CustomPrice != tc.price {
			t.Errorf("%s: %+v, %v; want %d", tc.body, p.CustomPrice, err, tc.price)
		}
	}
}

// FuzzDecodeCharge checks that no body makes the decoder panic or accept a
// price it cannot represent.
func FuzzDecodeCharge(f *testing.F) {
	for _, s := range []string{`{"articleId":1,"currency":"EUR","custom_price":19.99}`, `{"cartId":"7","currency":"JPY"}`,
		`{"articleId":[1,2],"properties":{"coupon":"X"}}`, `{"productId":1e400}`, `[]`, `{"price":-0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, _, err := decodeCharge(body, "cus_1")
		if err == nil && p.CustomPrice != nil && (*p.CustomPrice < 0 || *p.CustomPrice > till.MaxAmount) {
			t.Fatalf("price %d accepted", *p.CustomPrice)
		}
	})
}
