package chip

import (
	"encoding/json"
	"net/http"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
)

// errorKind is the HTTP status and CHIP error code of a Till error code.
type errorKind struct {
	status int
	code   string
}

// errorKinds is the one table from Till's error codes to the dialect's
// statuses and codes (README.md shows it). CHIP answers a request it
// refuses with 400 and names the problem by its code; a declined charge is
// purchase_charge_error, whose attempt the purchase's transaction_data
// records. Codes not listed are internal errors.
var errorKinds = map[till.Code]errorKind{
	till.EValidation:          {http.StatusBadRequest, "invalid"},
	till.EParameterUnknown:    {http.StatusBadRequest, "unknown_field"},
	till.EInvalidJSON:         {http.StatusBadRequest, "parse_error"},
	till.EAmountTooSmall:      {http.StatusBadRequest, "min_value"},
	till.EAmountTooLarge:      {http.StatusBadRequest, "max_value"},
	till.ECurrencyUnsupported: {http.StatusBadRequest, "invalid_currency"},
	till.EBodyTooLarge:        {http.StatusRequestEntityTooLarge, "body_too_large"},
	till.EKeyMissing:          {http.StatusUnauthorized, "not_authenticated"},
	till.EKeyInvalid:          {http.StatusUnauthorized, "authentication_failed"},
	till.ECardDeclined:        {http.StatusBadRequest, "purchase_charge_error"},
	till.EPublishableKey:      {http.StatusForbidden, "permission_denied"},
	till.ELiveForbidden:       {http.StatusForbidden, "permission_denied"},
	till.EForbidden:           {http.StatusForbidden, "permission_denied"},
	till.ENotFound:            {http.StatusNotFound, "not_found"},
	till.EMethodNotAllowed:    {http.StatusMethodNotAllowed, "method_not_allowed"},
	till.EConflict:            {http.StatusBadRequest, "invalid_status"},
	till.EInProgress:          {http.StatusConflict, "request_in_progress"},
	till.EKeyReused:           {http.StatusUnprocessableEntity, "idempotency_key_reused"},
	till.ERateLimited:         {http.StatusTooManyRequests, "throttled"},
	till.EInternal:            {http.StatusInternalServerError, "internal_error"},
	till.EUnavailable:         {http.StatusServiceUnavailable, "service_unavailable"},
}

// errorItem is one problem in CHIP's error shape.
type errorItem struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

// allFields is the key of problems that concern no one field.
const allFields = "__all__"

// WriteError writes err in CHIP's error shape: an object whose keys are the
// offending fields (by their request path, such as
// "purchase.products[0].price"), or "__all__", each with a list of
// {message, code}. It is the dialect's middleware.ErrorWriter. An
// unexpected error shows only internal_error.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := till.AsError(err)
	if !ok {
		e = till.Internal(err)
	}
	k, ok := errorKinds[e.Code]
	if !ok {
		e, k = till.Internal(err), errorKinds[till.EInternal]
	}
	msg := e.Message
	switch e.Code {
	case till.EInternal:
		msg = "An internal error occurred. Request id: " + middleware.RequestID(r.Context())
	case till.ENotFound:
		msg = "Not found."
	}
	body := map[string][]errorItem{}
	switch {
	case e.Code == till.ECardDeclined:
		// CHIP names no field for a failed charge: the attempt tells why.
		body[allFields] = []errorItem{{Message: msg, Code: k.code}}
	case len(e.Fields) > 0:
		for _, f := range e.Fields {
			body[f.Field] = append(body[f.Field], errorItem{Message: f.Message, Code: k.code})
		}
	case e.Param != "" && (e.Code != till.ENotFound || e.Param != "id"):
		// A missing object named by a field of the body (client_id) is
		// that field's problem; one named by the path concerns all.
		body[e.Param] = []errorItem{{Message: msg, Code: k.code}}
	default:
		body[allFields] = []errorItem{{Message: msg, Code: k.code}}
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	if k.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(k.status)
	w.Write(append(b, '\n'))
}
