package service

import (
	"crypto/sha256"
	"encoding/hex"
)

// KeyedRequest returns the Idem of a request made through api with the
// Idempotency-Key key, identified by its method, path and the SHA-256 of
// its body (the fingerprint the native API has always used; migration 6
// computes it the same way for the keys stored before it). It returns nil
// for an empty key, and a validation_error naming Idempotency-Key for a key
// longer than MaxIdempotencyKeyLen or with characters other than printable
// ASCII.
func KeyedRequest(api, key, method, path string, body []byte) (*Idem, error) {
	h := sha256.Sum256(body)
	return NewIdem(api, key, method+" "+path+" "+hex.EncodeToString(h[:]))
}
