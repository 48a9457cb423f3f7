package vault

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// testIDs returns an ID source that counts: dk_0001, dk_0002, …
func testIDs() func(string) string {
	var n atomic.Int64
	return func(prefix string) string { return fmt.Sprintf("%s%04d", prefix, n.Add(1)) }
}

// testClock returns a clock that starts at testNow and moves one second per
// reading.
func testClock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return testNow.Add(time.Duration(n.Add(1)) * time.Second) }
}

// keyStore stands in for the database's data_keys table.
type keyStore struct{ keys map[string]*till.DataKey }

func newKeyStore() *keyStore { return &keyStore{keys: map[string]*till.DataKey{}} }

// save stores the records a Keyring returned, as the caller of Load and
// RotateDataKey must.
func (s *keyStore) save(tb testing.TB, recs ...[]*till.DataKey) {
	tb.Helper()
	for _, rs := range recs {
		for _, r := range rs {
			c := copyRecord(r)
			s.keys[r.ID] = &c
		}
	}
}

// list returns the stored records, as DataKeys would.
func (s *keyStore) list() []*till.DataKey {
	out := make([]*till.DataKey, 0, len(s.keys))
	for _, r := range s.keys {
		c := copyRecord(r)
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *till.DataKey) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// MustKeyring returns a Keyring with the given master keys, loaded from
// store, with whatever it created or rewrapped saved back.
func MustKeyring(tb testing.TB, store *keyStore, master ...MasterKey) *Keyring {
	tb.Helper()
	k := NewKeyring(master, testIDs(), testClock())
	if store == nil {
		store = newKeyStore()
	}
	created, rewrapped, err := k.Load(store.list())
	if err != nil {
		tb.Fatal(err)
	}
	store.save(tb, created, rewrapped)
	return k
}

// MustSeal seals plaintext or fails the test.
func MustSeal(tb testing.TB, k *Keyring, plaintext, aad []byte) ([]byte, string) {
	tb.Helper()
	sealed, id, err := k.Seal(plaintext, aad)
	if err != nil {
		tb.Fatal(err)
	}
	return sealed, id
}

// mustOpen opens sealed and checks that it gives want.
func mustOpen(tb testing.TB, k *Keyring, sealed []byte, id string, aad, want []byte) {
	tb.Helper()
	got, err := k.Open(sealed, id, aad)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("Open = %q, want %q", got, want)
	}
}

func TestLoadCreatesKeys(t *testing.T) {
	mk := MustMasterKey(t, 1)
	k := NewKeyring([]MasterKey{mk}, testIDs(), testClock())
	created, rewrapped, err := k.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rewrapped) != 0 {
		t.Errorf("rewrapped %d keys of none", len(rewrapped))
	}
	if len(created) != 2 {
		t.Fatalf("created %d keys, want 2", len(created))
	}
	purposes := map[string]bool{}
	for _, dk := range created {
		purposes[dk.Purpose] = true
		if !dk.Active || dk.MasterKeyID != mk.ID || !strings.HasPrefix(dk.ID, till.PrefixDataKey) || dk.CreatedAt.IsZero() {
			t.Errorf("created key %+v", dk)
		}
		if len(dk.Wrapped) != 1+12+DataKeySize+16 {
			t.Errorf("wrapped key has %d bytes", len(dk.Wrapped))
		}
	}
	if !purposes[till.DataKeyCard] || !purposes[till.DataKeyFingerprint] {
		t.Fatalf("created purposes %v", purposes)
	}

	// A second process with the stored keys creates nothing and seals what
	// the first opens.
	store := newKeyStore()
	store.save(t, created)
	k2 := MustKeyring(t, store, mk)
	created2, rewrapped2, err := NewKeyring([]MasterKey{mk}, nil, nil).Load(store.list())
	if err != nil || len(created2) != 0 || len(rewrapped2) != 0 {
		t.Fatalf("Load of complete keys: created %v, rewrapped %v, err %v", created2, rewrapped2, err)
	}
	sealed, id := MustSeal(t, k, []byte("4242424242424242"), []byte("pm_1"))
	mustOpen(t, k2, sealed, id, []byte("pm_1"), []byte("4242424242424242"))
}

