package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

func charge(t *testing.T, env *Env, customerID string, amount int64, opts ...func(*api.ChargeRequest)) *api.Payment {
	t.Helper()
	in := api.ChargeRequest{CustomerID: customerID, Amount: Amount(amount), Currency: "EUR", Description: "Pro plan"}
	for _, o := range opts {
		o(&in)
	}
	return Must[*api.Payment](t)(env.Client.Charge(env.Ctx(), in))
}

// TestInvoiceIssued checks that a succeeded charge gets an invoice with the
// content an EU invoice needs and a real PDF.
func TestInvoiceIssued(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{
			LegalName: Str("Bäckerei Schmidt GmbH"), VATNumber: Str("DE123456789"), InvoicePrefix: Str("BS"),
			Address: &api.Address{Line1: "Hauptstraße 1", City: "Berlin", PostalCode: "10115", Country: "DE"}}))
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		p := charge(t, env, cust.ID, 1000)
		if p.InvoiceID == nil {
			t.Fatalf("no invoice on %+v", p)
		}
		inv := Must[*api.Document](t)(env.Client.Invoice(env.Ctx(), *p.InvoiceID))
		year := time.Now().UTC().Year()
		if inv.Number != fmt.Sprintf("BS-%d-000001", year) || inv.Object != "invoice" || inv.PaymentID != p.ID {
			t.Fatalf("invoice: %+v", inv)
		}
		if inv.Subtotal != 1000 || inv.TaxAmount != 190 || inv.Total != 1190 || len(inv.TaxSummary) != 1 || inv.TaxSummary[0].Rate != "19" {
			t.Fatalf("invoice amounts: %+v", inv)
		}
		if inv.Seller.Name != "Bäckerei Schmidt GmbH" || inv.Seller.VATNumber == nil || *inv.Seller.VATNumber != "DE123456789" ||
			inv.Buyer.Name != "Jana Müller" || len(inv.Lines) != 1 || inv.Lines[0].UnitNet != 1000 || inv.PaymentMethod == nil {
			t.Fatalf("invoice parties/lines: %+v", inv)
		}
		pdf := Must[[]byte](t)(env.Client.PDF(env.Ctx(), inv.PDFURL))
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 1000 {
			t.Fatalf("pdf: %d bytes starting %q", len(pdf), pdf[:min(len(pdf), 10)])
		}
		// Invoices list by payment; a credit note id is not an invoice.
		list := Must[*client.List[api.Document]](t)(env.Client.Invoices(env.Ctx(), client.ListParams{Filters: map[string]string{"paymentId": p.ID}}))
		if len(list.Data) != 1 || list.Data[0].ID != inv.ID {
			t.Fatalf("invoice list: %+v", list)
		}
		// A decline has no invoice; a hold gets one only when captured.
		bad, _ := env.CustomerWithCard("DE", "4000000000000002")
		_, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: bad.ID, Amount: Amount(1000), Currency: "EUR", Description: "x"})
		d := APIError(t, err, 402, "card_declined").Decline()
		failed := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), d.PaymentID))
		if failed.InvoiceID != nil {
			t.Fatalf("declined payment has an invoice")
		}
		hold := charge(t, env, cust.ID, 500, func(r *api.ChargeRequest) { r.Capture = Bool(false) })
		if hold.Status != "authorized" || hold.InvoiceID != nil {
			t.Fatalf("hold: %+v", hold)
		}
		captured := Must[*api.Payment](t)(env.Client.Capture(env.Ctx(), hold.ID, api.CaptureRequest{}))
		if captured.Status != "succeeded" || captured.InvoiceID == nil || captured.AmountCaptured != 595 {
			t.Fatalf("captured: %+v", captured)
		}
		inv2 := Must[*api.Document](t)(env.Client.Invoice(env.Ctx(), *captured.InvoiceID))
		if inv2.Number != fmt.Sprintf("BS-%d-000002", year) {
			t.Fatalf("second invoice number %s", inv2.Number)
		}
	})
}

