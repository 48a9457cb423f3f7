package http

import (
	"errors"
	"net/http"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
)

// MaxBodyBytes is the largest request body accepted (1 MiB).
const MaxBodyBytes = 1 << 20

// readBody reads the request body up to MaxBodyBytes: a larger body is 413
// body_too_large, one that cannot be read 400 invalid_json.
func readBody(r *http.Request) ([]byte, error) {
	b, err := middleware.ReadBody(r, MaxBodyBytes)
	var be *middleware.BodyError
	switch {
	case errors.As(err, &be) && be.TooLarge:
		return nil, till.Errorf(till.EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
	case err != nil:
		return nil, till.Errorf(till.EInvalidJSON, "The request body could not be read.")
	}
	return b, nil
}

// decodeJSON decodes a JSON object body into v strictly (see
// middleware.DecodeJSON).
func decodeJSON(r *http.Request, body []byte, v any) error {
	return middleware.DecodeJSON(r, body, v)
}
