package pdf

import (
	"fmt"
	"time"

	"github.com/tillpay/till"
)

// The sample documents of the tests and of docs/. Amounts are worked out
// with till.MulDiv, the rounding function of every money path, so the
// fixtures hold the same exact figures the service would issue.

var (
	issued   = time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC)
	supplied = time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)
)

const reverseChargeNote = "Reverse charge: VAT to be accounted for by the recipient under Article 196 of Council Directive 2006/112/EC."

func schmidt() till.Party {
	return till.Party{
		Name: "Bäckerei Schmidt GmbH", LegalName: "Bäckerei Schmidt GmbH",
		Address:   till.Address{Line1: "Hauptstraße 12", City: "München", PostalCode: "80331", Country: "DE"},
		VATNumber: "DE123456789", Email: "rechnung@baeckerei-schmidt.de",
	}
}

func janaMueller() till.Party {
	return till.Party{
		Name:    "Jana Müller",
		Address: till.Address{Line1: "Lindenstraße 5", Line2: "Hinterhaus, 3. OG", City: "Berlin", PostalCode: "10969", Country: "DE"},
		Email:   "jana.mueller@example.de",
	}
}

// exclusiveLine is an item whose unit price is net: tax = round(net × rate).
func exclusiveLine(desc string, qty, unitNet int64, rate till.Rate, country, reason string) till.DocumentLine {
	net := qty * unitNet
	tax, _ := till.MulDiv(net, int64(rate), till.RateScale)
	return till.DocumentLine{Description: desc, Quantity: qty, UnitNet: unitNet, Net: net, Rate: rate, Tax: tax,
		Gross: net + tax, Country: country, Reason: reason}
}

// inclusiveLine is an item whose unit price is gross: net = round(gross ÷
// (1 + rate)), tax = gross − net, and the unit price net of tax is rounded.
func inclusiveLine(desc string, qty, unitGross int64, rate till.Rate, country, reason string) till.DocumentLine {
	gross := qty * unitGross
	net, _ := till.MulDiv(gross, till.RateScale, till.RateScale+int64(rate))
	unit, _ := till.MulDiv(net, 1, qty)
	return till.DocumentLine{Description: desc, Quantity: qty, UnitNet: unit, Net: net, Rate: rate, Tax: gross - net,
		Gross: gross, Country: country, Reason: reason}
}

// complete fills the tax summary, grouped by country, rate and reason in
// first-seen order, and the totals from d's lines.
func complete(d *till.Document) *till.Document {
	idx := map[string]int{}
	d.TaxSummary, d.Subtotal, d.Tax, d.Total = nil, 0, 0, 0
	for _, l := range d.Lines {
		k := fmt.Sprintf("%s|%d|%s", l.Country, l.Rate, l.Reason)
		i, ok := idx[k]
		if !ok {
			i = len(d.TaxSummary)
			idx[k] = i
			d.TaxSummary = append(d.TaxSummary, till.TaxLine{Country: l.Country, Rate: l.Rate, Reason: l.Reason})
		}
		d.TaxSummary[i].TaxableAmount += l.Net
		d.TaxSummary[i].TaxAmount += l.Tax
		d.Subtotal += l.Net
		d.Tax += l.Tax
		d.Total += l.Gross
	}
	return d
}

func invoice(number string, seq int64) *till.Document {
	return &till.Document{
		ID: "in_" + number, AccountID: "acct_schmidt", Livemode: true, Kind: till.DocInvoice,
		Number: number, Year: 2026, Sequence: seq, PaymentID: "pay_" + number, CustomerID: "cus_1",
		IssueDate: issued, SupplyDate: issued, Seller: schmidt(), Currency: "EUR",
		TaxBehavior: till.TaxExclusive, PaymentMethod: "Visa •••• 4242", CreatedAt: issued,
	}
}

