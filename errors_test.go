package till_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tillpay/till"
)

func TestRenameFields(t *testing.T) {
	snake := map[string]string{"customerId": "customer_id", "lineItems[0].unitAmount": "line_items[0].unit_amount",
		"amount": "amount_cents"}
	name := func(p string) string {
		if n, ok := snake[p]; ok {
			return n
		}
		return p
	}
	var v till.Validator
	v.Add("customerId", "customerId is required.")
	v.Add("lineItems[0].unitAmount", "lineItems[0].unitAmount must be at least 0; amount is not customerIdx")
	v.Add("amount", "amount is required (amount.total is not a field)")
	orig := v.Err()
	before := *errorOf(t, orig)
	got := errorOf(t, till.RenameFields(orig, name))
	want := []till.FieldError{
		{Field: "customer_id", Message: "customer_id is required."},
		{Field: "line_items[0].unit_amount", Message: "line_items[0].unit_amount must be at least 0; amount_cents is not customerIdx"},
		{Field: "amount_cents", Message: "amount_cents is required (amount.total is not a field)"},
	}
	if !reflect.DeepEqual(got.Fields, want) {
		t.Errorf("fields = %#v, want %#v", got.Fields, want)
	}
	if got.Param != "customer_id" || got.Message != "customer_id is required. (and 2 more problems)" {
		t.Errorf("param %q, message %q", got.Param, got.Message)
	}
	if after := errorOf(t, orig); after.Param != before.Param || after.Fields[0] != before.Fields[0] {
		t.Errorf("RenameFields changed its argument: %+v", after)
	}
	plain := errors.New("boom")
	if till.RenameFields(plain, name) != plain {
		t.Error("an error naming no field was changed")
	}
}

func errorOf(t *testing.T, err error) *till.Error {
	t.Helper()
	e, ok := till.AsError(err)
	if !ok {
		t.Fatalf("%v is not a *till.Error", err)
	}
	return e
}
