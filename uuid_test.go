package till_test

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/tillpay/till"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestIDsAreUUIDv7(t *testing.T) {
	var ids []string
	for i := 0; i < 200; i++ {
		id := till.RandomIDs{}.NewID(till.PrefixPayment)
		if len(id) != len(till.PrefixPayment)+22 {
			t.Fatalf("id %q has not 22 characters after its prefix", id)
		}
		u, ok := till.IDToUUID(id, till.PrefixPayment)
		if !ok || !uuidV7.MatchString(u) {
			t.Fatalf("id %q: UUID %q, %v", id, u, ok)
		}
		back, ok := till.IDFromUUID(till.PrefixPayment, u)
		if !ok || back != id {
			t.Fatalf("UUID %s of %s maps back to %q, %v", u, id, back, ok)
		}
		if upper, _ := till.IDFromUUID(till.PrefixPayment, toUpper(u)); upper != id {
			t.Fatalf("upper-case UUID maps to %q", upper)
		}
		ids = append(ids, id)
		if i%50 == 49 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	// Ids of a later millisecond sort after those of an earlier one, as
	// strings: each batch of 50 was made at least 2 ms after the one before.
	for i := 50; i < len(ids); i += 50 {
		if slices.Max(ids[i-50:i]) >= slices.Min(ids[i:i+50]) {
			t.Fatalf("ids of batch %d do not sort after those of batch %d", i/50, i/50-1)
		}
	}
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func TestIDToUUIDRefuses(t *testing.T) {
	for _, id := range []string{
		"pay_test123",                 // not 22 characters
		"cus_0000000000000000000000",  // another prefix
		"pay_000000000000000000000_",  // not base62
		"pay_zzzzzzzzzzzzzzzzzzzzzz",  // more than 128 bits
		"pay_00000000000000000000000", // 23 characters
	} {
		if u, ok := till.IDToUUID(id, till.PrefixPayment); ok {
			t.Errorf("IDToUUID(%q) = %q, want none", id, u)
		}
	}
	for _, u := range []string{"", "0190b7c8-7e2a-7c3d-8e4f-5a6b7c8d9e0", "0190b7c8x7e2a-7c3d-8e4f-5a6b7c8d9e0f", "0190b7c8-7e2a-7c3d-8e4f-5a6b7c8d9e0g"} {
		if id, ok := till.IDFromUUID(till.PrefixPayment, u); ok {
			t.Errorf("IDFromUUID(%q) = %q, want none", u, id)
		}
	}
	// The largest UUID is the largest id that has one.
	id, ok := till.IDFromUUID("pay_", "ffffffff-ffff-ffff-ffff-ffffffffffff")
	if u, ok2 := till.IDToUUID(id, "pay_"); !ok || !ok2 || u != "ffffffff-ffff-ffff-ffff-ffffffffffff" {
		t.Fatalf("max UUID: %q %q", id, u)
	}
}

// TestEncodeBase62Edges checks the id of the smallest and largest UUIDs
// and of one whose low half is all ones against their known base62 forms.
func TestEncodeBase62Edges(t *testing.T) {
	for _, tc := range []struct{ u, id string }{
		{"00000000-0000-0000-0000-000000000000", "pay_0000000000000000000000"},
		{"00000000-0000-0000-0000-00000000003e", "pay_0000000000000000000010"},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", "pay_7n42DGM5Tflk9n8mt7Fhc7"},
		{"00000000-0000-0001-0000-000000000000", "pay_00000000000LygHa16AHYG"},
	} {
		id, ok := till.IDFromUUID(till.PrefixPayment, tc.u)
		if !ok || id != tc.id {
			t.Errorf("IDFromUUID(%s) = %q, want %q", tc.u, id, tc.id)
		}
		if back, ok := till.IDToUUID(tc.id, till.PrefixPayment); !ok || back != tc.u {
			t.Errorf("IDToUUID(%s) = %q", tc.id, back)
		}
	}
}
