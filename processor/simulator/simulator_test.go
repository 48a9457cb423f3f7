package simulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/processor/simulator"
	"github.com/tillpay/till/sqlite"
)

var (
	t0    = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	scope = till.Scope{AccountID: "acct_test", Livemode: false}
)

// MustSimulator returns a Simulator on a fresh SQLite store, closed when the
// test ends, and that store.
func MustSimulator(tb testing.TB) (*simulator.Simulator, till.RecordStore) {
	tb.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "till.db"), sqlite.Options{})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	return simulator.New(store, till.RandomIDs{}), store
}

// charge returns a request to charge number 1000 EUR cents, captured,
// off-session, at t0.
func charge(ref, number string) till.ChargeRequest {
	return till.ChargeRequest{
		Reference:  ref,
		AccountID:  scope.AccountID,
		Livemode:   scope.Livemode,
		Amount:     1000,
		Currency:   "eur",
		Capture:    true,
		OffSession: true,
		Source: till.PaymentSource{
			Card:        &till.Card{Number: number, ExpMonth: 12, ExpYear: 2030, CVC: "123"},
			Fingerprint: "fp_" + number[len(number)-4:],
		},
		Description: "test",
		At:          t0,
	}
}

// MustCharge charges r and fails the test on an error.
func MustCharge(tb testing.TB, sim *simulator.Simulator, r till.ChargeRequest) *till.ProcessorResult {
	tb.Helper()
	res, err := sim.Charge(context.Background(), r)
	if err != nil {
		tb.Fatalf("Charge(%s): %v", r.Reference, err)
	}
	return res
}

// MustRecords lists the records under reference (or, with reference empty,
// under the charge parent).
func MustRecords(tb testing.TB, store till.RecordStore, reference, parent string) []*till.ProcessorRecord {
	tb.Helper()
	var out []*till.ProcessorRecord
	err := store.ViewRecords(context.Background(), func(tx till.RecordTx) error {
		var err error
		out, err = tx.ProcessorRecords(context.Background(), scope, reference, parent)
		return err
	})
	if err != nil {
		tb.Fatalf("ProcessorRecords: %v", err)
	}
	return out
}

// MustRecord returns the one record under reference.
func MustRecord(tb testing.TB, store till.RecordStore, reference string) *till.ProcessorRecord {
	tb.Helper()
	recs := MustRecords(tb, store, reference, "")
	if len(recs) != 1 {
		tb.Fatalf("records under %s: got %d, want 1", reference, len(recs))
	}
	return recs[0]
}

func wantCode(tb testing.TB, err error, code till.Code) {
	tb.Helper()
	if got := till.ErrorCode(err); got != code {
		tb.Fatalf("error code: got %q (%v), want %q", got, err, code)
	}
}

func TestName(t *testing.T) {
	sim, _ := MustSimulator(t)
	if got := sim.Name(); got != till.ProcessorSimulator {
		t.Errorf("Name() = %q, want %q", got, till.ProcessorSimulator)
	}
}

