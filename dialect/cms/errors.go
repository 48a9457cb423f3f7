package cms

import (
	"net/http"
	"strings"

	"github.com/tillpay/till"
)

// errorKind is how the dialect answers one error code: its HTTP status.
// The body is always {"success": false, "error": {code, message, field,
// fields}} with the code as Till names it.
var errorStatus = map[till.Code]int{
	till.EValidation:          http.StatusBadRequest,
	till.EParameterUnknown:    http.StatusBadRequest,
	till.EInvalidJSON:         http.StatusBadRequest,
	till.EAmountTooSmall:      http.StatusBadRequest,
	till.EAmountTooLarge:      http.StatusBadRequest,
	till.ECurrencyUnsupported: http.StatusBadRequest,
	till.EBodyTooLarge:        http.StatusRequestEntityTooLarge,
	till.EKeyMissing:          http.StatusUnauthorized,
	till.EKeyInvalid:          http.StatusUnauthorized,
	till.ECardDeclined:        http.StatusPaymentRequired,
	till.EPublishableKey:      http.StatusForbidden,
	till.ELiveForbidden:       http.StatusForbidden,
	till.EForbidden:           http.StatusForbidden,
	till.ENotFound:            http.StatusNotFound,
	till.EConflict:            http.StatusConflict,
	till.EInProgress:          http.StatusConflict,
	till.EKeyReused:           http.StatusUnprocessableEntity,
	till.ERateLimited:         http.StatusTooManyRequests,
	till.EInternal:            http.StatusInternalServerError,
	till.EUnavailable:         http.StatusServiceUnavailable,
	till.EMethodNotAllowed:    http.StatusMethodNotAllowed,
}

// statusOf is the HTTP status of an error code; a code added to till
// after this table answers 500 until it is listed (a test checks that
// every code is).
func statusOf(code till.Code) int {
	if st, ok := errorStatus[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// wireNames renames the service's field paths to this dialect's wire names.
var wireNames = map[string]string{
	"customerId":       "customer",
	"paymentMethodId":  "token_id",
	"cart":             "cartId",
	"product":          "productId",
	"item":             "id",
	"articles":         "articleId",
	"customPrice":      "price",
	"shippingProvider": "shipping_provider",
	"shippingAddress":  "shipping_address",
	"billingAddress":   "address",
	"vatCountry":       "vat_country",
	"ipAddress":        "ip_address",
	"ipCountry":        "country",
	"couponCode":       "properties.coupon",
	"metadata":         "properties",
	"postalCode":       "postal_code",
	"amount":           "price",
}

// wireName renames one path, segment by segment (shippingAddress.postalCode
// is shipping_address.postal_code, cart.lines[2] is cartId.lines[2]). A
// wire name is never a domain path, so renaming twice changes nothing.
func wireName(path string) string {
	segs := strings.Split(path, ".")
	for i, s := range segs {
		base, idx, _ := strings.Cut(s, "[")
		if n, ok := wireNames[base]; ok {
			base = n
		}
		if idx != "" {
			base += "[" + idx
		}
		segs[i] = base
	}
	return strings.Join(segs, ".")
}

// Error is the dialect's error object.
type Error struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Field   string       `json:"field,omitempty"`
	Fields  []FieldError `json:"fields,omitempty"`
}

// FieldError names one bad field by its wire name.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorBody is the dialect's error envelope.
type errorBody struct {
	Success bool  `json:"success"`
	Error   Error `json:"error"`
}
