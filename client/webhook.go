package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till/api"
)

// DefaultTolerance is how far a delivery's signing time may be from now.
const DefaultTolerance = 5 * time.Minute

// Errors of VerifySignature.
var (
	ErrNoSignature      = errors.New("till: no valid Till-Signature header")
	ErrSignatureInvalid = errors.New("till: no signature matches the payload under this secret")
	ErrSignatureExpired = errors.New("till: the signature's timestamp is outside the tolerance")
)

// VerifySignature checks a webhook delivery's Till-Signature header
// ("t=<unix>,v1=<hex>[,v1=<hex>…]") against its raw payload and the
// endpoint's secret: some v1 must be the HMAC-SHA256 of "<t>.<payload>"
// under the secret (compared in constant time), and t within tolerance of
// now (0 means DefaultTolerance). During a secret roll a delivery carries a
// v1 per secret; either verifies.
func VerifySignature(payload []byte, header, secret string, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(payload)
	want := m.Sum(nil)
	matched := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = true
		}
	}
	if !matched {
		return ErrSignatureInvalid
	}
	if d := time.Since(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %v ago", ErrSignatureExpired, d.Round(time.Second))
	}
	return nil
}

// ConstructEvent verifies a delivery (VerifySignature with the default
// tolerance) and decodes its event.
func ConstructEvent(payload []byte, header, secret string) (*api.Event, error) {
	if err := VerifySignature(payload, header, secret, 0); err != nil {
		return nil, err
	}
	var e api.Event
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, fmt.Errorf("till: decode event: %w", err)
	}
	return &e, nil
}
