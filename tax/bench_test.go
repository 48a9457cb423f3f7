package tax

import (
	"testing"
	"time"

	"github.com/tillpay/till"
)

func BenchmarkCalculate(b *testing.B) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := map[string]Request{
		"domestic": {At: at, Seller: Seller{Country: "DE"}, Buyer: Buyer{Country: "DE"}, Behavior: till.TaxExclusive,
			Lines: []Line{{Amount: 1000}}},
		"oss": {At: at, Seller: Seller{Country: "DE", EUOSS: true}, Buyer: Buyer{Country: "FR"}, Behavior: till.TaxExclusive,
			Lines: []Line{{Amount: 1000}}},
		"inclusive-10-lines": {At: at, Seller: Seller{Country: "DE"}, Buyer: Buyer{Country: "DE"}, Behavior: till.TaxInclusive,
			Lines: []Line{{Amount: 1190}, {Amount: 595}, {Amount: 99}, {Amount: 1}, {Amount: 12345}, {Amount: 1000, TaxCode: "exempt"},
				{Amount: 777}, {Amount: 8888}, {Amount: 3}, {Amount: 42}}},
	}
	for name, req := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Calculate(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