func TestLoadDoesNotModifyInput(t *testing.T) {
	old, cur := MustMasterKey(t, 1), MustMasterKey(t, 2)
	store := newKeyStore()
	MustKeyring(t, store, old)
	existing := store.list()
	before := store.list()
	_, rewrapped, err := NewKeyring([]MasterKey{cur, old}, nil, nil).Load(existing)
	if err != nil {
		t.Fatal(err)
	}
	if len(rewrapped) != 2 {
		t.Fatalf("rewrapped %d keys, want 2", len(rewrapped))
	}
	for i := range existing {
		if existing[i].MasterKeyID != before[i].MasterKeyID || !bytes.Equal(existing[i].Wrapped, before[i].Wrapped) {
			t.Fatal("Load modified its input")
		}
	}
}

func TestSealOpen(t *testing.T) {
	k := MustKeyring(t, nil, MustMasterKey(t, 1))
	tests := []struct {
		name           string
		plaintext, aad []byte
	}{
		{"pan", []byte("4242424242424242"), []byte("pm_abc")},
		{"empty plaintext", []byte{}, []byte("pm_abc")},
		{"nil aad", []byte("378282246310005"), nil},
		{"long", bytes.Repeat([]byte("x"), 4096), []byte("acct_1/sk")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, id := MustSeal(t, k, tt.plaintext, tt.aad)
			if sealed[0] != sealedV1 {
				t.Errorf("version byte %d", sealed[0])
			}
			if len(sealed) != 1+12+len(tt.plaintext)+16 {
				t.Errorf("sealed length %d", len(sealed))
			}
			if len(tt.plaintext) >= 8 && bytes.Contains(sealed, tt.plaintext[:8]) {
				t.Error("sealed contains plaintext")
			}
			mustOpen(t, k, sealed, id, tt.aad, tt.plaintext)
			again, _ := MustSeal(t, k, tt.plaintext, tt.aad)
			if bytes.Equal(again, sealed) {
				t.Error("two seals are equal: nonce reused")
			}
		})
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	store := newKeyStore()
	k := MustKeyring(t, store, MustMasterKey(t, 1))
	pan, aad := []byte("4242424242424242"), []byte("pm_1")
	sealed, id := MustSeal(t, k, pan, aad)
	newKey, _, err := k.RotateDataKey()
	if err != nil {
		t.Fatal(err)
	}
	otherSealed, otherID := MustSeal(t, k, pan, aad)
	if otherID != newKey.ID {
		t.Fatal("Seal did not use the rotated key")
	}

	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		sealed []byte
		id     string
		aad    []byte
		want   error
	}{
		{"version byte", flip(0), id, aad, ErrCannotOpen},
		{"nonce", flip(1), id, aad, ErrCannotOpen},
		{"ciphertext", flip(13), id, aad, ErrCannotOpen},
		{"tag", flip(len(sealed) - 1), id, aad, ErrCannotOpen},
		{"truncated", sealed[:len(sealed)-1], id, aad, ErrCannotOpen},
		{"too short", sealed[:10], id, aad, ErrCannotOpen},
		{"empty", nil, id, aad, ErrCannotOpen},
		{"appended", append(bytes.Clone(sealed), 0), id, aad, ErrCannotOpen},
		{"other aad", sealed, id, []byte("pm_2"), ErrCannotOpen},
		{"aad prefix", sealed, id, []byte("pm_"), ErrCannotOpen},
		{"nil aad", sealed, id, nil, ErrCannotOpen},
		{"other data key", sealed, otherID, aad, ErrCannotOpen},
		{"other key's ciphertext", otherSealed, id, aad, ErrCannotOpen},
		{"unknown data key", sealed, "dk_nope", aad, ErrUnknownDataKey},
		{"empty data key", sealed, "", aad, ErrUnknownDataKey},
	}
	for _, dk := range store.keys {
		if dk.Purpose == till.DataKeyFingerprint {
			tests = append(tests, struct {
				name   string
				sealed []byte
				id     string
				aad    []byte
				want   error
			}{"fingerprint key", sealed, dk.ID, aad, ErrUnknownDataKey})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.Open(tt.sealed, tt.id, tt.aad)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if got != nil {
				t.Fatal("plaintext returned with an error")
			}
			if strings.Contains(err.Error(), string(pan)) {
				t.Fatal("error contains the PAN")
			}
		})
	}
	// Both keys still open their own data.
	mustOpen(t, k, sealed, id, aad, pan)
	mustOpen(t, k, otherSealed, otherID, aad, pan)
}

