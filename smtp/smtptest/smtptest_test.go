package smtptest_test

import (
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till/smtp/smtptest"
)

const single = "From: Shop <shop@example.test>\r\n" +
	"To: jane@example.test\r\n" +
	"Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Message-ID: <m1@till>\r\n" +
	"Date: Sat, 14 Mar 2026 09:30:00 +0000\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Gr=C3=BC=C3=9Fe aus Berlin\r\n"

func TestParseSinglePart(t *testing.T) {
	m, err := smtptest.Parse([]byte(single))
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "shop@example.test" || m.FromName != "Shop" || m.To != "jane@example.test" || m.Subject != "Grüße" ||
		m.MessageID != "<m1@till>" || m.Date.Year() != 2026 || m.Text != "Grüße aus Berlin\r\n" || m.HTML != "" || len(m.Attachments) != 0 {
		t.Errorf("parsed %+v", m)
	}
}

// TestStdlibClient checks the server with a client that is not Till's:
// net/smtp, AUTH PLAIN on loopback, and a first message refused with 451.
func TestStdlibClient(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("u", "p"), smtptest.WithRejectFirst(1))
	auth := smtp.PlainAuth("", "u", "p", "127.0.0.1")
	send := func() error {
		return smtp.SendMail(srv.Addr, auth, "shop@example.test", []string{"jane@example.test"}, []byte(single))
	}
	if err := send(); err == nil || !strings.HasPrefix(err.Error(), "451") {
		t.Fatalf("first send: %v, want 451", err)
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Wait(t, 1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].AuthUser != "u" || msgs[0].MailFrom != "shop@example.test" || srv.Rejected() != 1 || srv.Count("<m1@till>") != 1 {
		t.Errorf("messages %+v, rejected %d", msgs, srv.Rejected())
	}
	if err := smtp.SendMail(srv.Addr, smtp.PlainAuth("", "u", "wrong", "127.0.0.1"), "a@example.test", []string{"b@example.test"}, []byte(single)); err == nil {
		t.Error("wrong password accepted")
	}
}