func TestVerify(t *testing.T) {
	sim, store := MustSimulator(t)
	tests := []struct {
		number  string
		outcome till.ProcessorOutcome
		decline string
	}{
		{simulator.CardVisa, till.ProcessorSucceeded, ""},
		{simulator.CardMastercard, till.ProcessorSucceeded, ""},
		{simulator.CardAmex, till.ProcessorSucceeded, ""},
		{simulator.CardIncorrectCVC, till.ProcessorDeclined, till.DeclineIncorrectCVC},
		{simulator.CardExpired, till.ProcessorDeclined, till.DeclineExpiredCard},
		// Cards that decline when charged save fine.
		{simulator.CardDeclined, till.ProcessorSucceeded, ""},
		{simulator.CardInsufficientFunds, till.ProcessorSucceeded, ""},
		{simulator.CardAuthentication, till.ProcessorSucceeded, ""},
		{simulator.CardTimeout, till.ProcessorSucceeded, ""},
		{simulator.CardRefundFails, till.ProcessorSucceeded, ""},
		{"4111111111111111", till.ProcessorSucceeded, ""},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			res, err := sim.Verify(context.Background(), till.VerifyRequest{
				AccountID: scope.AccountID,
				Source:    till.PaymentSource{Card: &till.Card{Number: tt.number, ExpMonth: 1, ExpYear: 2031}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome || res.DeclineCode != tt.decline {
				t.Errorf("got %s/%s, want %s/%s", res.Outcome, res.DeclineCode, tt.outcome, tt.decline)
			}
			if tt.decline != "" && res.Message == "" {
				t.Error("a decline has no message")
			}
		})
	}
	if recs := MustRecords(t, store, "", ""); len(recs) != 0 {
		t.Errorf("Verify wrote %d records, want none", len(recs))
	}
	t.Run("provider reference", func(t *testing.T) {
		_, err := sim.Verify(context.Background(), till.VerifyRequest{Source: till.PaymentSource{ProviderRef: "pm_123"}})
		wantCode(t, err, till.EValidation)
	})
}

func TestCharge(t *testing.T) {
	tests := []struct {
		name          string
		number        string
		authorize     bool // Capture false
		onSession     bool
		authenticated bool
		outcome       till.ProcessorOutcome
		decline       string
		soft          bool
		settles       bool // SettleAt is At+5s
		disputes      bool // DisputeAt is At+60s
	}{
		{name: "visa", number: simulator.CardVisa, outcome: till.ProcessorSucceeded},
		{name: "mastercard", number: simulator.CardMastercard, outcome: till.ProcessorSucceeded},
		{name: "amex", number: simulator.CardAmex, outcome: till.ProcessorSucceeded},
		{name: "other luhn-valid", number: "4111111111111111", outcome: till.ProcessorSucceeded},
		{name: "authorize", number: simulator.CardVisa, authorize: true, outcome: till.ProcessorAuthorized},
		{name: "generic decline", number: simulator.CardDeclined, outcome: till.ProcessorDeclined, decline: till.DeclineGeneric},
		{name: "insufficient funds", number: simulator.CardInsufficientFunds, outcome: till.ProcessorDeclined, decline: till.DeclineInsufficientFunds, soft: true},
		{name: "processing error", number: simulator.CardProcessingError, outcome: till.ProcessorDeclined, decline: till.DeclineProcessingError, soft: true},
		{name: "declined authorization", number: simulator.CardDeclined, authorize: true, outcome: till.ProcessorDeclined, decline: till.DeclineGeneric},
		{name: "3ds off-session", number: simulator.CardAuthentication, outcome: till.ProcessorRequiresAction, decline: till.DeclineAuthenticationRequired},
		{name: "3ds authorize off-session", number: simulator.CardAuthentication, authorize: true, outcome: till.ProcessorRequiresAction, decline: till.DeclineAuthenticationRequired},
		{name: "3ds authenticated", number: simulator.CardAuthentication, onSession: true, authenticated: true, outcome: till.ProcessorSucceeded},
		{name: "3ds authenticated off-session flag", number: simulator.CardAuthentication, authenticated: true, outcome: till.ProcessorSucceeded},
		{name: "3ds on-session", number: simulator.CardAuthentication, onSession: true, outcome: till.ProcessorRequiresAction, decline: till.DeclineAuthenticationRequired},
		{name: "dispute", number: simulator.CardDispute, outcome: till.ProcessorSucceeded, disputes: true},
		{name: "pending succeeds", number: simulator.CardPendingSucceeds, outcome: till.ProcessorPending, settles: true},
		{name: "pending fails", number: simulator.CardPendingFails, outcome: till.ProcessorPending, settles: true},
		{name: "refund fails", number: simulator.CardRefundFails, outcome: till.ProcessorSucceeded},
	}
	sim, store := MustSimulator(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := charge("ref_charge_"+string(rune('a'+i)), tt.number)
			r.Capture = !tt.authorize
			r.OffSession = !tt.onSession
			r.Authenticated = tt.authenticated
			res := MustCharge(t, sim, r)
			if res.Outcome != tt.outcome || res.DeclineCode != tt.decline || res.SoftDecline != tt.soft {
				t.Errorf("got %s/%q soft=%v, want %s/%q soft=%v",
					res.Outcome, res.DeclineCode, res.SoftDecline, tt.outcome, tt.decline, tt.soft)
			}
			if (res.DeclineCode != "") != (res.Message != "") {
				t.Errorf("decline %q with message %q", res.DeclineCode, res.Message)
			}
			if !strings.HasPrefix(res.ProviderRef, simulator.PrefixCharge) || len(res.ProviderRef) < len(simulator.PrefixCharge)+22 {
				t.Errorf("ProviderRef = %q", res.ProviderRef)
			}
			if res.Amount != r.Amount {
				t.Errorf("Amount = %d, want %d", res.Amount, r.Amount)
			}
			rec := MustRecord(t, store, r.Reference)
			if rec.Kind != till.AttemptCharge || rec.Outcome != res.Outcome || rec.DeclineCode != res.DeclineCode ||
				rec.ProviderRef != res.ProviderRef || rec.Amount != r.Amount || rec.Currency != r.Currency ||
				rec.AccountID != r.AccountID || rec.ParentRef != "" || !rec.CreatedAt.Equal(t0) {
				t.Errorf("record %+v does not match the answer %+v", rec, res)
			}
			if rec.Last4 != tt.number[len(tt.number)-4:] || rec.Fingerprint != r.Source.Fingerprint {
				t.Errorf("record card: last4 %q fingerprint %q", rec.Last4, rec.Fingerprint)
			}
			doc, _ := json.Marshal(rec)
			if strings.Contains(string(doc), tt.number) {
				t.Errorf("the record holds the card number: %s", doc)
			}
			if got := rec.SettleAt != nil && rec.SettleAt.Equal(t0.Add(5*time.Second)); got != tt.settles {
				t.Errorf("SettleAt = %v, want set: %v", rec.SettleAt, tt.settles)
			}
			if got := rec.DisputeAt != nil && rec.DisputeAt.Equal(t0.Add(60*time.Second)); got != tt.disputes {
				t.Errorf("DisputeAt = %v, want set: %v", rec.DisputeAt, tt.disputes)
			}
		})
	}
}