// TestConcurrentInvoiceNumbers sends 50 charges at once: 50 invoices with
// consecutive numbers, no gap and no duplicate.
func TestConcurrentInvoiceNumbers(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		bad, _ := env.CustomerWithCard("DE", "4000000000000002")
		const n = 50
		var wg sync.WaitGroup
		for i := range n + 10 {
			wg.Go(func() {
				id := cust.ID
				if i >= n {
					id = bad.ID // declines in the mix take no number
				}
				env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: id, Amount: Amount(int64(100 + i)), Currency: "EUR", Description: "c"})
			})
		}
		wg.Wait()
		var seqs []int
		cursor := ""
		for {
			page := Must[*client.List[api.Document]](t)(env.Client.Invoices(env.Ctx(), client.ListParams{Limit: 100, StartingAfter: cursor}))
			for _, d := range page.Data {
				var seq, year int
				fmt.Sscanf(d.Number[strings.Index(d.Number, "-")+1:], "%d-%d", &year, &seq)
				seqs = append(seqs, seq)
			}
			if !page.HasMore {
				break
			}
			cursor = page.NextCursor
		}
		sort.Ints(seqs)
		if len(seqs) != n {
			t.Fatalf("%d invoices, want %d", len(seqs), n)
		}
		for i, s := range seqs {
			if s != i+1 {
				t.Fatalf("invoice numbers not consecutive from 1: %v", seqs)
			}
		}
	})
}

// TestRefunds covers partial and full refunds: proportional exact tax,
// credit notes in their own series, status changes, the ledger and the
// refund receipt.
func TestRefunds(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		p := charge(t, env, cust.ID, 1000) // 1190 gross, 190 tax
		r1 := Must[*api.Refund](t)(env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{Amount: Amount(595), Reason: "requested_by_customer"}))
		if r1.Status != "succeeded" || r1.Amount != 595 || r1.NetAmount != 500 || r1.TaxAmount != 95 || r1.CreditNoteID == nil {
			t.Fatalf("first refund: %+v", r1)
		}
		cn := Must[*api.Document](t)(env.Client.CreditNote(env.Ctx(), *r1.CreditNoteID))
		year := time.Now().UTC().Year()
		if cn.Object != "credit_note" || !strings.Contains(cn.Number, fmt.Sprintf("-CN-%d-000001", year)) || cn.Total != 595 || cn.TaxAmount != 95 ||
			cn.InvoiceID == nil || *cn.InvoiceID != *p.InvoiceID || cn.InvoiceNumber == nil {
			t.Fatalf("credit note: %+v", cn)
		}
		pdf := Must[[]byte](t)(env.Client.PDF(env.Ctx(), cn.PDFURL))
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Fatal("credit note pdf")
		}
		mid := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		if mid.Status != "partially_refunded" || mid.AmountRefunded != 595 {
			t.Fatalf("after partial refund: %+v", mid)
		}
		_, err := env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{Amount: Amount(596)})
		APIError(t, err, 400, "validation_error")
		// The rest, with an odd cent: all the tax comes back exactly.
		r2 := Must[*api.Refund](t)(env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{Amount: Amount(333)}))
		r3 := Must[*api.Refund](t)(env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{}))
		if r1.Amount+r2.Amount+r3.Amount != 1190 || r1.TaxAmount+r2.TaxAmount+r3.TaxAmount != 190 || r1.NetAmount+r2.NetAmount+r3.NetAmount != 1000 {
			t.Fatalf("refunds do not add up: %+v %+v %+v", r1, r2, r3)
		}
		full := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		if full.Status != "refunded" || full.AmountRefunded != 1190 {
			t.Fatalf("after full refund: %+v", full)
		}
		_, err = env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{})
		APIError(t, err, 409, "state_conflict")
		refunds := Must[*client.List[api.Refund]](t)(env.Client.Refunds(env.Ctx(), p.ID))
		if len(refunds.Data) != 3 || refunds.Data[0].ID != r3.ID {
			t.Fatalf("refund list: %+v", refunds.Data)
		}
		got := Must[*api.Refund](t)(env.Client.Refund(env.Ctx(), r2.ID))
		if got.ID != r2.ID || got.PaymentID != p.ID {
			t.Fatalf("refund get: %+v", got)
		}
		bal := Must[*api.Balance](t)(env.Client.Balance(env.Ctx()))
		if len(bal.Balances) != 1 || bal.Balances[0].Collected != 1190 || bal.Balances[0].Refunded != 1190 || bal.Balances[0].Net != 0 || bal.Balances[0].TaxPayable != 0 {
			t.Fatalf("balance: %+v", bal)
		}
		entries := Must[*client.List[api.JournalEntry]](t)(env.Client.LedgerEntries(env.Ctx(), client.ListParams{Filters: map[string]string{"paymentId": p.ID}}))
		if len(entries.Data) != 4 {
			t.Fatalf("ledger entries: %d", len(entries.Data))
		}
		// Refunding an unpaid or failed payment is a conflict.
		bad, _ := env.CustomerWithCard("DE", "4000000000000002")
		_, err = env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: bad.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		failedID := APIError(t, err, 402, "card_declined").Decline().PaymentID
		_, err = env.Client.CreateRefund(env.Ctx(), failedID, api.RefundRequest{})
		APIError(t, err, 409, "state_conflict")
		_, err = env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{Reason: "because"})
		APIError(t, err, 400, "validation_error")
	})
}

