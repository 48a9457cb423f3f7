package vault

import (
	"bytes"
	"cmp"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tillpay/till"
)

// DataKeySize is the size of a data key in bytes (AES-256, HMAC-SHA256).
const DataKeySize = 32

// FingerprintLen is the length of a card fingerprint: 16 base64url
// characters, 96 bits of HMAC-SHA256.
const FingerprintLen = 16

// Format versions, the first byte of wrapped data keys and sealed data, so
// that a later format can be introduced next to this one.
const (
	wrapV1   = 1
	sealedV1 = 1
)

// Labels bound into the AAD of wrapped keys and sealed data.
const (
	wrapAADLabel   = "till/vault/data-key/v1\x00"
	sealedAADLabel = "till/vault/sealed/v1\x00"
)

// Keyring holds the unwrapped data keys of a Till process. It seals and opens
// card numbers under card data keys, computes card fingerprints under the
// fingerprint data key, and wraps data keys under the primary master key.
//
// Make one with NewKeyring and call Load with the stored data keys before
// anything else. Seal, Open and Fingerprint are safe for concurrent use with
// each other and with Load and RotateDataKey. Its String, GoString and Format
// methods never show key material.
type Keyring struct {
	// master holds the master key IDs, primary first; the keys themselves
	// are kept only as the AEADs in kek.
	master []string
	kek    map[string]cipher.AEAD // master key ID → AEAD that wraps data keys
	ids    func(prefix string) string
	now    func() time.Time

	mu   sync.RWMutex
	keys map[string]*dataKey // by data key ID; entries are never modified, only replaced
	card *dataKey            // the active card key: Seal uses it
	fp   *dataKey            // the fingerprint key: never replaced once chosen
}

// dataKey is an unwrapped data key, immutable once made.
type dataKey struct {
	rec  till.DataKey // as stored, wrapped under rec.MasterKeyID
	aead cipher.AEAD  // card keys
	macs *sync.Pool   // fingerprint keys: of hash.Hash, HMAC-SHA256 under the key
}

// NewKeyring returns a Keyring using the given master keys, the first of
// which is the primary. ids makes data key IDs (called with till.PrefixDataKey)
// and now stamps their creation; nil means till.RandomIDs and the system
// clock. A Keyring made without master keys returns ErrNoMasterKey from Load.
func NewKeyring(master []MasterKey, ids func(prefix string) string, now func() time.Time) *Keyring {
	if ids == nil {
		ids = till.RandomIDs{}.NewID
	}
	if now == nil {
		now = till.SystemClock{}.Now
	}
	k := &Keyring{
		kek:  make(map[string]cipher.AEAD, len(master)),
		ids:  ids,
		now:  now,
		keys: map[string]*dataKey{},
	}
	for _, mk := range master {
		if _, dup := k.kek[mk.ID]; dup || mk.key == nil {
			continue
		}
		wk := mk.wrappingKey()
		aead, err := newAEAD(wk)
		Destroy(wk)
		if err != nil {
			// Unreachable: the key is always 32 bytes.
			panic("vault: " + err.Error())
		}
		k.kek[mk.ID] = aead
		k.master = append(k.master, mk.ID)
	}
	return k
}

