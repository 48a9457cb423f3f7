package service

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/tillpay/till"
)

// KeyedRequest returns the Idem of a request made through api with the
// Idempotency-Key key, identified by its method, path and the SHA-256 of
// its body (the fingerprint the native API has always used; migration 6
// computes it the same way for the keys stored before it). It returns nil
// for an empty key, and a validation_error naming Idempotency-Key for a key
// longer than MaxIdempotencyKeyLen or with characters other than printable
// ASCII.
func KeyedRequest(api, key, method, path string, body []byte) (*Idem, error) {
	if key == "" {
		return nil, nil
	}
	if len(key) > MaxIdempotencyKeyLen || strings.ContainsFunc(key, func(c rune) bool { return c < 0x20 || c > 0x7e }) {
		return nil, till.ParamError(till.EValidation, "Idempotency-Key",
			"Idempotency-Key must be 1–%d printable ASCII characters", MaxIdempotencyKeyLen)
	}
	h := sha256.Sum256(body)
	return &Idem{API: api, Key: key, Fingerprint: method + " " + path + " " + hex.EncodeToString(h[:])}, nil
}