func TestChargeValidation(t *testing.T) {
	sim, store := MustSimulator(t)
	tests := []struct {
		name  string
		edit  func(r *till.ChargeRequest)
		param string
	}{
		{"no reference", func(r *till.ChargeRequest) { r.Reference = "" }, "reference"},
		{"no time", func(r *till.ChargeRequest) { r.At = time.Time{} }, "at"},
		{"zero amount", func(r *till.ChargeRequest) { r.Amount = 0 }, "amount"},
		{"negative amount", func(r *till.ChargeRequest) { r.Amount = -5 }, "amount"},
		{"no currency", func(r *till.ChargeRequest) { r.Currency = "" }, "currency"},
		{"provider reference", func(r *till.ChargeRequest) { r.Source = till.PaymentSource{ProviderRef: "pm_123"} }, "source"},
		{"no source", func(r *till.ChargeRequest) { r.Source = till.PaymentSource{} }, "source.card"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := charge("ref_invalid", simulator.CardVisa)
			tt.edit(&r)
			_, err := sim.Charge(context.Background(), r)
			wantCode(t, err, till.EValidation)
			if e, _ := till.AsError(err); e.Param != tt.param {
				t.Errorf("Param = %q, want %q", e.Param, tt.param)
			}
		})
	}
	if recs := MustRecords(t, store, "ref_invalid", ""); len(recs) != 0 {
		t.Errorf("invalid charges wrote %d records", len(recs))
	}
}

func TestChargeIdempotent(t *testing.T) {
	sim, store := MustSimulator(t)
	cards := []string{simulator.CardVisa, simulator.CardDeclined, simulator.CardInsufficientFunds, simulator.CardAuthentication, simulator.CardDispute}
	for _, number := range cards {
		t.Run(number, func(t *testing.T) {
			r := charge("ref_idem_"+number, number)
			first := MustCharge(t, sim, r)
			r.At = t0.Add(time.Hour) // a retry, later
			again := MustCharge(t, sim, r)
			if *again != *first {
				t.Errorf("replay answered %+v, first %+v", again, first)
			}
			if recs := MustRecords(t, store, r.Reference, ""); len(recs) != 1 {
				t.Errorf("%d records, want 1", len(recs))
			}
		})
	}

	t.Run("mismatch", func(t *testing.T) {
		r := charge("ref_mismatch", simulator.CardVisa)
		MustCharge(t, sim, r)
		edits := map[string]func(r *till.ChargeRequest){
			"amount":   func(r *till.ChargeRequest) { r.Amount++ },
			"currency": func(r *till.ChargeRequest) { r.Currency = "usd" },
			"account":  func(r *till.ChargeRequest) { r.AccountID = "acct_other" },
			"mode":     func(r *till.ChargeRequest) { r.Livemode = true },
			"card": func(r *till.ChargeRequest) {
				r.Source.Card.Number = simulator.CardMastercard
				r.Source.Fingerprint = "fp_other"
			},
		}
		for name, edit := range edits {
			t.Run(name, func(t *testing.T) {
				r := charge("ref_mismatch", simulator.CardVisa)
				edit(&r)
				_, err := sim.Charge(context.Background(), r)
				wantCode(t, err, till.EValidation)
			})
		}
		// A reference of a charge cannot be reused for a refund either.
		_, err := sim.Refund(context.Background(), till.RefundRequest{
			Reference: "ref_mismatch", ChargeReference: "ref_mismatch", Amount: 10, Currency: "eur", At: t0,
		})
		wantCode(t, err, till.EValidation)
		if recs := MustRecords(t, store, "ref_mismatch", ""); len(recs) != 1 || recs[0].Amount != 1000 {
			t.Errorf("records after mismatches: %+v", recs)
		}
	})

	t.Run("3ds needs a new reference", func(t *testing.T) {
		r := charge("ref_3ds", simulator.CardAuthentication)
		if res := MustCharge(t, sim, r); res.Outcome != till.ProcessorRequiresAction {
			t.Fatalf("off-session: %s", res.Outcome)
		}
		r.Authenticated = true
		r.OffSession = false
		if res := MustCharge(t, sim, r); res.Outcome != till.ProcessorRequiresAction {
			t.Errorf("same reference after authentication: %s, want the recorded requires_action", res.Outcome)
		}
		r.Reference = "ref_3ds_completed"
		if res := MustCharge(t, sim, r); res.Outcome != till.ProcessorSucceeded {
			t.Errorf("new reference after authentication: %s, want succeeded", res.Outcome)
		}
	})
}

func TestChargeConcurrentSameReference(t *testing.T) {
	sim, store := MustSimulator(t)
	const n = 50
	r := charge("ref_race", simulator.CardVisa)
	results := make([]*till.ProcessorResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = sim.Charge(context.Background(), r)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if *results[i] != *results[0] {
			t.Errorf("call %d answered %+v, call 0 %+v", i, results[i], results[0])
		}
	}
	if results[0].Outcome != till.ProcessorSucceeded {
		t.Errorf("outcome %s", results[0].Outcome)
	}
	if recs := MustRecords(t, store, r.Reference, ""); len(recs) != 1 {
		t.Errorf("%d records, want exactly 1", len(recs))
	}
}

