package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// testRoundTrip stores one value of every stored type with every field set
// (to distinct, deterministic values) through its Tx Create method, reads it
// back through its getter and requires it to come back equal, field for
// field: nothing a store keeps, as a JSON document or in columns, is dropped,
// renamed onto another field or truncated. Times are UTC with microsecond
// precision, the precision the stores keep.
func testRoundTrip(t *testing.T, st till.Store) {
	acct := account(t, st) // the owner of the API key (a foreign key)
	for _, c := range []roundTrip{
		trip("Account", nil,
			func(tx till.Tx, v *till.Account) error { return tx.CreateAccount(ctx, v) },
			func(tx till.Tx, v *till.Account) (*till.Account, error) { return tx.Account(ctx, v.ID) }),
		trip("Customer", nil,
			func(tx till.Tx, v *till.Customer) error { return tx.CreateCustomer(ctx, v) },
			func(tx till.Tx, v *till.Customer) (*till.Customer, error) {
				return tx.Customer(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, v.ID)
			}),
		trip("PaymentMethod", nil,
			func(tx till.Tx, v *till.PaymentMethod) error { return tx.CreatePaymentMethod(ctx, v) },
			func(tx till.Tx, v *till.PaymentMethod) (*till.PaymentMethod, error) {
				return tx.PaymentMethod(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, v.ID)
			}),
		trip("Payment", nil,
			func(tx till.Tx, v *till.Payment) error { return tx.CreatePayment(ctx, v) },
			func(tx till.Tx, v *till.Payment) (*till.Payment, error) {
				return tx.Payment(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, v.ID)
			}),
		trip("Document", nil,
			func(tx till.Tx, v *till.Document) error { return tx.CreateDocument(ctx, v) },
			func(tx till.Tx, v *till.Document) (*till.Document, error) {
				return tx.Document(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, v.ID)
			}),
		trip("Refund", nil,
			func(tx till.Tx, v *till.Refund) error { return tx.CreateRefund(ctx, v) },
			func(tx till.Tx, v *till.Refund) (*till.Refund, error) {
				return tx.Refund(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, v.ID)
			}),
		trip("JournalEntry",
			func(v *till.JournalEntry) {
				// Only a balanced entry is stored: a debit and a credit, so
				// that each posting field is set on one of them.
				d, c := v.Postings[0], v.Postings[0]
				d.Credit, c.LedgerAccount, c.Debit, c.Credit = 0, d.LedgerAccount+"-credit", 0, d.Debit
				v.Postings = []till.Posting{d, c}
			},
			func(tx till.Tx, v *till.JournalEntry) error { return tx.CreateJournalEntry(ctx, v) },
			func(tx till.Tx, v *till.JournalEntry) (*till.JournalEntry, error) {
				list, _, err := tx.ListJournalEntries(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, till.LedgerFilter{})
				return only(list, err)
			}),
		trip("Email", nil,
			func(tx till.Tx, v *till.Email) error { return tx.CreateEmail(ctx, v) },
			func(tx till.Tx, v *till.Email) (*till.Email, error) {
				list, _, err := tx.ListEmails(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, till.EmailFilter{})
				return only(list, err)
			}),
		trip("WebhookEndpoint", nil,
			func(tx till.Tx, v *till.WebhookEndpoint) error { return tx.CreateWebhookEndpoint(ctx, v) },
			func(tx till.Tx, v *till.WebhookEndpoint) (*till.WebhookEndpoint, error) {
				return tx.WebhookEndpoint(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, v.ID)
			}),
		trip("WebhookDelivery", nil,
			func(tx till.Tx, v *till.WebhookDelivery) error { return tx.CreateWebhookDelivery(ctx, v) },
			func(tx till.Tx, v *till.WebhookDelivery) (*till.WebhookDelivery, error) {
				list, _, err := tx.ListWebhookDeliveries(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, v.EventID, till.Page{})
				return only(list, err)
			}),
		// Types stored in columns rather than as documents.
		trip("APIKey", func(v *till.APIKey) { v.AccountID = acct.ID },
			func(tx till.Tx, v *till.APIKey) error { return tx.CreateAPIKey(ctx, v) },
			func(tx till.Tx, v *till.APIKey) (*till.APIKey, error) { return tx.APIKey(ctx, v.ID) }),
		trip("DataKey", nil,
			func(tx till.Tx, v *till.DataKey) error { return tx.CreateDataKey(ctx, v) },
			func(tx till.Tx, v *till.DataKey) (*till.DataKey, error) {
				list, err := tx.DataKeys(ctx)
				return only(list, err)
			}),
		trip("IdempotencyRecord", nil,
			func(tx till.Tx, v *till.IdempotencyRecord) error { return tx.CreateIdempotencyRecord(ctx, v) },
			func(tx till.Tx, v *till.IdempotencyRecord) (*till.IdempotencyRecord, error) {
				return tx.IdempotencyRecord(ctx, till.Scope{AccountID: v.AccountID, Livemode: v.Livemode}, v.API, v.Key)
			}),
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, st) })
	}

	t.Run("ProcessorRecord", func(t *testing.T) {
		rs := recordStore(t, st)
		want := new(till.ProcessorRecord)
		fill(want)
		updateRecords(t, rs, func(tx till.RecordTx) error { return tx.CreateProcessorRecord(ctx, want) })
		var got *till.ProcessorRecord
		viewRecords(t, rs, func(tx till.RecordTx) (err error) {
			got, err = tx.ProcessorRecord(ctx, want.Reference)
			return err
		})
		sameValue(t, got, want)
	})
}

