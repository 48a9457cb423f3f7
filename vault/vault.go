// Package vault validates and protects cardholder data.
//
// It has two halves. The first validates a card a merchant wants to save
// (NormalizeNumber, Brand, Luhn, ValidateCard) without ever repeating the
// number in an error message. The second is envelope encryption: master keys,
// given to the process by the operator (TILL_MASTER_KEY, or a key file in the
// data folder in development), wrap data keys, which are stored wrapped in the
// database; data keys seal card numbers (and other secrets) with AES-256-GCM
// and compute card fingerprints with HMAC-SHA256. A Keyring holds the
// unwrapped data keys in memory, rewraps data keys when the master key is
// rotated and makes new card data keys when the data key is rotated.
//
// CVCs are never sealed or stored: they live only in memory for the
// verification at save time. See docs/vault.md for the operator's view.
//
// The package imports only the standard library and package till.
package vault

import (
	"errors"
	"runtime"
)

// Errors returned by the package, wrapped with details that never include
// key material or plaintext. Test with errors.Is.
var (
	// ErrNoMasterKey is returned by Keyring methods when the Keyring was made
	// without any master key.
	ErrNoMasterKey = errors.New("vault: no master key configured")
	// ErrMissingMasterKey is returned by Keyring.Load when a stored data key
	// is wrapped by a master key the process was not given.
	ErrMissingMasterKey = errors.New("vault: master key not available")
	// ErrUnknownDataKey is returned by Keyring.Open for a data key ID the
	// Keyring has not loaded.
	ErrUnknownDataKey = errors.New("vault: unknown data key")
	// ErrCannotOpen is returned by Keyring.Open when sealed data is malformed
	// or fails authentication (wrong data key, wrong AAD or tampered bytes),
	// and by Keyring.Load when a wrapped data key cannot be unwrapped.
	ErrCannotOpen = errors.New("vault: cannot open sealed data")
	// ErrNotLoaded is returned by Keyring.Seal and Keyring.RotateDataKey
	// before Keyring.Load has succeeded.
	ErrNotLoaded = errors.New("vault: keyring not loaded")
)

// Destroy overwrites b with zeros. Call it on decrypted card numbers and key
// bytes once they are no longer needed, so they do not linger in memory. It
// is safe on a nil or empty slice. Copies that Go made elsewhere (for example
// by converting b to a string) are not reached.
func Destroy(b []byte) {
	clear(b)
	runtime.KeepAlive(b)
}
