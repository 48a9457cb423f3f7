package vault

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// rawKey returns 32 distinct bytes starting at seed.
func rawKey(seed byte) []byte {
	b := make([]byte, MasterKeySize)
	for i := range b {
		b[i] = seed + byte(i)*7
	}
	return b
}

// MustMasterKey returns the master key with the raw bytes of rawKey(seed).
func MustMasterKey(tb testing.TB, seed byte) MasterKey {
	tb.Helper()
	keys, err := ParseMasterKeys(hex.EncodeToString(rawKey(seed)))
	if err != nil {
		tb.Fatal(err)
	}
	return keys[0]
}

// keyEncodings returns the ways key material could show up in text.
func keyEncodings(raw []byte) []string {
	return []string{
		hex.EncodeToString(raw),
		strings.ToUpper(hex.EncodeToString(raw)),
		base64.StdEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
		strings.Trim(fmt.Sprint(raw), "[]"), // "1 8 15 …", as %v and %d print bytes
		string(raw),
	}
}

func TestParseMasterKeys(t *testing.T) {
	raw := rawKey(1)
	want := newMasterKey(raw).ID
	forms := map[string]string{
		"hex":            hex.EncodeToString(raw),
		"hex upper":      strings.ToUpper(hex.EncodeToString(raw)),
		"base64 std":     base64.StdEncoding.EncodeToString(raw),
		"base64 raw std": base64.RawStdEncoding.EncodeToString(raw),
		"base64 url":     base64.URLEncoding.EncodeToString(raw),
		"base64 raw url": base64.RawURLEncoding.EncodeToString(raw),
		"spaces":         "  " + base64.StdEncoding.EncodeToString(raw) + "\n",
	}
	for name, s := range forms {
		t.Run(name, func(t *testing.T) {
			keys, err := ParseMasterKeys(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || keys[0].ID != want {
				t.Fatalf("got %v, want one key %s", keys, want)
			}
			if !bytes.Equal(keys[0].key()[:], raw) {
				t.Fatal("key bytes differ")
			}
		})
	}

	t.Run("several", func(t *testing.T) {
		s := base64.StdEncoding.EncodeToString(rawKey(2)) + ", " + hex.EncodeToString(rawKey(3)) + "," + base64.RawURLEncoding.EncodeToString(rawKey(4))
		keys, err := ParseMasterKeys(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 3 {
			t.Fatalf("got %d keys", len(keys))
		}
		for i, seed := range []byte{2, 3, 4} {
			if keys[i].ID != newMasterKey(rawKey(seed)).ID {
				t.Errorf("key %d out of order", i)
			}
		}
	})

	// A key whose URL-alphabet base64 uses '-' and '_'.
	t.Run("url alphabet", func(t *testing.T) {
		raw := bytes.Repeat([]byte{0xfb, 0xff}, 16)
		s := base64.RawURLEncoding.EncodeToString(raw)
		if !strings.ContainsAny(s, "-_") {
			t.Fatal("test key does not exercise the URL alphabet")
		}
		keys, err := ParseMasterKeys(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(keys[0].key()[:], raw) {
			t.Fatal("key bytes differ")
		}
	})

	good := base64.StdEncoding.EncodeToString(rawKey(5))
	bad := []struct {
		name, s, want string
	}{
		{"empty", "", "empty"},
		{"blank", "  \n", "empty"},
		{"empty element", good + ",", "key 2 of 2: empty key"},
		{"short base64", base64.StdEncoding.EncodeToString(rawKey(6)[:31]), "31 bytes"},
		{"long base64", base64.StdEncoding.EncodeToString(append(rawKey(6), 1)), "33 bytes"},
		{"short hex", hex.EncodeToString(rawKey(6))[:62], "has 62 hex characters, want 64"},
		{"not hex, not base64", strings.Repeat("zz!", 20), "got 60 characters"},
		{"64 non-hex chars", strings.Repeat("g", 64), "48 bytes"},
		{"duplicate", good + "," + hex.EncodeToString(rawKey(5)), "key 2 of 2 repeats key 1"},
		{"bad second", good + "," + "nope", "key 2 of 2"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseMasterKeys(tt.s)
			if err == nil {
				t.Fatalf("no error, got %v", keys)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			for _, part := range strings.Split(tt.s, ",") {
				if p := strings.TrimSpace(part); len(p) >= 8 && strings.Contains(err.Error(), p) {
					t.Fatalf("error %q contains the key text", err)
				}
			}
		})
	}
}

func TestMasterKeyID(t *testing.T) {
	a, b := MustMasterKey(t, 1), MustMasterKey(t, 2)
	if a.ID != MustMasterKey(t, 1).ID {
		t.Fatal("ID not stable")
	}
	if a.ID == b.ID {
		t.Fatal("different keys share an ID")
	}
	if !regexp.MustCompile(`^mk_[0-9a-f]{16}$`).MatchString(a.ID) {
		t.Fatalf("ID %q not of the form mk_ + 16 hex", a.ID)
	}
	if strings.Contains(hex.EncodeToString(rawKey(1)), strings.TrimPrefix(a.ID, "mk_")) {
		t.Fatal("ID is a piece of the key")
	}
}

func TestMasterKeyRedacted(t *testing.T) {
	mk := MustMasterKey(t, 1)
	type holder struct {
		name string
		key  MasterKey // unexported: fmt cannot call its methods
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("key", "mk", mk)
	texts := []string{mk.String(), mk.GoString(), logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%T"} {
		texts = append(texts,
			fmt.Sprintf(verb, mk), fmt.Sprintf(verb, &mk), fmt.Sprintf(verb, []MasterKey{mk}),
			fmt.Sprintf(verb, holder{"h", mk}))
	}
	for _, text := range texts {
		for _, enc := range keyEncodings(rawKey(1)) {
			if strings.Contains(text, enc) {
				t.Errorf("%q reveals the key", text)
			}
		}
	}
	if !strings.Contains(mk.String(), mk.ID) {
		t.Errorf("String() = %q, want it to name %s", mk.String(), mk.ID)
	}
}

func TestLoadOrCreateMasterKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "master.key")

	mk, err := LoadOrCreateMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %04o, want 0600", perm)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode %04o, want 0700", perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseMasterKeys(string(data))
	if err != nil || len(keys) != 1 || keys[0].ID != mk.ID {
		t.Fatalf("file does not hold the returned key as base64: %v %v", keys, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file", len(entries))
	}

	again, err := LoadOrCreateMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != mk.ID {
		t.Fatal("second call returned a different key")
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadOrCreateMasterKeyFile(path)
	if err == nil {
		t.Fatal("0644 file accepted")
	}
	if !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not tell how to fix it", err)
	}
	for _, enc := range keyEncodings(mk.key()[:]) {
		if strings.Contains(err.Error(), enc) {
			t.Fatal("error reveals the key")
		}
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateMasterKeyFile(path); err == nil {
		t.Fatal("0640 file accepted")
	}
}

func TestLoadOrCreateMasterKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := strings.Repeat("ab", 31)
	tests := []struct {
		name, path, want string
	}{
		{"garbage", write("garbage", secret+"!"), "got 63 characters"},
		{"short hex", write("shorthex", secret), "has 62 hex characters"},
		{"empty", write("empty", ""), "empty key"},
		{"two keys", write("two", hex.EncodeToString(rawKey(1))+","+hex.EncodeToString(rawKey(2))), "exactly one key"},
		{"directory", dir, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadOrCreateMasterKeyFile(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatal("error reveals the file's content")
			}
		})
	}
}
