package http

import (
	"net/http"

	"github.com/tillpay/till"
)

// errorKind is the HTTP status and error type of a code.
type errorKind struct {
	status int
	typ    string
}

// errorKinds is the one table from error code to HTTP status and error type
// of the native API (SPEC §1).
var errorKinds = map[till.Code]errorKind{
	till.EValidation:          {http.StatusBadRequest, "invalid_request_error"},
	till.EParameterUnknown:    {http.StatusBadRequest, "invalid_request_error"},
	till.EInvalidJSON:         {http.StatusBadRequest, "invalid_request_error"},
	till.EAmountTooSmall:      {http.StatusBadRequest, "invalid_request_error"},
	till.EAmountTooLarge:      {http.StatusBadRequest, "invalid_request_error"},
	till.ECurrencyUnsupported: {http.StatusBadRequest, "invalid_request_error"},
	till.EBodyTooLarge:        {http.StatusRequestEntityTooLarge, "invalid_request_error"},
	till.EKeyMissing:          {http.StatusUnauthorized, "authentication_error"},
	till.EKeyInvalid:          {http.StatusUnauthorized, "authentication_error"},
	till.ECardDeclined:        {http.StatusPaymentRequired, "card_error"},
	till.EPublishableKey:      {http.StatusForbidden, "permission_error"},
	till.ELiveForbidden:       {http.StatusForbidden, "permission_error"},
	till.EForbidden:           {http.StatusForbidden, "permission_error"},
	till.ENotFound:            {http.StatusNotFound, "invalid_request_error"},
	till.EMethodNotAllowed:    {http.StatusMethodNotAllowed, "invalid_request_error"},
	till.EConflict:            {http.StatusConflict, "invalid_request_error"},
	till.EInProgress:          {http.StatusConflict, "idempotency_error"},
	till.EKeyReused:           {http.StatusUnprocessableEntity, "idempotency_error"},
	till.ERateLimited:         {http.StatusTooManyRequests, "rate_limit_error"},
	till.EInternal:            {http.StatusInternalServerError, "api_error"},
	till.EUnavailable:         {http.StatusServiceUnavailable, "api_error"},
}

// kindOf returns the status and type of err's code; unknown codes are
// internal errors.
func kindOf(code till.Code) errorKind {
	if k, ok := errorKinds[code]; ok {
		return k
	}
	return errorKinds[till.EInternal]
}