func TestMasterKeyRotation(t *testing.T) {
	old, cur := MustMasterKey(t, 1), MustMasterKey(t, 2)
	store := newKeyStore()
	pan, aad := []byte("5555555555554444"), []byte("pm_rot")

	// Day 1: TILL_MASTER_KEY=old.
	k1 := MustKeyring(t, store, old)
	sealed, id := MustSeal(t, k1, pan, aad)
	fp := k1.Fingerprint("acct_1", string(pan))

	// Day 2: TILL_MASTER_KEY=new,old. Every data key is rewrapped.
	k2 := NewKeyring([]MasterKey{cur, old}, testIDs(), testClock())
	created, rewrapped, err := k2.Load(store.list())
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 0 {
		t.Errorf("created %d keys during rotation; the fingerprint key must not be replaced", len(created))
	}
	if len(rewrapped) != 2 {
		t.Fatalf("rewrapped %d keys, want 2", len(rewrapped))
	}
	for _, r := range rewrapped {
		if r.MasterKeyID != cur.ID {
			t.Errorf("rewrapped key %s under %s, want %s", r.ID, r.MasterKeyID, cur.ID)
		}
		if bytes.Equal(r.Wrapped, store.keys[r.ID].Wrapped) {
			t.Errorf("rewrapped key %s has its old wrapping", r.ID)
		}
		if r.Active != store.keys[r.ID].Active || r.Purpose != store.keys[r.ID].Purpose || !r.CreatedAt.Equal(store.keys[r.ID].CreatedAt) {
			t.Errorf("rewrapping changed %s's other fields", r.ID)
		}
	}
	mustOpen(t, k2, sealed, id, aad, pan)
	store.save(t, rewrapped)

	// Day 3: TILL_MASTER_KEY=new; old is gone.
	k3 := NewKeyring([]MasterKey{cur}, testIDs(), testClock())
	created, rewrapped, err = k3.Load(store.list())
	if err != nil {
		t.Fatal(err)
	}
	if len(created)+len(rewrapped) != 0 {
		t.Fatalf("created %d, rewrapped %d after rotation", len(created), len(rewrapped))
	}
	mustOpen(t, k3, sealed, id, aad, pan)
	if got := k3.Fingerprint("acct_1", string(pan)); got != fp {
		t.Fatalf("fingerprint changed across master key rotation: %s, was %s", got, fp)
	}
	sealed3, id3 := MustSeal(t, k3, pan, aad)
	mustOpen(t, k1, sealed3, id3, aad, pan) // same data key, as k1 had it
}

func TestMissingMasterKey(t *testing.T) {
	old, cur := MustMasterKey(t, 1), MustMasterKey(t, 2)
	store := newKeyStore()
	MustKeyring(t, store, old)

	k := NewKeyring([]MasterKey{cur}, testIDs(), testClock())
	created, rewrapped, err := k.Load(store.list())
	if !errors.Is(err, ErrMissingMasterKey) {
		t.Fatalf("Load without the old master key: %v, want ErrMissingMasterKey", err)
	}
	if created != nil || rewrapped != nil {
		t.Fatal("keys returned with an error")
	}
	for _, want := range []string{old.ID, cur.ID, "TILL_MASTER_KEY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	for _, raw := range [][]byte{old.key()[:], cur.key()[:]} {
		for _, enc := range keyEncodings(raw) {
			if strings.Contains(err.Error(), enc) {
				t.Fatal("error reveals a master key")
			}
		}
	}
	// A failed Load leaves the Keyring unusable, not half-loaded.
	if _, _, err := k.Seal([]byte("x"), nil); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("Seal after failed Load: %v, want ErrNotLoaded", err)
	}
}

