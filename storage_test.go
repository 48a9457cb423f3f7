package till_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/stored from the current types")

// storedDocuments are the types the stores keep as JSON documents (the doc
// column of sqlite/ and postgres/, and an event's Data). Their JSON keys are
// stored data: a key that changes is data lost on the next read. Types stored
// only as columns (APIKey, DataKey, IdempotencyRecord, Task, Event) are not
// documents and are not listed.
var storedDocuments = []struct {
	name string
	typ  reflect.Type
}{
	{"account", reflect.TypeFor[till.Account]()},
	{"customer", reflect.TypeFor[till.Customer]()},
	{"payment_method", reflect.TypeFor[till.PaymentMethod]()},
	{"payment", reflect.TypeFor[till.Payment]()},
	{"document", reflect.TypeFor[till.Document]()},
	{"refund", reflect.TypeFor[till.Refund]()},
	{"journal_entry", reflect.TypeFor[till.JournalEntry]()},
	{"email", reflect.TypeFor[till.Email]()},
	{"processor_record", reflect.TypeFor[till.ProcessorRecord]()},
	{"webhook_endpoint", reflect.TypeFor[till.WebhookEndpoint]()},
	{"webhook_delivery", reflect.TypeFor[till.WebhookDelivery]()},
	{"product", reflect.TypeFor[till.Product]()},
	{"article", reflect.TypeFor[till.Article]()},
	{"cart", reflect.TypeFor[till.Cart]()},
	{"shipping_rate", reflect.TypeFor[till.ShippingRate]()},
	{"coupon", reflect.TypeFor[till.Coupon]()},
	{"order", reflect.TypeFor[till.Order]()},
	{"subscription", reflect.TypeFor[till.Subscription]()},
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// documentStructs returns t and every struct type of this module reachable
// from its fields (through pointers, slices, arrays and maps), each once.
// Types that marshal themselves (time.Time) are not descended into.
func documentStructs(t reflect.Type) []reflect.Type {
	var out []reflect.Type
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
			return
		}
		seen[t] = true
		if !strings.HasPrefix(t.PkgPath(), "github.com/tillpay/till") {
			return
		}
		out = append(out, t)
		for i := range t.NumField() {
			walk(t.Field(i).Type)
		}
	}
	walk(t)
	return out
}

// TestStorageTags checks that every exported field of every stored document
// type, and of the struct types nested in them, names its stored key with a
// json tag, so that renaming a Go field cannot silently rename a stored key
// (and lose the data stored under the old one). A field that must not be
// stored is tagged `json:"-"`.
func TestStorageTags(t *testing.T) {
	for _, d := range storedDocuments {
		t.Run(d.name, func(t *testing.T) {
			for _, st := range documentStructs(d.typ) {
				for i := range st.NumField() {
					f := st.Field(i)
					if !f.IsExported() {
						continue
					}
					tag, ok := f.Tag.Lookup("json")
					name, _, _ := strings.Cut(tag, ",")
					if !ok || name == "" && tag != "-" {
						t.Errorf("%s.%s has no json tag naming its stored key (use `json:\"-\"` for a field never stored)", st.Name(), f.Name)
					}
				}
			}
		})
	}
}

// TestStorageTagsAreUnique checks that no two fields of a stored struct share
// a key, which encoding/json would resolve by dropping both.
func TestStorageTagsAreUnique(t *testing.T) {
	for _, d := range storedDocuments {
		for _, st := range documentStructs(d.typ) {
			keys := map[string]string{}
			for i := range st.NumField() {
				f := st.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if !f.IsExported() || name == "-" {
					continue
				}
				if name == "" {
					name = f.Name
				}
				if other, dup := keys[strings.ToLower(name)]; dup {
					t.Errorf("%s.%s and %s.%s are both stored under %q", st.Name(), other, st.Name(), f.Name, name)
				}
				keys[strings.ToLower(name)] = f.Name
			}
		}
	}
}

// TestStoredDocumentsGolden proves that stored documents are unchanged: each
// golden file of testdata/stored is a document as an earlier build stored it
// (every field set, and every field zero), and decoding it into today's type
// and encoding it again must give the same bytes. A key today's type does
// not know fails the decode; a key it names differently comes out renamed.
// The fully set fixtures must also set every field today's type has, so that
// a new field is covered once its fixture is regenerated.
//
// -update rewrites the golden files from the current types. Review the diff:
// a new key is a new field, but a changed or missing key is stored data that
// the next read would lose.
func TestStoredDocumentsGolden(t *testing.T) {
	for _, d := range storedDocuments {
		for _, variant := range []string{"full", "zero"} {
			t.Run(d.name+"/"+variant, func(t *testing.T) {
				path := filepath.Join("testdata", "stored", d.name+"."+variant+".json")
				if *update {
					v := reflect.New(d.typ)
					if variant == "full" {
						(&filler{}).fill(v.Elem())
					}
					writeGolden(t, path, v.Interface())
				}
				golden, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var stored bytes.Buffer
				if err := json.Compact(&stored, golden); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				v := reflect.New(d.typ)
				dec := json.NewDecoder(bytes.NewReader(stored.Bytes()))
				dec.DisallowUnknownFields()
				if err := dec.Decode(v.Interface()); err != nil {
					t.Fatalf("decode %s into %s: %v", path, d.typ, err)
				}
				again, err := json.Marshal(v.Interface())
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, stored.Bytes()) {
					t.Errorf("%s re-encoded differs from what was stored, from byte %d:\nstored:  %s\nencoded: %s", path, diffAt(stored.Bytes(), again),
						around(stored.Bytes(), diffAt(stored.Bytes(), again)), around(again, diffAt(stored.Bytes(), again)))
				}
				if variant == "full" {
					for _, field := range zeroFields(v.Elem(), d.typ.Name()) {
						t.Errorf("%s leaves %s unset; run go test -run TestStoredDocumentsGolden -update to cover it", path, field)
					}
				}
			})
		}
	}
}

// diffAt returns the offset of the first byte where a and b differ.
func diffAt(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// around returns the bytes of b near offset i.
func around(b []byte, i int) string {
	lo, hi := max(i-60, 0), min(i+60, len(b))
	return "…" + string(b[lo:hi]) + "…"
}

func writeGolden(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// zeroFields returns the paths of the stored fields of v left zero: empty
// slices and maps, nil pointers, zero scalars.
func zeroFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return zeroFields(v.Elem(), path)
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		if v.Kind() == reflect.Slice {
			return zeroFields(v.Index(0), path+"[0]")
		}
		return nil
	case reflect.Struct:
		if v.Type().Implements(marshalerType) {
			if v.IsZero() {
				return []string{path}
			}
			return nil
		}
		var out []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			out = append(out, zeroFields(v.Field(i), path+"."+f.Name)...)
		}
		return out
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}

// filler sets every field of a value to a distinct, deterministic non-zero
// value, so that the golden files hold every key with a value.
type filler struct{ n int }

func (f *filler) fill(v reflect.Value) {
	f.n++
	n := f.n
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(n)*time.Second + time.Duration(n)*time.Microsecond)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{byte(n), byte(n + 1), byte(n + 2)})
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		f.fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		f.fill(k)
		f.fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	default:
		panic(fmt.Sprintf("filler: cannot fill a %s", v.Type()))
	}
}