// TestConcurrentRefunds fires 20 refunds at one payment at once: together
// they never refund more than was captured.
func TestConcurrentRefunds(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		p := charge(t, env, cust.ID, 1000) // 1190
		var wg sync.WaitGroup
		var mu sync.Mutex
		var refunded int64
		for range 20 {
			wg.Go(func() {
				r, err := env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{Amount: Amount(100)})
				if err == nil && r.Status == "succeeded" {
					mu.Lock()
					refunded += r.Amount
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		got := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		if refunded != 1100 || got.AmountRefunded != 1100 || got.AmountRefunded > got.AmountCaptured {
			t.Fatalf("refunded %d (payment says %d) of %d", refunded, got.AmountRefunded, got.AmountCaptured)
		}
		recs := Must[[]api.ProcessorCharge](t)(env.Client.ProcessorCharges(env.Ctx(), "", p.ID))
		var processorRefunded int64
		for _, r := range recs {
			if r.Kind == "refund" && r.Outcome == "succeeded" {
				processorRefunded += r.Amount
			}
		}
		if processorRefunded != 1100 {
			t.Fatalf("processor refunded %d", processorRefunded)
		}
	})
}

// TestRefundFailingCard checks that a refund the processor refuses is
// stored failed with its reason and changes nothing else.
func TestRefundFailingCard(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4000000000004004")
		p := charge(t, env, cust.ID, 1000)
		before := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		r := Must[*api.Refund](t)(env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{Amount: Amount(500)}))
		if r.Status != "failed" || r.Failure == nil || r.Failure.Message == "" || r.CreditNoteID != nil {
			t.Fatalf("refund: %+v", r)
		}
		after := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		if after.Status != "succeeded" || after.AmountRefunded != 0 || after.Status != before.Status {
			t.Fatalf("payment changed: %+v", after)
		}
		notes := Must[*client.List[api.Document]](t)(env.Client.CreditNotes(env.Ctx(), client.ListParams{}))
		entries := Must[*client.List[api.JournalEntry]](t)(env.Client.LedgerEntries(env.Ctx(), client.ListParams{}))
		if len(notes.Data) != 0 || len(entries.Data) != 1 {
			t.Fatalf("failed refund left %d credit notes, %d ledger entries", len(notes.Data), len(entries.Data))
		}
		// The reservation is released: the full amount is refundable again
		// (and fails again at the processor).
		r2 := Must[*api.Refund](t)(env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{}))
		if r2.Amount != 1190 || r2.Status != "failed" {
			t.Fatalf("second refund: %+v", r2)
		}
	})
}