// newAEAD returns AES-256-GCM under key with random 96-bit nonces prefixed to
// the ciphertext.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// Load unwraps the stored data keys and makes the Keyring ready. It returns
// the data keys it had to create (an active card key and the fingerprint key,
// when missing) and copies of the stored keys that were wrapped by a master
// key other than the primary, now rewrapped under the primary; the caller
// must store both (create and update) before serving, so that sealed data
// never depends on a key the database does not hold. existing is not
// modified.
//
// The fingerprint key is created only when no fingerprint key exists at all;
// once created it is only ever rewrapped, so fingerprints stay stable. When
// several card keys are active the newest seals.
//
// Load may be called again with the full stored list to pick up keys another
// process created (for example a data key rotation run from the command
// line); stored Active flags then replace the in-memory ones.
//
// Load returns an error wrapping ErrMissingMasterKey, naming the master key
// ID, if a data key is wrapped by a master key the Keyring was not given;
// ErrCannotOpen if a wrapped key fails authentication; ErrNoMasterKey without
// master keys; and an error for a nil, duplicate or unknown-purpose record.
// On error the Keyring is unchanged. The server must refuse to start on any
// of them.
func (k *Keyring) Load(existing []*till.DataKey) (created, rewrapped []*till.DataKey, err error) {
	if len(k.master) == 0 {
		return nil, nil, ErrNoMasterKey
	}
	primary := k.master[0]
	loaded := make([]*dataKey, 0, len(existing))
	seen := make(map[string]bool, len(existing))
	for i, stored := range existing {
		if stored == nil {
			return nil, nil, fmt.Errorf("vault: data key %d of %d is nil", i+1, len(existing))
		}
		if seen[stored.ID] {
			return nil, nil, fmt.Errorf("vault: data key %s is listed twice", stored.ID)
		}
		seen[stored.ID] = true
		rec := copyRecord(stored)
		raw, err := k.unwrap(&rec)
		if err != nil {
			return nil, nil, err
		}
		if rec.MasterKeyID != primary {
			rec.Wrapped = k.wrap(rec.ID, rec.Purpose, raw)
			rec.MasterKeyID = primary
			r := copyRecord(&rec)
			rewrapped = append(rewrapped, &r)
		}
		dk, err := newDataKey(rec, raw)
		Destroy(raw)
		if err != nil {
			return nil, nil, err
		}
		loaded = append(loaded, dk)
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	keys := make(map[string]*dataKey, len(k.keys)+len(loaded)+2)
	for id, dk := range k.keys {
		keys[id] = dk
	}
	for _, dk := range loaded {
		keys[dk.rec.ID] = dk
	}
	var card, fp *dataKey
	for _, dk := range keys {
		switch dk.rec.Purpose {
		case till.DataKeyCard:
			if dk.rec.Active && (card == nil || newer(dk, card)) {
				card = dk
			}
		case till.DataKeyFingerprint:
			if fp == nil || fingerprintPreferred(dk, fp) {
				fp = dk
			}
		}
	}
	if card == nil {
		if card, err = k.newDataKey(till.DataKeyCard); err != nil {
			return nil, nil, err
		}
		keys[card.rec.ID] = card
		r := copyRecord(&card.rec)
		created = append(created, &r)
	}
	if fp == nil {
		if fp, err = k.newDataKey(till.DataKeyFingerprint); err != nil {
			return nil, nil, err
		}
		keys[fp.rec.ID] = fp
		r := copyRecord(&fp.rec)
		created = append(created, &r)
	}
	k.keys, k.card, k.fp = keys, card, fp
	return created, rewrapped, nil
}

// newer reports whether a was created after b (ties broken by ID, so every
// process picks the same key).
func newer(a, b *dataKey) bool {
	if c := a.rec.CreatedAt.Compare(b.rec.CreatedAt); c != 0 {
		return c > 0
	}
	return a.rec.ID > b.rec.ID
}

// fingerprintPreferred reports whether fingerprint key a should be used over
// b: an active key over an inactive one, then the oldest, so that every
// process settles on the same key.
func fingerprintPreferred(a, b *dataKey) bool {
	if a.rec.Active != b.rec.Active {
		return a.rec.Active
	}
	return newer(b, a)
}

// RotateDataKey makes a new active card data key, wrapped under the primary
// master key; Seal uses it from then on. The previously active card keys
// become inactive but still open what they sealed. It returns the new key,
// which the caller must create in the store, and copies of the deactivated
// keys, which the caller must update.
//
// Seal may use the new key as soon as RotateDataKey returns, before the
// caller has stored it; a process that seals concurrently must therefore
// store the key before committing anything sealed under it, or rotate in a
// Keyring that seals nothing (a command-line tool) and have servers pick the
// key up with Load.
//
// It returns ErrNotLoaded before a successful Load. The fingerprint key is
// never rotated.
func (k *Keyring) RotateDataKey() (*till.DataKey, []*till.DataKey, error) {
	if len(k.master) == 0 {
		return nil, nil, ErrNoMasterKey
	}
	nk, err := k.newDataKey(till.DataKeyCard)
	if err != nil {
		return nil, nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.card == nil {
		return nil, nil, ErrNotLoaded
	}
	keys := make(map[string]*dataKey, len(k.keys)+1)
	var deactivated []*till.DataKey
	for id, dk := range k.keys {
		if dk.rec.Purpose == till.DataKeyCard && dk.rec.Active {
			off := *dk
			off.rec = copyRecord(&dk.rec)
			off.rec.Active = false
			dk = &off
			r := copyRecord(&off.rec)
			deactivated = append(deactivated, &r)
		}
		keys[id] = dk
	}
	keys[nk.rec.ID] = nk
	k.keys, k.card = keys, nk
	slices.SortFunc(deactivated, func(a, b *till.DataKey) int { return cmp.Compare(a.ID, b.ID) })
	r := copyRecord(&nk.rec)
	return &r, deactivated, nil
}

// Seal encrypts plaintext with AES-256-GCM under the active card data key and
// returns the sealed bytes and the ID of that key, both to be stored. aad
// binds the result to its context (for example the payment method ID): Open
// fails unless given the same aad. The sealed format is a version byte, a
// random 96-bit nonce, the ciphertext and the GCM tag.
//
// It returns ErrNotLoaded before a successful Load. plaintext is not modified
// and not retained; the caller should Destroy it when done.
func (k *Keyring) Seal(plaintext, aad []byte) (sealed []byte, dataKeyID string, err error) {
	k.mu.RLock()
	dk := k.card
	k.mu.RUnlock()
	if dk == nil {
		return nil, "", ErrNotLoaded
	}
	out := make([]byte, 1, 1+dk.aead.Overhead()+len(plaintext))
	out[0] = sealedV1
	out = dk.aead.Seal(out, nil, plaintext, sealedAAD(dk.rec.ID, aad))
	return out, dk.rec.ID, nil
}

// Open decrypts data that Seal returned, under the data key named
// dataKeyID (active or not), checking that aad is the one it was sealed
// with. The caller should Destroy the result when done.
//
// It returns an error wrapping ErrUnknownDataKey if the Keyring has no such
// card data key, and ErrCannotOpen if sealed is malformed, of an unknown
// version, or fails authentication (tampered bytes, another row's aad, or
// another data key's ID). It never panics on malformed input.
func (k *Keyring) Open(sealed []byte, dataKeyID string, aad []byte) ([]byte, error) {
	k.mu.RLock()
	dk := k.keys[dataKeyID]
	k.mu.RUnlock()
	if dk == nil || dk.rec.Purpose != till.DataKeyCard {
		return nil, fmt.Errorf("%w: %q", ErrUnknownDataKey, dataKeyID)
	}
	if len(sealed) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCannotOpen)
	}
	if sealed[0] != sealedV1 {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrCannotOpen, sealed[0])
	}
	if len(sealed) < 1+dk.aead.Overhead() {
		return nil, fmt.Errorf("%w: truncated", ErrCannotOpen)
	}
	plain, err := dk.aead.Open(nil, nil, sealed[1:], sealedAAD(dataKeyID, aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (wrong data key or AAD, or corrupted data)", ErrCannotOpen)
	}
	return plain, nil
}