// domesticInvoice is a German business selling to a German consumer at
// the standard rate.
func domesticInvoice() *till.Document {
	d := invoice("BS-2026-000042", 42)
	d.Buyer = janaMueller()
	d.Lines = []till.DocumentLine{
		exclusiveLine("Catering platter „Brotzeit“ for 12 people", 2, 8900, 190000, "DE", till.TaxReasonDomestic),
		exclusiveLine("Delivery within Munich", 1, 1500, 190000, "DE", till.TaxReasonDomestic),
	}
	return complete(d)
}

// reverseChargeInvoice is a service to a French business with a VAT
// number: 0 %, the customer accounts for the VAT.
func reverseChargeInvoice() *till.Document {
	d := invoice("BS-2026-000043", 43)
	d.SupplyDate = supplied
	d.Buyer = till.Party{
		Name: "Pâtisserie Lefèvre SARL",
		Address: till.Address{Line1: "12 Rue de la Paix", City: "Paris", PostalCode: "75002",
			Country: "FR"},
		VATNumber: "FR12345678901", Email: "comptabilite@patisserie-lefevre.fr",
	}
	d.PaymentMethod = "Mastercard •••• 5454"
	const rc = till.TaxReasonReverseCharge
	d.Lines = []till.DocumentLine{
		exclusiveLine("Two-day on-site baking workshop for the pastry team: sourdough starters, laminated doughs, "+
			"viennoiserie shaping and deck-oven management, including printed recipe booklets", 2, 95000, 0, "FR", rc),
		exclusiveLine("Recipe development: seasonal Brezel and Stollen range, adapted to French flour types (T55, T65)", 12, 8500, 0, "FR", rc),
		exclusiveLine("Travel expenses München – Paris (flat rate)", 1, 42000, 0, "FR", rc),
	}
	d.Notes = []string{reverseChargeNote + " Customer VAT number: FR12345678901."}
	return complete(d)
}

// inclusiveMixedInvoice has prices that include VAT, two rates and an
// exempt line; one line's net unit price is rounded.
func inclusiveMixedInvoice() *till.Document {
	d := invoice("BS-2026-000044", 44)
	d.TaxBehavior = till.TaxInclusive
	d.Buyer = janaMueller()
	d.Buyer.VATNumber = ""
	d.Lines = []till.DocumentLine{
		inclusiveLine("Birthday cake, dark chocolate, 26 cm", 1, 3490, 70000, "DE", till.TaxReasonDomestic),
		inclusiveLine("Filter coffee beans, 500 g", 3, 999, 70000, "DE", till.TaxReasonDomestic),
		inclusiveLine("Espresso machine descaling service", 3, 999, 190000, "DE", till.TaxReasonDomestic),
		inclusiveLine("Bread-baking course for adults (exempt educational service)", 1, 5000, 0, "DE", till.TaxReasonExempt),
	}
	d.Notes = []string{"Exempt supply: no VAT charged on lines marked exempt."}
	return complete(d)
}

// ossInvoice is a cross-border sale to a consumer in Greece under the EU
// One-Stop Shop, at the Greek rate.
func ossInvoice() *till.Document {
	d := invoice("BS-2026-000045", 45)
	d.Buyer = till.Party{
		Name:    "Ελένη Παπαδοπούλου",
		Address: till.Address{Line1: "Ερμού 25", City: "Αθήνα", PostalCode: "105 63", Country: "GR"},
		Email:   "eleni@example.gr",
	}
	d.Lines = []till.DocumentLine{
		exclusiveLine("Christmas Stollen gift box, shipped to Αθήνα, Ελλάδα", 2, 2490, 240000, "GR", till.TaxReasonEUOSS),
	}
	d.Notes = []string{"VAT charged at the rate of GR under the EU One-Stop Shop scheme (Articles 369a–369k of Directive 2006/112/EC)."}
	return complete(d)
}