func TestLoadRejectsBadRecords(t *testing.T) {
	mk := MustMasterKey(t, 1)
	store := newKeyStore()
	MustKeyring(t, store, mk)
	good := store.list()
	var card *till.DataKey
	for _, dk := range good {
		if dk.Purpose == till.DataKeyCard {
			card = dk
		}
	}
	mutate := func(f func(*till.DataKey)) []*till.DataKey {
		out := store.list()
		for _, dk := range out {
			if dk.ID == card.ID {
				f(dk)
			}
		}
		return out
	}
	tests := []struct {
		name     string
		existing []*till.DataKey
		want     error
		text     string
	}{
		{"nil record", append(store.list(), nil), nil, "nil"},
		{"duplicate", append(store.list(), card), nil, "listed twice"},
		{"unknown purpose", mutate(func(dk *till.DataKey) { dk.Purpose = "token" }), nil, "unknown purpose"},
		{"purpose swapped", mutate(func(dk *till.DataKey) { dk.Purpose = till.DataKeyFingerprint }), ErrCannotOpen, card.ID},
		{"id changed", mutate(func(dk *till.DataKey) { dk.ID = "dk_moved" }), ErrCannotOpen, "dk_moved"},
		{"flipped bit", mutate(func(dk *till.DataKey) { dk.Wrapped[20] ^= 1 }), ErrCannotOpen, card.ID},
		{"truncated", mutate(func(dk *till.DataKey) { dk.Wrapped = dk.Wrapped[:20] }), ErrCannotOpen, "malformed"},
		{"empty", mutate(func(dk *till.DataKey) { dk.Wrapped = nil }), ErrCannotOpen, "malformed"},
		{"unknown master", mutate(func(dk *till.DataKey) { dk.MasterKeyID = "mk_0000000000000000" }), ErrMissingMasterKey, "mk_0000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NewKeyring([]MasterKey{mk}, nil, nil).Load(tt.existing)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
		})
	}

	if _, _, err := NewKeyring(nil, nil, nil).Load(nil); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("Load without master keys: %v, want ErrNoMasterKey", err)
	}
	if _, _, err := NewKeyring([]MasterKey{{}}, nil, nil).Load(nil); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("Load with a zero MasterKey: %v, want ErrNoMasterKey", err)
	}
}