func TestPendingSettlement(t *testing.T) {
	tests := []struct {
		name    string
		number  string
		capture bool
		final   till.ProcessorOutcome
		decline string
		byLook  bool // settled by Lookup (else by a repeated Charge)
	}{
		{"succeeds by lookup", simulator.CardPendingSucceeds, true, till.ProcessorSucceeded, "", true},
		{"authorizes by lookup", simulator.CardPendingSucceeds, false, till.ProcessorAuthorized, "", true},
		{"fails by lookup", simulator.CardPendingFails, true, till.ProcessorDeclined, till.DeclineInsufficientFunds, true},
		{"succeeds by replay", simulator.CardPendingSucceeds, true, till.ProcessorSucceeded, "", false},
		{"fails by replay", simulator.CardPendingFails, true, till.ProcessorDeclined, till.DeclineInsufficientFunds, false},
	}
	sim, store := MustSimulator(t)
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := charge("ref_pending_"+string(rune('a'+i)), tt.number)
			r.Capture = tt.capture
			first := MustCharge(t, sim, r)
			if first.Outcome != till.ProcessorPending {
				t.Fatalf("first answer %s, want pending", first.Outcome)
			}
			ask := func(at time.Time) *till.ProcessorResult {
				t.Helper()
				if tt.byLook {
					res, err := sim.Lookup(ctx, till.LookupRequest{Reference: r.Reference, At: at})
					if err != nil {
						t.Fatal(err)
					}
					return res
				}
				rr := r
				rr.At = at
				return MustCharge(t, sim, rr)
			}
			if res := ask(t0.Add(5*time.Second - time.Millisecond)); res.Outcome != till.ProcessorPending {
				t.Errorf("before the settle time: %s, want pending", res.Outcome)
			}
			if rec := MustRecord(t, store, r.Reference); rec.Outcome != till.ProcessorPending {
				t.Errorf("record settled early: %s", rec.Outcome)
			}
			res := ask(t0.Add(5 * time.Second))
			if res.Outcome != tt.final || res.DeclineCode != tt.decline || res.ProviderRef != first.ProviderRef {
				t.Errorf("at the settle time: %+v, want %s/%q", res, tt.final, tt.decline)
			}
			if tt.decline != "" && (!res.SoftDecline || res.Message == "") {
				t.Errorf("settled decline: soft %v message %q", res.SoftDecline, res.Message)
			}
			rec := MustRecord(t, store, r.Reference)
			if rec.Outcome != tt.final || rec.DeclineCode != tt.decline {
				t.Errorf("settlement not recorded: %s/%q", rec.Outcome, rec.DeclineCode)
			}
			// Once settled, the answer holds whatever time is asked about.
			res, err := sim.Lookup(ctx, till.LookupRequest{Reference: r.Reference, At: t0})
			if err != nil || res.Outcome != tt.final {
				t.Errorf("lookup after settlement: %+v, %v", res, err)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	sim, store := MustSimulator(t)
	ctx := context.Background()
	r := charge("ref_timeout", simulator.CardTimeout)
	// The processor takes the money and does not answer: the call hangs
	// until its caller's deadline.
	const deadline = 150 * time.Millisecond
	cctx, cancel := context.WithTimeout(ctx, deadline)
	start := time.Now()
	res, err := sim.Charge(cctx, r)
	cancel()
	if !errors.Is(err, till.ErrProcessorTimeout) || res != nil {
		t.Fatalf("Charge = %+v, %v; want an error wrapping ErrProcessorTimeout", res, err)
	}
	if took := time.Since(start); took < deadline {
		t.Errorf("the timeout card answered after %s, before the caller's %s deadline", took, deadline)
	}
	rec := MustRecord(t, store, r.Reference)
	if rec.Outcome != till.ProcessorSucceeded || rec.Amount != r.Amount {
		t.Errorf("record %s %d, want the money taken", rec.Outcome, rec.Amount)
	}
	look, err := sim.Lookup(ctx, till.LookupRequest{Reference: r.Reference, At: t0.Add(30 * time.Second)})
	if err != nil || look.Outcome != till.ProcessorSucceeded || look.ProviderRef != rec.ProviderRef {
		t.Errorf("Lookup = %+v, %v; want succeeded", look, err)
	}
	again, err := sim.Charge(ctx, r)
	if err != nil || again.Outcome != till.ProcessorSucceeded || again.ProviderRef != rec.ProviderRef {
		t.Errorf("replay = %+v, %v; want the recorded success", again, err)
	}
	if recs := MustRecords(t, store, r.Reference, ""); len(recs) != 1 {
		t.Errorf("%d records, want 1: the money is taken once", len(recs))
	}
}

func TestLookup(t *testing.T) {
	sim, _ := MustSimulator(t)
	ctx := context.Background()
	_, err := sim.Lookup(ctx, till.LookupRequest{Reference: "ref_never", At: t0})
	wantCode(t, err, till.ENotFound)
	_, err = sim.Lookup(ctx, till.LookupRequest{Reference: "", At: t0})
	wantCode(t, err, till.EValidation)

	r := charge("ref_lookup", simulator.CardDeclined)
	first := MustCharge(t, sim, r)
	res, err := sim.Lookup(ctx, till.LookupRequest{Reference: r.Reference, At: t0})
	if err != nil || *res != *first {
		t.Errorf("Lookup = %+v, %v; want %+v", res, err, first)
	}
}

// MustAuthorize authorizes 1000 of number under ref.
func MustAuthorize(tb testing.TB, sim *simulator.Simulator, ref, number string) *till.ProcessorResult {
	tb.Helper()
	r := charge(ref, number)
	r.Capture = false
	res := MustCharge(tb, sim, r)
	if res.Outcome != till.ProcessorAuthorized {
		tb.Fatalf("authorize %s: %s", ref, res.Outcome)
	}
	return res
}

func TestCapture(t *testing.T) {
	sim, store := MustSimulator(t)
	ctx := context.Background()
	capture := func(ref, chargeRef string, amount int64) (*till.ProcessorResult, error) {
		return sim.Capture(ctx, till.CaptureRequest{Reference: ref, ChargeReference: chargeRef, Amount: amount, Currency: "eur", At: t0.Add(time.Minute)})
	}

	t.Run("full", func(t *testing.T) {
		MustAuthorize(t, sim, "ch_full", simulator.CardVisa)
		res, err := capture("cp_full", "ch_full", 1000)
		if err != nil || res.Outcome != till.ProcessorSucceeded || res.Amount != 1000 || !strings.HasPrefix(res.ProviderRef, simulator.PrefixCapture) {
			t.Fatalf("Capture = %+v, %v", res, err)
		}
		rec := MustRecord(t, store, "cp_full")
		if rec.Kind != till.AttemptCapture || rec.ParentRef != "ch_full" || rec.AccountID != scope.AccountID || rec.Last4 != "4242" {
			t.Errorf("capture record %+v", rec)
		}
		// The charge keeps its own answer; a replay of it still says authorized.
		if ch := MustRecord(t, store, "ch_full"); ch.Outcome != till.ProcessorAuthorized || ch.Amount != 1000 {
			t.Errorf("charge record edited: %s %d", ch.Outcome, ch.Amount)
		}
		again, err := capture("cp_full", "ch_full", 1000)
		if err != nil || *again != *res {
			t.Errorf("replay = %+v, %v; want %+v", again, err, res)
		}
		if recs := MustRecords(t, store, "", "ch_full"); len(recs) != 1 {
			t.Errorf("%d records under the charge, want 1", len(recs))
		}
	})

	t.Run("partial", func(t *testing.T) {
		MustAuthorize(t, sim, "ch_partial", simulator.CardVisa)
		res, err := capture("cp_partial", "ch_partial", 600)
		if err != nil || res.Outcome != till.ProcessorSucceeded || res.Amount != 600 {
			t.Fatalf("Capture = %+v, %v", res, err)
		}
	})

	MustAuthorize(t, sim, "ch_held", simulator.CardVisa)
	MustCharge(t, sim, charge("ch_captured", simulator.CardVisa))
	MustCharge(t, sim, charge("ch_declined", simulator.CardDeclined))
	pending := charge("ch_pending", simulator.CardPendingSucceeds)
	pending.Capture = false
	MustCharge(t, sim, pending)
	MustAuthorize(t, sim, "ch_released", simulator.CardVisa)
	if _, err := sim.Release(ctx, till.ReleaseRequest{Reference: "rl_released", ChargeReference: "ch_released", At: t0}); err != nil {
		t.Fatal(err)
	}
	MustAuthorize(t, sim, "ch_twice", simulator.CardVisa)
	if _, err := capture("cp_twice_1", "ch_twice", 500); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		req  till.CaptureRequest
		code till.Code
	}{
		{"more than authorized", till.CaptureRequest{ChargeReference: "ch_held", Amount: 1001, Currency: "eur"}, till.EValidation},
		{"other currency", till.CaptureRequest{ChargeReference: "ch_held", Amount: 100, Currency: "usd"}, till.EValidation},
		{"other provider reference", till.CaptureRequest{ChargeReference: "ch_held", ProviderRef: "sim_ch_other", Amount: 100, Currency: "eur"}, till.EValidation},
		{"zero amount", till.CaptureRequest{ChargeReference: "ch_held", Amount: 0, Currency: "eur"}, till.EValidation},
		{"no charge reference", till.CaptureRequest{Amount: 100, Currency: "eur"}, till.EValidation},
		{"unknown charge", till.CaptureRequest{ChargeReference: "ch_unknown", Amount: 100, Currency: "eur"}, till.ENotFound},
		{"a capture is not a charge", till.CaptureRequest{ChargeReference: "cp_twice_1", Amount: 100, Currency: "eur"}, till.ENotFound},
		{"already captured at charge", till.CaptureRequest{ChargeReference: "ch_captured", Amount: 100, Currency: "eur"}, till.EConflict},
		{"declined", till.CaptureRequest{ChargeReference: "ch_declined", Amount: 100, Currency: "eur"}, till.EConflict},
		{"pending", till.CaptureRequest{ChargeReference: "ch_pending", Amount: 100, Currency: "eur"}, till.EConflict},
		{"released", till.CaptureRequest{ChargeReference: "ch_released", Amount: 100, Currency: "eur"}, till.EConflict},
		{"captured twice", till.CaptureRequest{ChargeReference: "ch_twice", Amount: 100, Currency: "eur"}, till.EConflict},
		{"reference of the first capture, other amount", till.CaptureRequest{Reference: "cp_twice_1", ChargeReference: "ch_twice", Amount: 100, Currency: "eur"}, till.EValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Reference == "" {
				tt.req.Reference = "cp_bad"
			}
			tt.req.At = t0
			_, err := sim.Capture(ctx, tt.req)
			wantCode(t, err, tt.code)
		})
	}
	if recs := MustRecords(t, store, "cp_bad", ""); len(recs) != 0 {
		t.Errorf("failed captures wrote %d records", len(recs))
	}

	t.Run("pending authorization once settled", func(t *testing.T) {
		res, err := sim.Capture(ctx, till.CaptureRequest{Reference: "cp_pending", ChargeReference: "ch_pending", Amount: 1000, Currency: "eur", At: t0.Add(5 * time.Second)})
		if err != nil || res.Outcome != till.ProcessorSucceeded {
			t.Fatalf("Capture = %+v, %v", res, err)
		}
		if ch := MustRecord(t, store, "ch_pending"); ch.Outcome != till.ProcessorAuthorized {
			t.Errorf("charge record %s, want settled to authorized", ch.Outcome)
		}
	})
}

