package e2e

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/smtp/smtptest"
)

// TestReceiptOverSMTP sends a receipt to a real SMTP server with STARTTLS
// and authentication: one message, text and HTML parts, the invoice PDF
// attached, the account's sender, a stable Message-ID.
func TestReceiptOverSMTP(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		srv := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("till", "p@ss word"))
		url := srv.URL // carries the credentials (percent-encoded) and insecure_skip_verify for the self-signed certificate
		env := Start(t, b, Options{SMTPURL: url})
		Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{ReceiptFrom: Str("billing@shop.example"),
			Branding: &till.Branding{DisplayName: "Shop Example", Color: "#0a7d3b"}}))
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		p := charge(t, env, cust.ID, 1000)
		msgs := srv.Wait(t, 1, 10*time.Second)
		m := msgs[0]
		if !m.TLS || m.AuthUser != "till" || !strings.Contains(m.From, "billing@shop.example") || m.To != "buyer@example.com" ||
			!strings.Contains(m.Subject, "Shop Example") || !strings.Contains(m.Text, "11.90") || !strings.Contains(m.HTML, "11.90") {
			t.Fatalf("message: TLS=%v auth=%q from=%q to=%q subject=%q", m.TLS, m.AuthUser, m.From, m.To, m.Subject)
		}
		if len(m.Attachments) != 1 || !bytes.HasPrefix(m.Attachments[0].Data, []byte("%PDF-")) || !strings.Contains(m.MessageID, p.ID) {
			t.Fatalf("attachment or Message-ID: %q %d attachments", m.MessageID, len(m.Attachments))
		}
		env.Eventually(5*time.Second, "receipt marked sent", func() bool {
			got := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
			return got.Receipt.Status == "sent"
		})
		if srv.Count(m.MessageID) != 1 {
			t.Fatalf("receipt sent %d times", srv.Count(m.MessageID))
		}
	})
}

// TestReceiptRetriedThenFailed: a server that answers 451 twice gets the
// receipt on the third try; one that answers 550 makes the receipt fail at
// once, without retrying.
func TestReceiptRetriedThenFailed(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithRejectFirst(2))
	env := Start(t, SQLite, Options{SMTPURL: srv.URL})
	cust, _ := env.CustomerWithCard("DE", "4242424242424242")
	p := charge(t, env, cust.ID, 1000)
	srv.Wait(t, 1, 20*time.Second)
	env.Eventually(10*time.Second, "receipt sent after retries", func() bool {
		got := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		return got.Receipt.Status == "sent"
	})
	if srv.Rejected() != 2 || len(srv.Messages()) != 1 {
		t.Fatalf("rejected %d, delivered %d", srv.Rejected(), len(srv.Messages()))
	}

	bad := smtptest.Start(t, smtptest.WithReject(-1, 550))
	env2 := Start(t, SQLite, Options{SMTPURL: bad.URL})
	cust2, _ := env2.CustomerWithCard("DE", "4242424242424242")
	p2 := charge(t, env2, cust2.ID, 1000)
	env2.Eventually(10*time.Second, "receipt failed", func() bool {
		got := Must[*api.Payment](t)(env2.Client.Payment(env2.Ctx(), p2.ID))
		return got.Receipt.Status == "failed"
	})
	if bad.Rejected() != 1 {
		t.Fatalf("a permanent rejection was retried: %d attempts", bad.Rejected())
	}
}