func TestRotateDataKey(t *testing.T) {
	mk := MustMasterKey(t, 1)
	store := newKeyStore()
	k := MustKeyring(t, store, mk)
	pan, aad := []byte("4242424242424242"), []byte("pm_1")
	before, idBefore := MustSeal(t, k, pan, aad)
	fp := k.Fingerprint("acct_1", string(pan))

	nk, deactivated, err := k.RotateDataKey()
	if err != nil {
		t.Fatal(err)
	}
	if nk.Purpose != till.DataKeyCard || !nk.Active || nk.MasterKeyID != mk.ID || nk.ID == idBefore {
		t.Fatalf("new key %+v", nk)
	}
	if len(deactivated) != 1 || deactivated[0].ID != idBefore || deactivated[0].Active {
		t.Fatalf("deactivated %+v, want %s inactive", deactivated, idBefore)
	}
	if !store.keys[idBefore].Active {
		t.Fatal("RotateDataKey modified the caller's record")
	}
	after, idAfter := MustSeal(t, k, pan, aad)
	if idAfter != nk.ID {
		t.Fatalf("Seal used %s, want the new key %s", idAfter, nk.ID)
	}
	mustOpen(t, k, before, idBefore, aad, pan)
	mustOpen(t, k, after, idAfter, aad, pan)
	if k.Fingerprint("acct_1", string(pan)) != fp {
		t.Fatal("fingerprint changed with a card key rotation")
	}
	store.save(t, []*till.DataKey{nk}, deactivated)

	// A restarted process seals under the new key, opens both, and creates
	// nothing.
	k2 := NewKeyring([]MasterKey{mk}, testIDs(), testClock())
	created, rewrapped, err := k2.Load(store.list())
	if err != nil || len(created)+len(rewrapped) != 0 {
		t.Fatalf("Load after rotation: created %v, rewrapped %v, err %v", created, rewrapped, err)
	}
	if _, id := MustSeal(t, k2, pan, aad); id != nk.ID {
		t.Fatalf("restarted process seals under %s, want %s", id, nk.ID)
	}
	mustOpen(t, k2, before, idBefore, aad, pan)
	mustOpen(t, k2, after, idAfter, aad, pan)

	// A process that loaded before the rotation picks it up by loading
	// again.
	k3 := NewKeyring([]MasterKey{mk}, testIDs(), testClock())
	if _, _, err := k3.Load([]*till.DataKey{store.keys[idBefore]}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k3.Load(store.list()); err != nil {
		t.Fatal(err)
	}
	if _, id := MustSeal(t, k3, pan, aad); id != nk.ID {
		t.Fatalf("reloaded process seals under %s, want %s", id, nk.ID)
	}

	if _, _, err := NewKeyring([]MasterKey{mk}, nil, nil).RotateDataKey(); !errors.Is(err, ErrNotLoaded) {
		t.Errorf("RotateDataKey before Load: %v, want ErrNotLoaded", err)
	}
}

// TestLoadCreatesCardKeyWhenNoneActive covers a store whose card keys are all
// inactive: a new active key is created, the fingerprint key is kept.
func TestLoadCreatesCardKeyWhenNoneActive(t *testing.T) {
	mk := MustMasterKey(t, 1)
	store := newKeyStore()
	k := MustKeyring(t, store, mk)
	fp := k.Fingerprint("acct_1", "4242424242424242")
	for _, dk := range store.keys {
		dk.Active = false
	}
	k2 := NewKeyring([]MasterKey{mk}, func(p string) string { return p + "fresh" }, testClock())
	created, _, err := k2.Load(store.list())
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 1 || created[0].Purpose != till.DataKeyCard {
		t.Fatalf("created %+v, want one card key", created)
	}
	if got := k2.Fingerprint("acct_1", "4242424242424242"); got != fp {
		t.Fatal("an inactive fingerprint key was replaced")
	}
}

func TestFingerprint(t *testing.T) {
	mk := MustMasterKey(t, 1)
	store := newKeyStore()
	k1 := MustKeyring(t, store, mk)
	k2 := MustKeyring(t, store, mk)
	other := MustKeyring(t, nil, mk) // same master key, its own fingerprint key

	visa, mc := "4242424242424242", "5555555555554444"
	fp := k1.Fingerprint("acct_1", visa)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{16}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q is not 16 base64url characters", fp)
	}
	if len(fp) != FingerprintLen {
		t.Fatalf("len %d", len(fp))
	}
	checks := []struct {
		name string
		got  string
		same bool
	}{
		{"same instance", k1.Fingerprint("acct_1", visa), true},
		{"another instance sharing the data keys", k2.Fingerprint("acct_1", visa), true},
		{"formatted number", k1.Fingerprint("acct_1", "4242 4242-4242 4242"), true},
		{"other account", k1.Fingerprint("acct_2", visa), false},
		{"other card", k1.Fingerprint("acct_1", mc), false},
		{"account and number boundary", k1.Fingerprint("acct_14", "242424242424242"), false},
		{"other fingerprint key", other.Fingerprint("acct_1", visa), false},
	}
	for _, c := range checks {
		if (c.got == fp) != c.same {
			t.Errorf("%s: %s vs %s, want same=%v", c.name, c.got, fp, c.same)
		}
	}

	defer func() {
		if recover() == nil {
			t.Error("Fingerprint before Load did not panic")
		}
	}()
	NewKeyring([]MasterKey{mk}, nil, nil).Fingerprint("acct_1", visa)
}