func TestRelease(t *testing.T) {
	sim, store := MustSimulator(t)
	ctx := context.Background()
	auth := MustAuthorize(t, sim, "ch_hold", simulator.CardVisa)
	release := till.ReleaseRequest{Reference: "rl_hold", ChargeReference: "ch_hold", ProviderRef: auth.ProviderRef, At: t0.Add(time.Minute)}
	res, err := sim.Release(ctx, release)
	if err != nil || res.Outcome != till.ProcessorSucceeded || res.Amount != 1000 || !strings.HasPrefix(res.ProviderRef, simulator.PrefixRelease) {
		t.Fatalf("Release = %+v, %v", res, err)
	}
	if rec := MustRecord(t, store, "rl_hold"); rec.Kind != till.AttemptRelease || rec.ParentRef != "ch_hold" {
		t.Errorf("release record %+v", rec)
	}
	again, err := sim.Release(ctx, release)
	if err != nil || *again != *res {
		t.Errorf("replay = %+v, %v; want %+v", again, err, res)
	}

	MustCharge(t, sim, charge("ch_paid", simulator.CardVisa))
	MustAuthorize(t, sim, "ch_cap", simulator.CardVisa)
	if _, err := sim.Capture(ctx, till.CaptureRequest{Reference: "cp_cap", ChargeReference: "ch_cap", Amount: 1000, Currency: "eur", At: t0}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		code till.Code
	}{
		{"release twice", func() error {
			_, err := sim.Release(ctx, till.ReleaseRequest{Reference: "rl_hold_2", ChargeReference: "ch_hold", At: t0})
			return err
		}, till.EConflict},
		{"capture after release", func() error {
			_, err := sim.Capture(ctx, till.CaptureRequest{Reference: "cp_hold", ChargeReference: "ch_hold", Amount: 100, Currency: "eur", At: t0})
			return err
		}, till.EConflict},
		{"refund after release", func() error {
			_, err := sim.Refund(ctx, till.RefundRequest{Reference: "re_hold", ChargeReference: "ch_hold", Amount: 100, Currency: "eur", At: t0})
			return err
		}, till.EConflict},
		{"release a captured charge", func() error {
			_, err := sim.Release(ctx, till.ReleaseRequest{Reference: "rl_paid", ChargeReference: "ch_paid", At: t0})
			return err
		}, till.EConflict},
		{"release after capture", func() error {
			_, err := sim.Release(ctx, till.ReleaseRequest{Reference: "rl_cap", ChargeReference: "ch_cap", At: t0})
			return err
		}, till.EConflict},
		{"release unknown", func() error {
			_, err := sim.Release(ctx, till.ReleaseRequest{Reference: "rl_unknown", ChargeReference: "ch_unknown", At: t0})
			return err
		}, till.ENotFound},
		{"release without a charge reference", func() error {
			_, err := sim.Release(ctx, till.ReleaseRequest{Reference: "rl_none", At: t0})
			return err
		}, till.EValidation},
		{"release reference reused for another charge", func() error {
			_, err := sim.Release(ctx, till.ReleaseRequest{Reference: "rl_hold", ChargeReference: "ch_paid", At: t0})
			return err
		}, till.EValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), tt.code) })
	}
}

