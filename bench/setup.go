package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// createCustomers creates n customers in Germany, each with the card 4242…
// saved as its default, using workers requests at a time, and returns their
// ids in order.
func createCustomers(ctx context.Context, c *client.Client, n, workers int, runID string) ([]string, error) {
	ids := make([]string, n)
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	expYear := time.Now().Year() + 5
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				var cust *api.Customer
				err := retryRateLimited(ctx, func() (err error) {
					cust, err = c.CreateCustomer(ctx, api.CustomerCreate{
						Email: fmt.Sprintf("bench-%s-%d@example.com", runID, i), Name: fmt.Sprintf("Bench Customer %d", i),
						Address: &api.Address{Line1: "Hauptstraße 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
					}, client.IdempotencyKey("bench-"+runID+"-customer-"+strconv.Itoa(i)))
					return err
				})
				if err == nil {
					err = retryRateLimited(ctx, func() error {
						_, err := c.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{SetDefault: true,
							Card: &api.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: expYear}},
							client.IdempotencyKey("bench-"+runID+"-card-"+strconv.Itoa(i)))
						return err
					})
				}
				if err != nil {
					errs <- fmt.Errorf("customer %d: %w", i, err)
					return
				}
				ids[i] = cust.ID
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return ids, err
}

// retryRateLimited calls f until it is not refused with 429 (a server given
// by --url may limit each key's rate), at most 30 times a second apart.
// The set-up's requests carry idempotency keys, so a retry is safe.
func retryRateLimited(ctx context.Context, f func() error) error {
	for range 30 {
		err := f()
		var ae *client.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return errors.New("still rate-limited after 30 tries: raise the server's --rate-limit")
}

// Verification is what the bench checked after the load.
type Verification struct {
	// OK is true when every check that ran passed.
	OK bool `json:"ok"`
	// Charges counts every charge sent, the warm-up's included; Succeeded
	// those answered 200 with status succeeded.
	Charges   int64 `json:"charges"`
	Succeeded int64 `json:"succeeded"`
	// Invoices counts the invoices listed for the bench's payments;
	// InvoiceSeries gives each number series seen as "PREFIX-2026: 1–5000".
	Invoices      int64    `json:"invoices"`
	InvoiceSeries []string `json:"invoiceSeries"`
	// Reconcile is "clean", "differences", "failed" or "skipped (…)".
	Reconcile       string   `json:"reconcile"`
	ReconcileReport string   `json:"reconcileReport,omitempty"`
	Problems        []string `json:"problems"`
}

// invoiceRef is the part of an invoice the check reads.
type invoiceRef struct {
	ID        string `json:"id"`
	Number    string `json:"number"`
	PaymentID string `json:"paymentId"`
}

// checkInvoices lists the account's invoices, newest first, until it has
// seen the invoice of every payment in paid (own says the account is the
// bench's own, so it reads them all), and checks that each payment has
// exactly one invoice and that the numbers listed run on without gap or
// duplicate in each series (from 1 when own).
func checkInvoices(ctx context.Context, c *client.Client, paid []string, own bool) (count int64, series []string, problems []string) {
	want := make(map[string]int, len(paid))
	for _, id := range paid {
		want[id] = 0
	}
	matched := 0
	seqs := map[string][]int64{}
	others := 0
	cursor := ""
	// Pages are bounded: every invoice of the bench's payments, a margin for
	// invoices other clients made meanwhile (an existing server), then stop.
	maxPages := len(paid)/100 + 20
	if !own {
		maxPages = 2*maxPages + 100
	}
	deadline := time.Now().Add(5 * time.Minute)
	complete := false
	for page := 0; page < maxPages && time.Now().Before(deadline); page++ {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("startingAfter", cursor)
		}
		out := &client.List[invoiceRef]{}
		if err := retryRateLimited(ctx, func() error {
			return c.Do(ctx, http.MethodGet, "/v1/invoices?"+q.Encode(), nil, out)
		}); err != nil {
			return count, nil, append(problems, "listing invoices: "+err.Error())
		}
		for _, inv := range out.Data {
			n, ok := want[inv.PaymentID]
			switch {
			case !ok:
				others++
			case n > 0:
				problems = append(problems, fmt.Sprintf("payment %s has a second invoice %s", inv.PaymentID, inv.Number))
			default:
				matched++
				count++
			}
			if ok {
				want[inv.PaymentID] = n + 1
			}
			i := strings.LastIndexByte(inv.Number, '-')
			seq, err := strconv.ParseInt(inv.Number[i+1:], 10, 64)
			if i < 0 || err != nil {
				problems = append(problems, fmt.Sprintf("invoice %s has a number %q without a sequence", inv.ID, inv.Number))
				continue
			}
			seqs[inv.Number[:i]] = append(seqs[inv.Number[:i]], seq)
		}
		if len(out.Data) == 0 || !out.HasMore || (!own && matched == len(paid)) {
			complete = true
			break
		}
		cursor = out.Data[len(out.Data)-1].ID
	}
	if !complete {
		problems = append(problems, "stopped listing invoices before the end (page or time bound)")
	}
	if matched != len(paid) {
		problems = append(problems, fmt.Sprintf("%d succeeded charges, but %d of them have an invoice", len(paid), matched))
	}
	if own && others > 0 {
		problems = append(problems, fmt.Sprintf("%d invoices belong to no charge of the bench", others))
	}
	names := make([]string, 0, len(seqs))
	for name := range seqs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := seqs[name]
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		series = append(series, fmt.Sprintf("%s: %d–%d", name, s[0], s[len(s)-1]))
		if own && s[0] != 1 {
			problems = append(problems, fmt.Sprintf("series %s starts at %d, not 1", name, s[0]))
		}
		for i := 1; i < len(s); i++ {
			switch {
			case s[i] == s[i-1]:
				problems = append(problems, fmt.Sprintf("invoice number %s-%06d is used twice", name, s[i]))
			case s[i] != s[i-1]+1:
				problems = append(problems, fmt.Sprintf("invoice numbers jump from %s-%06d to %s-%06d", name, s[i-1], name, s[i]))
			}
			if len(problems) > 20 {
				return count, series, append(problems, "… (more left out)")
			}
		}
	}
	return count, series, problems
}