// sealedAAD binds sealed data to its format, its data key and the caller's
// context.
func sealedAAD(dataKeyID string, aad []byte) []byte {
	b := make([]byte, 0, len(sealedAADLabel)+len(dataKeyID)+1+len(aad))
	b = append(b, sealedAADLabel...)
	b = append(b, dataKeyID...)
	b = append(b, 0)
	return append(b, aad...)
}

// Fingerprint returns a 16-character base64url fingerprint of a card number
// within an account: HMAC-SHA256 under the fingerprint data key of accountID,
// a zero byte and the number (spaces and dashes removed). The same card in
// the same account always has the same fingerprint, across processes and
// master key rotations; in different accounts it has unrelated ones, so a
// fingerprint cannot link customers across merchants, and without the key it
// cannot be reversed by trying all card numbers.
//
// Fingerprint panics if called before a successful Load: a server that could
// not load its keys must not be serving.
func (k *Keyring) Fingerprint(accountID, number string) string {
	k.mu.RLock()
	dk := k.fp
	k.mu.RUnlock()
	if dk == nil {
		panic("vault: Keyring.Fingerprint called before Load")
	}
	var buf [96]byte
	msg := append(buf[:0], accountID...)
	msg = append(msg, 0)
	msg = append(msg, NormalizeNumber(number)...)
	h := dk.macs.Get().(hash.Hash)
	h.Reset()
	h.Write(msg)
	Destroy(msg)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	dk.macs.Put(h)
	var out [FingerprintLen]byte
	base64.RawURLEncoding.Encode(out[:], sum[:FingerprintLen*6/8])
	return string(out[:])
}