func TestRefund(t *testing.T) {
	sim, store := MustSimulator(t)
	ctx := context.Background()
	refund := func(ref, chargeRef string, amount int64) (*till.ProcessorResult, error) {
		return sim.Refund(ctx, till.RefundRequest{Reference: ref, ChargeReference: chargeRef, Amount: amount, Currency: "eur", At: t0.Add(time.Hour)})
	}
	mustRefund := func(t *testing.T, ref, chargeRef string, amount int64) *till.ProcessorResult {
		t.Helper()
		res, err := refund(ref, chargeRef, amount)
		if err != nil {
			t.Fatalf("Refund(%s): %v", ref, err)
		}
		return res
	}

	t.Run("partial refunds up to the captured amount", func(t *testing.T) {
		MustCharge(t, sim, charge("ch_a", simulator.CardVisa))
		for _, step := range []struct {
			ref    string
			amount int64
		}{{"re_a1", 300}, {"re_a2", 300}} {
			if res := mustRefund(t, step.ref, "ch_a", step.amount); res.Outcome != till.ProcessorSucceeded || res.Amount != step.amount ||
				!strings.HasPrefix(res.ProviderRef, simulator.PrefixRefund) {
				t.Fatalf("Refund(%s) = %+v", step.ref, res)
			}
		}
		// A replay does not refund again, so 400 is still refundable.
		mustRefund(t, "re_a1", "ch_a", 300)
		_, err := refund("re_a3", "ch_a", 401)
		wantCode(t, err, till.EValidation)
		if res := mustRefund(t, "re_a3", "ch_a", 400); res.Outcome != till.ProcessorSucceeded {
			t.Fatalf("last refund %s", res.Outcome)
		}
		_, err = refund("re_a4", "ch_a", 1)
		wantCode(t, err, till.EValidation)
		recs := MustRecords(t, store, "", "ch_a")
		var sum int64
		for _, r := range recs {
			if r.Kind != till.AttemptRefund || r.ParentRef != "ch_a" {
				t.Errorf("record %+v", r)
			}
			sum += r.Amount
		}
		if len(recs) != 3 || sum != 1000 {
			t.Errorf("%d refund records summing to %d, want 3 summing to 1000", len(recs), sum)
		}
	})

	t.Run("more than captured at once", func(t *testing.T) {
		MustCharge(t, sim, charge("ch_b", simulator.CardVisa))
		_, err := refund("re_b", "ch_b", 1001)
		wantCode(t, err, till.EValidation)
		if recs := MustRecords(t, store, "re_b", ""); len(recs) != 0 {
			t.Errorf("an over-limit refund was recorded")
		}
	})

	t.Run("partially captured authorization", func(t *testing.T) {
		MustAuthorize(t, sim, "ch_c", simulator.CardVisa)
		_, err := refund("re_c0", "ch_c", 100)
		wantCode(t, err, till.EConflict) // not captured yet
		if _, err := sim.Capture(ctx, till.CaptureRequest{Reference: "cp_c", ChargeReference: "ch_c", Amount: 700, Currency: "eur", At: t0}); err != nil {
			t.Fatal(err)
		}
		_, err = refund("re_c1", "ch_c", 701)
		wantCode(t, err, till.EValidation)
		if res := mustRefund(t, "re_c1", "ch_c", 700); res.Outcome != till.ProcessorSucceeded {
			t.Errorf("refund %s", res.Outcome)
		}
	})

	t.Run("refund fails", func(t *testing.T) {
		MustCharge(t, sim, charge("ch_d", simulator.CardRefundFails))
		for _, ref := range []string{"re_d1", "re_d2"} {
			res := mustRefund(t, ref, "ch_d", 1000)
			if res.Outcome != till.ProcessorDeclined || res.DeclineCode != till.DeclineRefundFailed ||
				res.Message != "The card issuer refused the refund." || res.SoftDecline {
				t.Errorf("Refund(%s) = %+v, want declined refund_failed", ref, res)
			}
			if rec := MustRecord(t, store, ref); rec.Outcome != till.ProcessorDeclined || rec.DeclineCode != till.DeclineRefundFailed {
				t.Errorf("declined refund record %+v", rec)
			}
		}
		if again := mustRefund(t, "re_d1", "ch_d", 1000); again.Outcome != till.ProcessorDeclined {
			t.Errorf("replay %s", again.Outcome)
		}
	})

	MustCharge(t, sim, charge("ch_declined", simulator.CardDeclined))
	MustCharge(t, sim, charge("ch_pending", simulator.CardPendingSucceeds))
	MustCharge(t, sim, charge("ch_e", simulator.CardVisa))
	mustRefund(t, "re_e", "ch_e", 100)
	tests := []struct {
		name string
		req  till.RefundRequest
		code till.Code
	}{
		{"declined charge", till.RefundRequest{ChargeReference: "ch_declined", Amount: 100, Currency: "eur"}, till.EConflict},
		{"pending charge", till.RefundRequest{ChargeReference: "ch_pending", Amount: 100, Currency: "eur", At: t0}, till.EConflict},
		{"unknown charge", till.RefundRequest{ChargeReference: "ch_unknown", Amount: 100, Currency: "eur"}, till.ENotFound},
		{"other currency", till.RefundRequest{ChargeReference: "ch_e", Amount: 100, Currency: "usd"}, till.EValidation},
		{"no currency", till.RefundRequest{ChargeReference: "ch_e", Amount: 100}, till.EValidation},
		{"zero amount", till.RefundRequest{ChargeReference: "ch_e", Amount: 0, Currency: "eur"}, till.EValidation},
		{"reference reused with another amount", till.RefundRequest{Reference: "re_e", ChargeReference: "ch_e", Amount: 200, Currency: "eur"}, till.EValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Reference == "" {
				tt.req.Reference = "re_bad"
			}
			if tt.req.At.IsZero() {
				tt.req.At = t0.Add(time.Hour)
			}
			_, err := sim.Refund(ctx, tt.req)
			wantCode(t, err, tt.code)
		})
	}
	if recs := MustRecords(t, store, "re_bad", ""); len(recs) != 0 {
		t.Errorf("failed refunds wrote %d records", len(recs))
	}
	t.Run("pending charge once settled", func(t *testing.T) {
		if res := mustRefund(t, "re_pending", "ch_pending", 1000); res.Outcome != till.ProcessorSucceeded {
			t.Errorf("refund %s", res.Outcome)
		}
	})
}

