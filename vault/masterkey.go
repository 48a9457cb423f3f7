package vault

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the size of a master key in bytes (AES-256).
const MasterKeySize = 32

// Domain-separation labels: the same master key bytes are hashed for its ID
// and for the key that wraps data keys, and neither reveals the other.
const (
	masterIDLabel   = "till/vault/master-key-id/v1\x00"
	masterWrapLabel = "till/vault/master-key-wrap/v1"
)

// MasterKey is a key-encryption key given to the process by the operator. It
// never leaves memory: Till stores only its ID next to the data keys it
// wraps. Its String, GoString, Format and LogValue methods show only the ID.
// The key bytes are reachable only through a function value, which fmt
// prints as an address whatever the verb, so they cannot leak even when a
// MasterKey is an unexported field of a struct being printed (where fmt
// cannot call its methods). The zero MasterKey is not usable.
type MasterKey struct {
	// ID is "mk_" followed by 16 hex characters of a domain-separated
	// SHA-256 hash of the key: stable, short, and revealing nothing usable.
	ID  string
	key func() *[MasterKeySize]byte
}

// newMasterKey returns the MasterKey of raw, which must be MasterKeySize bytes.
func newMasterKey(raw []byte) MasterKey {
	key := new([MasterKeySize]byte)
	copy(key[:], raw)
	h := sha256.New()
	h.Write([]byte(masterIDLabel))
	h.Write(key[:])
	return MasterKey{
		ID:  "mk_" + hex.EncodeToString(h.Sum(nil)[:8]),
		key: func() *[MasterKeySize]byte { return key },
	}
}

// wrappingKey derives the AES-256 key that wraps data keys from the master
// key, so the master key bytes themselves never key a cipher.
func (mk MasterKey) wrappingKey() []byte {
	m := hmac.New(sha256.New, mk.key()[:])
	m.Write([]byte(masterWrapLabel))
	return m.Sum(nil)
}

// String returns a description naming only the key's ID.
func (mk MasterKey) String() string { return "vault.MasterKey(" + mk.ID + ")" }

// GoString returns a description naming only the key's ID.
func (mk MasterKey) GoString() string { return `vault.MasterKey{ID: "` + mk.ID + `"}` }

// Format writes the same as String for every verb, so that %d or %x cannot
// print the key bytes through reflection.
func (mk MasterKey) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, mk.GoString())
		return
	}
	io.WriteString(f, mk.String())
}

// LogValue shows only the key's ID in structured logs.
func (mk MasterKey) LogValue() slog.Value { return slog.StringValue(mk.ID) }

// ParseMasterKeys parses the value of TILL_MASTER_KEY: one or more keys
// separated by commas, each 32 bytes written as 64 hex characters or as
// base64 (standard or URL alphabet, padded or not). Spaces around keys are
// ignored. The first key is the primary, which wraps new data keys; the others
// are former keys kept so that data keys they wrap can still be unwrapped and
// rewrapped (see Keyring.Load).
//
// It returns an error if s has no key, if any key is malformed or if a key is
// repeated. Errors name keys by position and length only, never by content.
func ParseMasterKeys(s string) ([]MasterKey, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("vault: TILL_MASTER_KEY is empty: set it to a 32-byte key as base64 or hex (for example the output of `openssl rand -base64 32`)")
	}
	parts := strings.Split(s, ",")
	keys := make([]MasterKey, 0, len(parts))
	seen := map[string]int{}
	for i, p := range parts {
		mk, err := parseMasterKey(p)
		if err != nil {
			return nil, fmt.Errorf("vault: TILL_MASTER_KEY key %d of %d: %w", i+1, len(parts), err)
		}
		if j, dup := seen[mk.ID]; dup {
			return nil, fmt.Errorf("vault: TILL_MASTER_KEY key %d of %d repeats key %d", i+1, len(parts), j+1)
		}
		seen[mk.ID] = i
		keys = append(keys, mk)
	}
	return keys, nil
}