// TestHolds covers capture in full, partial capture with tax recomputed,
// release, and the conflicts around them.
func TestHolds(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		hold := charge(t, env, cust.ID, 10000, func(r *api.ChargeRequest) { r.Capture = Bool(false) })
		part := Must[*api.Payment](t)(env.Client.Capture(env.Ctx(), hold.ID, api.CaptureRequest{Amount: Amount(2500)}))
		if part.Status != "succeeded" || part.AmountSubtotal != 2500 || part.TaxAmount != 475 || part.AmountTotal != 2975 || part.AmountCaptured != 2975 {
			t.Fatalf("partial capture: %+v", part)
		}
		recs := Must[[]api.ProcessorCharge](t)(env.Client.ProcessorCharges(env.Ctx(), "", hold.ID))
		var captured int64
		for _, r := range recs {
			if r.Kind == "capture" {
				captured += r.Amount
			}
		}
		if captured != 2975 {
			t.Fatalf("processor captured %d: %+v", captured, recs)
		}
		_, err := env.Client.Capture(env.Ctx(), hold.ID, api.CaptureRequest{})
		APIError(t, err, 409, "state_conflict")

		hold2 := charge(t, env, cust.ID, 700, func(r *api.ChargeRequest) { r.Capture = Bool(false) })
		_, err = env.Client.Capture(env.Ctx(), hold2.ID, api.CaptureRequest{Amount: Amount(701)})
		APIError(t, err, 400, "validation_error")
		rel := Must[*api.Payment](t)(env.Client.Release(env.Ctx(), hold2.ID))
		if rel.Status != "canceled" || rel.AmountCaptured != 0 || rel.InvoiceID != nil {
			t.Fatalf("release: %+v", rel)
		}
		_, err = env.Client.Release(env.Ctx(), hold2.ID)
		APIError(t, err, 409, "state_conflict")
		_, err = env.Client.Capture(env.Ctx(), part.ID, api.CaptureRequest{})
		APIError(t, err, 409, "state_conflict")
		// A hold nobody captures is released when it expires (7 days).
		hold3 := charge(t, env, cust.ID, 300, func(r *api.ChargeRequest) { r.Capture = Bool(false) })
		Must[*api.Clock](t)(env.Client.AdvanceClock(env.Ctx(), 7*24*3600+60))
		env.Eventually(10*time.Second, "hold expiry", func() bool {
			p := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), hold3.ID))
			return p.Status == "canceled"
		})
	})
}

// TestReceiptsInMailbox checks the receipt of a charge and of a refund:
// queued with the payment, sent by the worker into the local mailbox with
// the PDF attached, status pending → sent, exactly once.
func TestReceiptsInMailbox(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		p := charge(t, env, cust.ID, 1000)
		if p.Receipt == nil || p.Receipt.Email != "buyer@example.com" || (p.Receipt.Status != "pending" && p.Receipt.Status != "sent") {
			t.Fatalf("receipt on the charge: %+v", p.Receipt)
		}
		env.Eventually(10*time.Second, "receipt sent", func() bool {
			got := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
			return got.Receipt.Status == "sent" && got.Receipt.SentAt != nil
		})
		mails := Must[*client.List[api.Email]](t)(env.Client.Emails(env.Ctx(), client.ListParams{Filters: map[string]string{"paymentId": p.ID}}))
		if len(mails.Data) != 1 {
			t.Fatalf("want one receipt, got %d", len(mails.Data))
		}
		m := mails.Data[0]
		if m.To != "buyer@example.com" || !strings.Contains(m.Text, "11.90") || m.HTML == "" || len(m.Attachments) != 1 ||
			m.Attachments[0].ContentType != "application/pdf" || m.Attachments[0].Size < 1000 {
			t.Fatalf("receipt mail: %+v", m)
		}
		// No receipt when asked not to; receiptEmail overrides the customer's.
		quiet := charge(t, env, cust.ID, 100, func(r *api.ChargeRequest) { r.SendReceipt = Bool(false) })
		other := charge(t, env, cust.ID, 100, func(r *api.ChargeRequest) { r.ReceiptEmail = "accounts@example.org" })
		if quiet.Receipt != nil || other.Receipt == nil || other.Receipt.Email != "accounts@example.org" {
			t.Fatalf("receipt options: %+v / %+v", quiet.Receipt, other.Receipt)
		}
		r := Must[*api.Refund](t)(env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{Amount: Amount(119)}))
		env.Eventually(10*time.Second, "refund receipt sent", func() bool {
			got := Must[*api.Refund](t)(env.Client.Refund(env.Ctx(), r.ID))
			return got.Receipt != nil && got.Receipt.Status == "sent"
		})
		mails = Must[*client.List[api.Email]](t)(env.Client.Emails(env.Ctx(), client.ListParams{Filters: map[string]string{"paymentId": p.ID}}))
		if len(mails.Data) != 2 || mails.Data[0].RefundID == nil || *mails.Data[0].RefundID != r.ID {
			t.Fatalf("refund receipt: %+v", mails.Data)
		}
		// Nothing is sent twice however long the workers run.
		time.Sleep(300 * time.Millisecond)
		all := Must[*client.List[api.Email]](t)(env.Client.Emails(env.Ctx(), client.ListParams{Limit: 100}))
		if len(all.Data) != 3 {
			t.Fatalf("mailbox holds %d messages, want 3 (charge, refund, the receiptEmail charge)", len(all.Data))
		}
	})
}