func TestDisputes(t *testing.T) {
	sim, store := MustSimulator(t)
	ctx := context.Background()
	due := func(t *testing.T, at time.Time) []string {
		t.Helper()
		recs, err := sim.DueDisputes(ctx, scope, at)
		if err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, r := range recs {
			refs = append(refs, r.Reference)
		}
		return refs
	}

	MustCharge(t, sim, charge("ch_dispute", simulator.CardDispute))
	MustCharge(t, sim, charge("ch_plain", simulator.CardVisa))
	MustAuthorize(t, sim, "ch_dispute_held", simulator.CardDispute)
	MustAuthorize(t, sim, "ch_dispute_released", simulator.CardDispute)
	if _, err := sim.Release(ctx, till.ReleaseRequest{Reference: "rl", ChargeReference: "ch_dispute_released", At: t0}); err != nil {
		t.Fatal(err)
	}

	if got := due(t, t0.Add(59*time.Second)); len(got) != 0 {
		t.Errorf("due before 60 s: %v", got)
	}
	if got := due(t, t0.Add(60*time.Second)); strings.Join(got, ",") != "ch_dispute" {
		t.Errorf("due at 60 s: %v, want [ch_dispute]", got)
	}
	// Another scope sees none of them.
	if recs, err := sim.DueDisputes(ctx, till.Scope{AccountID: "acct_other"}, t0.Add(time.Hour)); err != nil || len(recs) != 0 {
		t.Errorf("other scope: %v, %v", recs, err)
	}

	_, err := sim.MarkDisputeReported(ctx, "ch_dispute", t0.Add(59*time.Second))
	wantCode(t, err, till.EConflict)
	dp, err := sim.MarkDisputeReported(ctx, "ch_dispute", t0.Add(61*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if dp.Kind != simulator.KindDispute || dp.ParentRef != "ch_dispute" || dp.Amount != 1000 ||
		dp.Reference != simulator.DisputeReference("ch_dispute") || !strings.HasPrefix(dp.ProviderRef, simulator.PrefixDispute) {
		t.Errorf("dispute record %+v", dp)
	}
	again, err := sim.MarkDisputeReported(ctx, "ch_dispute", t0.Add(time.Hour))
	if err != nil || again.ProviderRef != dp.ProviderRef {
		t.Errorf("second report = %+v, %v; want the first", again, err)
	}
	if got := due(t, t0.Add(time.Hour)); len(got) != 0 {
		t.Errorf("due after reporting: %v", got)
	}
	look, err := sim.Lookup(ctx, till.LookupRequest{Reference: simulator.DisputeReference("ch_dispute"), At: t0.Add(time.Hour)})
	if err != nil || look.Outcome != till.ProcessorSucceeded || look.Amount != 1000 {
		t.Errorf("Lookup(dispute) = %+v, %v", look, err)
	}
	if recs := MustRecords(t, store, "", "ch_dispute"); len(recs) != 1 {
		t.Errorf("%d records under the disputed charge, want 1", len(recs))
	}

	// A held authorization is disputed once captured, for the amount captured.
	if _, err := sim.Capture(ctx, till.CaptureRequest{Reference: "cp", ChargeReference: "ch_dispute_held", Amount: 400, Currency: "eur", At: t0}); err != nil {
		t.Fatal(err)
	}
	if got := due(t, t0.Add(time.Hour)); strings.Join(got, ",") != "ch_dispute_held" {
		t.Errorf("due after capture: %v", got)
	}
	if dp, err := sim.MarkDisputeReported(ctx, "ch_dispute_held", t0.Add(time.Hour)); err != nil || dp.Amount != 400 {
		t.Errorf("dispute of the capture: %+v, %v", dp, err)
	}

	_, err = sim.MarkDisputeReported(ctx, "ch_plain", t0.Add(time.Hour))
	wantCode(t, err, till.EConflict)
	_, err = sim.MarkDisputeReported(ctx, "ch_dispute_released", t0.Add(time.Hour))
	wantCode(t, err, till.EConflict)
	_, err = sim.MarkDisputeReported(ctx, "ch_unknown", t0.Add(time.Hour))
	wantCode(t, err, till.ENotFound)
}

// staleStore is a store whose first read of a processor record misses it, as
// a read that raced a concurrent insert on an engine without a single writer
// would.
type staleStore struct {
	till.RecordStore
	mu     sync.Mutex
	missed bool
}

type staleTx struct {
	till.RecordTx
	s *staleStore
}

func (s *staleStore) UpdateRecords(ctx context.Context, fn func(till.RecordTx) error) error {
	return s.RecordStore.UpdateRecords(ctx, func(tx till.RecordTx) error { return fn(staleTx{tx, s}) })
}

func (tx staleTx) ProcessorRecord(ctx context.Context, reference string) (*till.ProcessorRecord, error) {
	tx.s.mu.Lock()
	miss := !tx.s.missed
	tx.s.missed = true
	tx.s.mu.Unlock()
	if miss {
		return nil, till.NotFound("processor record", reference)
	}
	return tx.RecordTx.ProcessorRecord(ctx, reference)
}

func TestChargeRetriesOnDuplicate(t *testing.T) {
	sim, store := MustSimulator(t)
	r := charge("ref_dup", simulator.CardVisa)
	first := MustCharge(t, sim, r)
	stale := simulator.New(&staleStore{RecordStore: store}, till.RandomIDs{})
	again, err := stale.Charge(context.Background(), r)
	if err != nil || *again != *first {
		t.Fatalf("Charge after a duplicate = %+v, %v; want %+v", again, err, first)
	}
	if recs := MustRecords(t, store, r.Reference, ""); len(recs) != 1 {
		t.Errorf("%d records, want 1", len(recs))
	}
}