func TestKeyringRedacted(t *testing.T) {
	mk1, mk2 := MustMasterKey(t, 1), MustMasterKey(t, 2)
	k := MustKeyring(t, nil, mk1, mk2)
	pan := "4242424242424242"
	_, id := MustSeal(t, k, []byte(pan), []byte("pm_1"))

	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("keyring", "k", k)
	texts := []string{k.String(), k.GoString(), logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		texts = append(texts, fmt.Sprintf(verb, k), fmt.Sprintf(verb, []*Keyring{k}),
			fmt.Sprintf(verb, struct{ K *Keyring }{k}),
			fmt.Sprintf(verb, struct{ k *Keyring }{k})) // unexported: fmt cannot call its methods
	}
	secrets := append(keyEncodings(mk1.key()[:]), keyEncodings(mk2.key()[:])...)
	secrets = append(secrets, pan)
	// The data keys' bytes: unwrap them again to know what to look for.
	k.mu.RLock()
	for _, dk := range k.keys {
		raw, err := k.unwrap(&dk.rec)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, keyEncodings(raw)...)
	}
	k.mu.RUnlock()
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%q reveals secret material", text)
			}
		}
	}
	for _, want := range []string{mk1.ID, mk2.ID, id} {
		if !strings.Contains(k.String(), want) {
			t.Errorf("String() = %q, want it to name %s", k.String(), want)
		}
	}
	var nilK *Keyring
	if got := fmt.Sprint(nilK); got != "vault.Keyring(nil)" {
		t.Errorf("nil Keyring prints %q", got)
	}
}

func TestSealBeforeLoad(t *testing.T) {
	k := NewKeyring([]MasterKey{MustMasterKey(t, 1)}, nil, nil)
	if _, _, err := k.Seal([]byte("x"), nil); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("Seal before Load: %v, want ErrNotLoaded", err)
	}
	if _, err := k.Open([]byte{1}, "dk_1", nil); !errors.Is(err, ErrUnknownDataKey) {
		t.Fatalf("Open before Load: %v, want ErrUnknownDataKey", err)
	}
}

// TestConcurrentUse runs Seal, Open and Fingerprint against RotateDataKey
// and Load; run with -race.
func TestConcurrentUse(t *testing.T) {
	mk := MustMasterKey(t, 1)
	store := newKeyStore()
	k := MustKeyring(t, store, mk)
	list := store.list()
	pan := []byte("4242424242424242")
	fp := k.Fingerprint("acct_1", string(pan))

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			aad := fmt.Appendf(nil, "pm_%d", g)
			for range 200 {
				sealed, id, err := k.Seal(pan, aad)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := k.Open(sealed, id, aad)
				if err != nil || !bytes.Equal(got, pan) {
					t.Errorf("Open: %q, %v", got, err)
					return
				}
				Destroy(got)
				if k.Fingerprint("acct_1", string(pan)) != fp {
					t.Error("fingerprint changed")
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, _, err := k.RotateDataKey(); err != nil {
				t.Error(err)
				return
			}
			if _, _, err := k.Load(list); err != nil {
				t.Error(err)
				return
			}
			_ = k.String()
		}
	})
	wg.Wait()
}

func TestDestroy(t *testing.T) {
	b := []byte("4242424242424242")
	Destroy(b)
	if !bytes.Equal(b, make([]byte, 16)) {
		t.Fatalf("Destroy left %q", b)
	}
	Destroy(nil)
	Destroy([]byte{})
}

func BenchmarkSeal(b *testing.B) {
	k := MustKeyring(b, nil, MustMasterKey(b, 1))
	pan, aad := []byte("4242424242424242"), []byte("pm_0123456789ABCDEFGHIJKL")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := k.Seal(pan, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := MustKeyring(b, nil, MustMasterKey(b, 1))
	pan, aad := []byte("4242424242424242"), []byte("pm_0123456789ABCDEFGHIJKL")
	sealed, id := MustSeal(b, k, pan, aad)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(sealed, id, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFingerprint(b *testing.B) {
	k := MustKeyring(b, nil, MustMasterKey(b, 1))
	b.ReportAllocs()
	for b.Loop() {
		k.Fingerprint("acct_0123456789ABCDEFGHIJKL", "4242424242424242")
	}
}

// BenchmarkSealOpenParallel measures the hot path under contention, where
// the read lock must not serialize callers.
func BenchmarkSealOpenParallel(b *testing.B) {
	k := MustKeyring(b, nil, MustMasterKey(b, 1))
	pan, aad := []byte("4242424242424242"), []byte("pm_0123456789ABCDEFGHIJKL")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sealed, id, err := k.Seal(pan, aad)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := k.Open(sealed, id, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}