// jpyInvoice is in a currency without minor units.
func jpyInvoice() *till.Document {
	d := &till.Document{
		ID: "in_jp", AccountID: "acct_sakura", Livemode: true, Kind: till.DocInvoice,
		Number: "SK-2026-000007", Year: 2026, Sequence: 7, IssueDate: issued, SupplyDate: issued,
		Seller: till.Party{Name: "Sakura Tea Trading K.K.", Address: till.Address{Line1: "1-2-3 Jingumae",
			City: "Shibuya-ku, Tokyo", PostalCode: "150-0001", Country: "JP"}, VATNumber: "T1234567890123"},
		Buyer:    till.Party{Name: "Yamada Taro", Address: till.Address{Line1: "4-5-6 Nishi-Shinjuku", City: "Shinjuku-ku, Tokyo", PostalCode: "160-0023", Country: "JP"}},
		Currency: "JPY", TaxBehavior: till.TaxExclusive, PaymentMethod: "JCB •••• 0505",
		Lines: []till.DocumentLine{
			exclusiveLine("Gyokuro green tea, 100 g tin", 3, 12000, 100000, "JP", till.TaxReasonDomestic),
			exclusiveLine("Tea ceremony whisk (chasen)", 1, 4580, 100000, "JP", till.TaxReasonDomestic),
		},
	}
	return complete(d)
}

// kwdInvoice is in a currency with three decimals, from a country where the
// seller does not collect tax.
func kwdInvoice() *till.Document {
	d := invoice("BS-2026-000046", 46)
	d.Currency = "KWD"
	d.Buyer = till.Party{Name: "Al-Sayer Hospitality W.L.L.", Address: till.Address{Line1: "Block 3, Street 14", City: "Kuwait City", Country: "KW"}}
	d.Lines = []till.DocumentLine{
		exclusiveLine("Frozen pretzel dough, pallet of 480", 2, 617_284, 0, "KW", till.TaxReasonNotCollecting),
	}
	d.Notes = []string{"No VAT charged: the supply is taxable in KW, where the seller does not collect tax."}
	return complete(d)
}

// longInvoice has n lines, some with long descriptions, to a Polish buyer.
func longInvoice(n int) *till.Document {
	d := invoice("BS-2026-000047", 47)
	d.Buyer = till.Party{
		Name:    "Piekarnia Żółć Sp. z o.o.",
		Address: till.Address{Line1: "ul. Piotrkowska 104", City: "Łódź", PostalCode: "90-006", Country: "PL"},
	}
	for i := 1; i <= n; i++ {
		desc := fmt.Sprintf("Item %03d: rye flour type 1150, 25 kg sack", i)
		if i%7 == 0 {
			desc = fmt.Sprintf("Item %03d: mixed pallet of baking supplies, consisting of wheat flour type 550, "+
				"fresh yeast, malt extract, coarse pretzel salt and parchment paper rolls for deck ovens", i)
		}
		d.Lines = append(d.Lines, exclusiveLine(desc, int64(i%5+1), int64(1000+i*37), 230000, "PL", till.TaxReasonEUOSS))
	}
	d.Notes = []string{"VAT charged at the rate of PL under the EU One-Stop Shop scheme (Articles 369a–369k of Directive 2006/112/EC)."}
	return complete(d)
}

// creditNote refunds part of domesticInvoice.
func creditNote() *till.Document {
	inv := domesticInvoice()
	refunded := time.Date(2026, 3, 20, 9, 15, 0, 0, time.UTC)
	d := &till.Document{
		ID: "cn_7", AccountID: inv.AccountID, Livemode: true, Kind: till.DocCreditNote,
		Number: "BS-CN-2026-000007", Year: 2026, Sequence: 7, PaymentID: inv.PaymentID, RefundID: "re_1",
		InvoiceID: inv.ID, InvoiceNo: inv.Number, CustomerID: inv.CustomerID,
		IssueDate: refunded, SupplyDate: refunded, Seller: inv.Seller, Buyer: inv.Buyer,
		Currency: "EUR", TaxBehavior: till.TaxExclusive, Reason: "requested_by_customer", CreatedAt: refunded,
		Lines: []till.DocumentLine{
			exclusiveLine("Refund for invoice BS-2026-000042: catering platter „Brotzeit“ for 12 people (one platter not delivered)",
				1, 8900, 190000, "DE", till.TaxReasonDomestic),
		},
	}
	return complete(d)
}