// String describes the Keyring by its master key IDs and number of data
// keys, never by key material.
func (k *Keyring) String() string {
	if k == nil {
		return "vault.Keyring(nil)"
	}
	k.mu.RLock()
	n := len(k.keys)
	active := ""
	if k.card != nil {
		active = k.card.rec.ID
	}
	k.mu.RUnlock()
	return fmt.Sprintf("vault.Keyring{masterKeys: [%s], dataKeys: %d, activeCardKey: %q}",
		strings.Join(k.master, " "), n, active)
}

// GoString is the same as String.
func (k *Keyring) GoString() string { return k.String() }

// Format writes the same as String for every verb, so that no verb can print
// key material through reflection.
func (k *Keyring) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue shows the same as String in structured logs.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

// newDataKey makes a random data key of the given purpose, active, wrapped
// under the primary master key.
func (k *Keyring) newDataKey(purpose string) (*dataKey, error) {
	raw := make([]byte, DataKeySize)
	defer Destroy(raw)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("vault: generating data key: %w", err)
	}
	rec := till.DataKey{
		ID:          k.ids(till.PrefixDataKey),
		MasterKeyID: k.master[0],
		Purpose:     purpose,
		Active:      true,
		CreatedAt:   k.now().UTC(),
	}
	rec.Wrapped = k.wrap(rec.ID, purpose, raw)
	return newDataKey(rec, raw)
}

// newDataKey returns the in-memory form of a data key; raw is copied, and the
// caller destroys it.
func newDataKey(rec till.DataKey, raw []byte) (*dataKey, error) {
	dk := &dataKey{rec: rec}
	switch rec.Purpose {
	case till.DataKeyCard:
		aead, err := newAEAD(raw)
		if err != nil {
			return nil, fmt.Errorf("vault: data key %s: %w", rec.ID, err)
		}
		dk.aead = aead
	case till.DataKeyFingerprint:
		key := bytes.Clone(raw)
		dk.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	default:
		return nil, fmt.Errorf("vault: data key %s has unknown purpose %q", rec.ID, rec.Purpose)
	}
	return dk, nil
}

// wrap encrypts a data key under the primary master key, bound to the key's
// ID and purpose so that a wrapped key cannot be moved to another record.
func (k *Keyring) wrap(id, purpose string, raw []byte) []byte {
	kek := k.kek[k.master[0]]
	out := make([]byte, 1, 1+kek.Overhead()+len(raw))
	out[0] = wrapV1
	return kek.Seal(out, nil, raw, wrapAAD(id, purpose))
}

// unwrap decrypts a stored data key. The caller destroys the result.
func (k *Keyring) unwrap(rec *till.DataKey) ([]byte, error) {
	if rec.Purpose != till.DataKeyCard && rec.Purpose != till.DataKeyFingerprint {
		return nil, fmt.Errorf("vault: data key %s has unknown purpose %q", rec.ID, rec.Purpose)
	}
	kek := k.kek[rec.MasterKeyID]
	if kek == nil {
		return nil, fmt.Errorf("%w: data key %s is wrapped by master key %s, which is not among the configured master keys (%s); add that key to TILL_MASTER_KEY after the primary",
			ErrMissingMasterKey, rec.ID, rec.MasterKeyID, strings.Join(k.master, ", "))
	}
	if len(rec.Wrapped) < 1+kek.Overhead() || rec.Wrapped[0] != wrapV1 {
		return nil, fmt.Errorf("%w: data key %s: wrapped key is malformed", ErrCannotOpen, rec.ID)
	}
	raw, err := kek.Open(nil, nil, rec.Wrapped[1:], wrapAAD(rec.ID, rec.Purpose))
	if err != nil {
		return nil, fmt.Errorf("%w: data key %s does not unwrap under master key %s (corrupted, or moved from another record)",
			ErrCannotOpen, rec.ID, rec.MasterKeyID)
	}
	if len(raw) != DataKeySize {
		Destroy(raw)
		return nil, fmt.Errorf("%w: data key %s has %d bytes, want %d", ErrCannotOpen, rec.ID, len(raw), DataKeySize)
	}
	return raw, nil
}

// wrapAAD is the AAD of a wrapped data key.
func wrapAAD(id, purpose string) []byte {
	b := make([]byte, 0, len(wrapAADLabel)+len(id)+1+len(purpose))
	b = append(b, wrapAADLabel...)
	b = append(b, id...)
	b = append(b, 0)
	return append(b, purpose...)
}

// copyRecord returns a copy of rec that shares no memory with it.
func copyRecord(rec *till.DataKey) till.DataKey {
	c := *rec
	c.Wrapped = bytes.Clone(rec.Wrapped)
	return c
}
