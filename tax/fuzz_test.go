package tax

import (
	"testing"
	"time"

	"github.com/tillpay/till"
)

// FuzzCalculate feeds Calculate arbitrary amounts, rates, behaviours,
// countries and VAT numbers. Every call must either fail with a validation
// error or return a result whose sums are exact and whose lines follow the
// rounding rule (checkInvariants).
func FuzzCalculate(f *testing.F) {
	f.Add(int64(1000), int64(0), uint32(190000), false, false, "DE", "DE", "", false, int64(0))
	f.Add(int64(1190), int64(1), uint32(190000), true, true, "DE", "", "", false, int64(0))
	f.Add(int64(10000), int64(10000), uint32(88750), false, false, "US", "US", "", false, int64(0))
	f.Add(int64(999_999_999_999), int64(0), uint32(1_000_000), true, false, "FI", "FR", "FR12345678901", true, int64(0))
	f.Add(int64(105), int64(105), uint32(0), false, false, "DE", "FI", "", true, int64(-86400*800))
	f.Add(int64(-1), int64(0), uint32(0), false, false, "DE", "GR", "EL123456789", false, int64(0))
	f.Fuzz(func(t *testing.T, a1, a2 int64, rate uint32, inclusive, exempt bool, origin, buyer, vat string, oss bool, shift int64) {
		req := Request{
			At:     time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).Add(time.Duration(shift%(86400*365*30)) * time.Second),
			Seller: Seller{Country: origin, EUOSS: oss, Registrations: []string{"CH"}},
			Buyer:  Buyer{Country: buyer, TaxIDs: []till.TaxID{{Type: "eu_vat", Value: vat}}},
			Lines:  []Line{{Amount: a1}, {Amount: a2}},
		}
		if origin == "US" {
			r := till.Rate(int64(rate) % (till.RateScale + 1))
			req.Seller.CustomRates = []till.CustomTaxRate{{Country: "US", Rate: r, Name: "Sales tax"}}
		}
		if inclusive {
			req.Behavior = till.TaxInclusive
		}
		if exempt {
			req.Lines[1].TaxCode = TaxCodeExempt
		}
		res, err := Calculate(req)
		if err != nil {
			e, ok := till.AsError(err)
			if !ok || e.Code != till.EValidation || e.Message == "" || e.Param == "" {
				t.Fatalf("error %v (%#v), want a validation *till.Error", err, e)
			}
			return
		}
		checkInvariants(t, req, res)
	})
}