// TestLedgerRandomized drives hundreds of random charges, holds with partial
// captures, releases and refunds, then checks the books: every currency
// balances and reconcile finds nothing.
func TestLedgerRandomized(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		rng := rand.New(rand.NewPCG(7, 11))
		Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{TaxRegistrations: &api.TaxRegistrations{EUOSS: true}}))
		var custs []string
		for _, country := range []string{"DE", "FR", "AT", "US", "JP"} {
			c, _ := env.CustomerWithCard(country, "4242424242424242")
			custs = append(custs, c.ID)
		}
		currencies := []string{"EUR", "EUR", "JPY", "KWD", "USD"}
		n := 240
		if testing.Short() {
			n = 60
		}
		var paid []string
		for i := range n {
			in := api.ChargeRequest{CustomerID: custs[rng.IntN(len(custs))], Amount: Amount(int64(1 + rng.IntN(200000))),
				Currency: currencies[rng.IntN(len(currencies))], Description: fmt.Sprint("item ", i)}
			if rng.IntN(3) == 0 {
				in.TaxBehavior = "inclusive"
			}
			hold := rng.IntN(4) == 0
			if hold {
				in.Capture = Bool(false)
			}
			p := Must[*api.Payment](t)(env.Client.Charge(env.Ctx(), in))
			if hold {
				switch rng.IntN(3) {
				case 0:
					Must[*api.Payment](t)(env.Client.Release(env.Ctx(), p.ID))
					continue
				case 1:
					p = Must[*api.Payment](t)(env.Client.Capture(env.Ctx(), p.ID, api.CaptureRequest{Amount: Amount(1 + rng.Int64N(*in.Amount))}))
				default:
					p = Must[*api.Payment](t)(env.Client.Capture(env.Ctx(), p.ID, api.CaptureRequest{}))
				}
			}
			paid = append(paid, p.ID)
			for range rng.IntN(3) {
				cur := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
				left := cur.AmountCaptured - cur.AmountRefunded
				if left <= 0 {
					break
				}
				amt := 1 + rng.Int64N(left)
				if rng.IntN(3) == 0 {
					amt = left
				}
				Must[*api.Refund](t)(env.Client.CreateRefund(env.Ctx(), p.ID, api.RefundRequest{Amount: Amount(amt)}))
			}
		}
		var dr, cr = map[string]int64{}, map[string]int64{}
		cursor := ""
		for {
			page := Must[*client.List[api.JournalEntry]](t)(env.Client.LedgerEntries(env.Ctx(), client.ListParams{Limit: 100, StartingAfter: cursor}))
			for _, e := range page.Data {
				var edr, ecr int64
				for _, p := range e.Postings {
					edr += p.Debit
					ecr += p.Credit
				}
				if edr != ecr {
					t.Fatalf("entry %s does not balance: %d / %d", e.ID, edr, ecr)
				}
				dr[e.Currency] += edr
				cr[e.Currency] += ecr
			}
			if !page.HasMore {
				break
			}
			cursor = page.NextCursor
		}
		for cur := range dr {
			if dr[cur] != cr[cur] {
				t.Fatalf("%s: debits %d, credits %d", cur, dr[cur], cr[cur])
			}
		}
		rep, err := env.Service.Reconcile(env.Ctx())
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Clean() || rep.Payments < len(paid) {
			t.Fatalf("reconcile: %d payments, differences: %v", rep.Payments, rep.Differences)
		}
		t.Logf("%d payments (%d captured), %d refunds, %d journal entries: reconcile clean", rep.Payments, len(paid), rep.Refunds, rep.Entries)
	})
}