// roundTrip is one stored type's case of testRoundTrip.
type roundTrip struct {
	name string
	run  func(t *testing.T, st till.Store)
}

// trip returns the case of type T: a filled value, adjusted by fix (when
// not nil) to what the store accepts, created in one unit of work and read
// back in a view.
func trip[T any](name string, fix func(*T), create func(till.Tx, *T) error, get func(till.Tx, *T) (*T, error)) roundTrip {
	return roundTrip{name: name, run: func(t *testing.T, st till.Store) {
		want := new(T)
		fill(want)
		if fix != nil {
			fix(want)
		}
		update(t, st, func(tx till.Tx) error { return create(tx, want) })
		var got *T
		view(t, st, func(tx till.Tx) (err error) {
			got, err = get(tx, want)
			return err
		})
		sameValue(t, got, want)
	}}
}

// only returns the one element of list.
func only[T any](list []*T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("%d stored, want the 1 created", len(list))
	}
	return list[0], nil
}

// sameValue fails the test, naming each field that differs, unless got and
// want are deeply equal.
func sameValue[T any](t *testing.T, got, want *T) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	diffs := differences(reflect.ValueOf(got), reflect.ValueOf(want), reflect.TypeFor[T]().Name())
	if len(diffs) == 0 {
		diffs = []string{fmt.Sprintf("got %+v, want %+v", got, want)}
	}
	for _, d := range diffs {
		t.Errorf("read back differs from what was created: %s", d)
	}
}

// differences lists the paths at which got and want differ.
func differences(got, want reflect.Value, path string) []string {
	if got.Kind() != want.Kind() {
		return []string{path + ": kinds differ"}
	}
	switch got.Kind() {
	case reflect.Pointer:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
			}
			return nil
		}
		return differences(got.Elem(), want.Elem(), path)
	case reflect.Struct:
		if got.Type() == reflect.TypeFor[time.Time]() {
			break
		}
		var out []string
		for i := range got.NumField() {
			if got.Type().Field(i).IsExported() {
				out = append(out, differences(got.Field(i), want.Field(i), path+"."+got.Type().Field(i).Name)...)
			}
		}
		return out
	case reflect.Slice:
		if got.Len() != want.Len() || got.Type().Elem().Kind() == reflect.Uint8 {
			break
		}
		var out []string
		for i := range got.Len() {
			out = append(out, differences(got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
	}
	return nil
}

// fill sets every exported field reachable from the pointer v to a
// distinct, deterministic non-zero value: strings, numbers and times that
// count up, true, one-element slices and maps, allocated pointers. Times are
// UTC with microsecond precision.
func fill(v any) {
	n := 0
	var set func(reflect.Value)
	set = func(v reflect.Value) {
		n++
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(epoch.Add(time.Duration(n)*time.Second + time.Duration(n)*time.Microsecond)))
			return
		}
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("v%d", n))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(int64(n))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(uint64(n))
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			set(v.Elem())
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				v.SetBytes([]byte{byte(n), byte(n + 1), 0, 0xff})
				return
			}
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			set(v.Index(0))
		case reflect.Map:
			m := reflect.MakeMap(v.Type())
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			set(k)
			set(e)
			m.SetMapIndex(k, e)
			v.Set(m)
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					set(v.Field(i))
				}
			}
		default:
			panic(fmt.Sprintf("storetest: cannot fill a %s", v.Type()))
		}
	}
	set(reflect.ValueOf(v).Elem())
}