// parseMasterKey decodes one key. Its errors never contain the input.
func parseMasterKey(s string) (MasterKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return MasterKey{}, errors.New("empty key")
	}
	if len(s) == 2*MasterKeySize {
		if raw, err := hex.DecodeString(s); err == nil {
			defer Destroy(raw)
			return newMasterKey(raw), nil
		}
	}
	b64 := strings.TrimRight(s, "=")
	decoded := -1
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		raw, err := enc.DecodeString(b64)
		if err != nil {
			continue
		}
		defer Destroy(raw)
		if len(raw) == MasterKeySize {
			return newMasterKey(raw), nil
		}
		decoded = len(raw)
	}
	switch {
	case strings.Trim(s, "0123456789abcdefABCDEF") == "":
		return MasterKey{}, fmt.Errorf("has %d hex characters, want %d", len(s), 2*MasterKeySize)
	case decoded >= 0:
		return MasterKey{}, fmt.Errorf("decodes to %d bytes as base64, want %d", decoded, MasterKeySize)
	}
	return MasterKey{}, fmt.Errorf("not a %d-byte key: want 64 hex characters or base64 of %d bytes (44 characters with padding), got %d characters",
		MasterKeySize, MasterKeySize, len(s))
}

// LoadOrCreateMasterKeyFile returns the master key stored in the file at
// path, creating the file first when it does not exist: a random key written
// as base64 in a file of mode 0600, in a directory created with mode 0700 if
// needed. Creation is atomic, so a crash or a concurrent start never leaves a
// partial key behind.
//
// It returns an error if the file is readable or writable by group or others
// (the message says to chmod 600 it), is not a regular file, or does not hold
// exactly one key. It is meant for development; production sets
// TILL_MASTER_KEY.
func LoadOrCreateMasterKeyFile(path string) (MasterKey, error) {
	mk, err := readMasterKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return mk, err
	}
	if err := createMasterKeyFile(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return MasterKey{}, err
	}
	// Read back what is on disk, which is another process's key if it won a
	// race to create the file.
	return readMasterKeyFile(path)
}

// readMasterKeyFile reads and checks an existing key file. Its error wraps
// fs.ErrNotExist when there is no file.
func readMasterKeyFile(path string) (MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return MasterKey{}, fmt.Errorf("vault: master key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return MasterKey{}, fmt.Errorf("vault: master key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return MasterKey{}, fmt.Errorf("vault: master key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return MasterKey{}, fmt.Errorf("vault: master key file %s has mode %04o, which lets other users read or change it; run `chmod 600 %s`",
			path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return MasterKey{}, fmt.Errorf("vault: master key file %s: %w", path, err)
	}
	defer Destroy(data)
	if strings.Contains(string(data), ",") {
		return MasterKey{}, fmt.Errorf("vault: master key file %s must hold exactly one key; list several keys in TILL_MASTER_KEY instead", path)
	}
	mk, err := parseMasterKey(string(data))
	if err != nil {
		return MasterKey{}, fmt.Errorf("vault: master key file %s: %w", path, err)
	}
	return mk, nil
}

// createMasterKeyFile writes a new random key to a temporary file in the same
// directory and links it into place, failing with fs.ErrExist if path already
// exists.
func createMasterKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("vault: creating master key directory: %w", err)
	}
	raw := make([]byte, MasterKeySize)
	defer Destroy(raw)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("vault: generating master key: %w", err)
	}
	text := []byte(base64.StdEncoding.EncodeToString(raw) + "\n")
	defer Destroy(text)

	tmp, err := os.CreateTemp(dir, ".till-master-key-*")
	if err != nil {
		return fmt.Errorf("vault: creating master key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(text)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("vault: writing master key file: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("vault: creating master key file: %w", err)
	}
	// Make the new directory entry durable; failure here is not fatal to
	// the key, which is already written and synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
