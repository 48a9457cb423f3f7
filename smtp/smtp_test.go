package smtp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/smtp"
	"github.com/tillpay/till/smtp/smtptest"
)

// samplePDF stands for an invoice: binary, with bytes a text encoding would
// mangle.
var samplePDF = append([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), bytes.Repeat([]byte{0, 1, 2, 0xff, '\r', '\n', '.'}, 300)...)

func sampleEmail(id string) *till.Email {
	return &till.Email{
		MessageID: "<receipt." + id + "@till>",
		From:      `"Müller & Söhne" <receipts@acme.test>`,
		To:        "jane.doe@example.test",
		Subject:   "Your receipt from Müller & Söhne — 11.90 EUR",
		Text:      "Thank you for your payment.\nTotal paid: 11.90 EUR\n.\nA line with a lone dot above.\n",
		HTML:      "<!DOCTYPE html><html lang=\"en\"><body><h1>Thank you</h1><p>Total paid: 11.90&nbsp;EUR</p></body></html>\n",
		Attachments: []till.Attachment{
			{Name: "ACME-2026-000042.pdf", ContentType: "application/pdf", Data: samplePDF},
		},
		PaymentID: id,
		CreatedAt: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC),
	}
}

// MustNew returns a Mailer for rawURL or fails tb.
func MustNew(tb testing.TB, rawURL string, opts smtp.Options) *smtp.Mailer {
	tb.Helper()
	m, err := smtp.New(rawURL, opts)
	if err != nil {
		tb.Fatalf("smtp.New: %v", err)
	}
	return m
}

// MustSend sends e or fails tb.
func MustSend(tb testing.TB, m *smtp.Mailer, e *till.Email) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Send(ctx, e); err != nil {
		tb.Fatalf("Send: %v", err)
	}
}

func checkMessage(t *testing.T, got smtptest.Message, want *till.Email) {
	t.Helper()
	if got.MessageID != want.MessageID {
		t.Errorf("Message-ID = %q, want %q", got.MessageID, want.MessageID)
	}
	if got.Subject != want.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject, want.Subject)
	}
	if got.From != "receipts@acme.test" || got.FromName != "Müller & Söhne" {
		t.Errorf("From = %q %q", got.FromName, got.From)
	}
	if got.To != want.To || len(got.RcptTo) != 1 || got.RcptTo[0] != want.To || got.MailFrom != "receipts@acme.test" {
		t.Errorf("To = %q, envelope %q → %q", got.To, got.MailFrom, got.RcptTo)
	}
	if !got.Date.Equal(want.CreatedAt) {
		t.Errorf("Date = %v, want %v", got.Date, want.CreatedAt)
	}
	if norm(got.Text) != norm(want.Text) {
		t.Errorf("Text = %q, want %q", got.Text, want.Text)
	}
	if norm(got.HTML) != norm(want.HTML) {
		t.Errorf("HTML = %q, want %q", got.HTML, want.HTML)
	}
	if len(got.Attachments) != 1 {
		t.Fatalf("%d attachments, want 1", len(got.Attachments))
	}
	a := got.Attachments[0]
	if a.Name != "ACME-2026-000042.pdf" || a.ContentType != "application/pdf" || !bytes.Equal(a.Data, samplePDF) {
		t.Errorf("attachment %q %q, %d bytes, equal: %v", a.Name, a.ContentType, len(a.Data), bytes.Equal(a.Data, samplePDF))
	}
}

// norm undoes the CRLF line ends of the wire.
func norm(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func TestPlainDelivery(t *testing.T) {
	srv := smtptest.Start(t)
	m := MustNew(t, srv.URL, smtp.Options{})
	e := sampleEmail("pay_plain")
	MustSend(t, m, e)
	msgs := srv.Wait(t, 1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	checkMessage(t, msgs[0], e)
	if msgs[0].TLS || msgs[0].AuthUser != "" {
		t.Errorf("TLS = %v, AuthUser = %q on a plain server", msgs[0].TLS, msgs[0].AuthUser)
	}
	checkStructure(t, msgs[0].Raw)
}

// checkStructure parses the raw message with net/mail and mime/multipart
// alone: multipart/mixed of a multipart/alternative (text, then HTML) and
// the PDF.
func checkStructure(t *testing.T, raw []byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Subject", "From", "To", "Date", "Message-Id", "Mime-Version"} {
		if msg.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("top level %q, %v; want multipart/mixed", mt, err)
	}
	var kinds []string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		kinds = append(kinds, pt)
		if pt == "multipart/alternative" {
			ar := multipart.NewReader(p, pp["boundary"])
			for {
				q, err := ar.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				qt, qp, _ := mime.ParseMediaType(q.Header.Get("Content-Type"))
				kinds = append(kinds, qt+";"+strings.ToLower(qp["charset"]))
			}
		}
		if pt == "application/pdf" {
			if d, _, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition")); d != "attachment" {
				t.Errorf("PDF disposition %q", d)
			}
		}
	}
	want := "multipart/alternative text/plain;utf-8 text/html;utf-8 application/pdf"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("structure %q, want %q", got, want)
	}
}

func TestSTARTTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithTLS())
	t.Run("insecure_skip_verify", func(t *testing.T) {
		if !strings.Contains(srv.URL, "insecure_skip_verify=true") {
			t.Fatalf("URL %q", srv.URL)
		}
		e := sampleEmail("pay_tls1")
		MustSend(t, MustNew(t, srv.URL, smtp.Options{}), e)
		msgs := srv.Wait(t, 1, 5*time.Second)
		checkMessage(t, msgs[0], e)
		if !msgs[0].TLS {
			t.Error("the message came without TLS although the server offered STARTTLS")
		}
	})
	plainURL := "smtp://" + srv.Addr
	t.Run("verified", func(t *testing.T) {
		m := MustNew(t, plainURL+"?starttls=required", smtp.Options{TLSConfig: &tls.Config{RootCAs: srv.CertPool}})
		MustSend(t, m, sampleEmail("pay_tls2"))
		if msgs := srv.Wait(t, 2, 5*time.Second); !msgs[1].TLS {
			t.Error("no TLS")
		}
	})
	t.Run("unknown certificate", func(t *testing.T) {
		err := MustNew(t, plainURL, smtp.Options{}).Send(context.Background(), sampleEmail("pay_tls3"))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("err = %v, want a certificate error", err)
		}
		if n := len(srv.Messages()); n != 2 {
			t.Errorf("%d messages, want 2", n)
		}
	})
}

func TestStartTLSRequired(t *testing.T) {
	srv := smtptest.Start(t)
	m := MustNew(t, srv.URL+"?starttls=required", smtp.Options{})
	err := m.Send(context.Background(), sampleEmail("pay_req"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("err = %v, want a STARTTLS error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages, want 0", n)
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithImplicitTLS(), smtptest.WithAuth("till", "s3cret"))
	if !strings.HasPrefix(srv.URL, "smtps://") {
		t.Fatalf("URL %q", srv.URL)
	}
	e := sampleEmail("pay_smtps")
	MustSend(t, MustNew(t, srv.URL, smtp.Options{}), e)
	msgs := srv.Wait(t, 1, 5*time.Second)
	checkMessage(t, msgs[0], e)
	if !msgs[0].TLS || msgs[0].AuthUser != "till" {
		t.Errorf("TLS = %v, AuthUser = %q", msgs[0].TLS, msgs[0].AuthUser)
	}
}

func TestAuth(t *testing.T) {
	// The password needs percent-encoding in the URL.
	const user, pass = "till@acme.test", "p@ss:w/rd%?#"
	for _, tc := range []struct {
		name string
		opts []smtptest.Option
		tls  bool
	}{
		{"over STARTTLS", []smtptest.Option{smtptest.WithTLS(), smtptest.WithAuth(user, pass)}, true},
		{"plain on loopback", []smtptest.Option{smtptest.WithAuth(user, pass)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, tc.opts...)
			if strings.Contains(srv.URL, pass) {
				t.Fatalf("URL %q carries the password unescaped", srv.URL)
			}
			m := MustNew(t, srv.URL, smtp.Options{})
			if s := m.String(); strings.Contains(s, "p%40ss") || strings.Contains(s, pass) || !strings.Contains(s, "till%40acme.test@") {
				t.Errorf("String() = %q", s)
			}
			e := sampleEmail("pay_auth")
			MustSend(t, m, e)
			msgs := srv.Wait(t, 1, 5*time.Second)
			checkMessage(t, msgs[0], e)
			if msgs[0].AuthUser != user || msgs[0].TLS != tc.tls {
				t.Errorf("AuthUser = %q, TLS = %v", msgs[0].AuthUser, msgs[0].TLS)
			}

			// A wrong password fails, and the error does not show it.
			const wrong = "wrong-horse-battery"
			bad := MustNew(t, strings.Replace(srv.URL, "p%40ss", wrong, 1), smtp.Options{})
			err := bad.Send(context.Background(), sampleEmail("pay_badauth"))
			if err == nil || !strings.Contains(err.Error(), "535") {
				t.Fatalf("err = %v, want 535", err)
			}
			t.Logf("wrong password: %v", err)
			if strings.Contains(err.Error(), wrong) {
				t.Errorf("error shows the password: %v", err)
			}
			var se interface{ Temporary() bool }
			if !errors.As(err, &se) || se.Temporary() {
				t.Errorf("a refused login should be permanent: %v", err)
			}

			// Without credentials the server refuses the mail.
			anon := MustNew(t, "smtp://"+srv.Addr+"?insecure_skip_verify=true", smtp.Options{})
			if err := anon.Send(context.Background(), sampleEmail("pay_anon")); err == nil || !strings.Contains(err.Error(), "530") {
				t.Errorf("unauthenticated send: err = %v, want 530", err)
			}
			if n := len(srv.Messages()); n != 1 {
				t.Errorf("%d messages, want 1", n)
			}
		})
	}
}

func TestRejected(t *testing.T) {
	t.Run("permanent", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.WithReject(-1, 550))
		err := MustNew(t, srv.URL, smtp.Options{}).Send(context.Background(), sampleEmail("pay_550"))
		if err == nil || !strings.Contains(err.Error(), "550") || !strings.Contains(err.Error(), "Message rejected") {
			t.Fatalf("err = %v, want the server's 550 reply", err)
		}
		t.Logf("550: %v", err)
		var se *smtp.Error
		if !errors.As(err, &se) || se.Temporary() {
			t.Errorf("550 should be permanent: %v", err)
		}
		if len(srv.Messages()) != 0 || srv.Rejected() != 1 {
			t.Errorf("messages %d, rejected %d", len(srv.Messages()), srv.Rejected())
		}
	})
	t.Run("transient then accepted", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.WithRejectFirst(2))
		m := MustNew(t, srv.URL, smtp.Options{})
		e := sampleEmail("pay_451")
		for i := 0; i < 2; i++ {
			err := m.Send(context.Background(), e)
			var se *smtp.Error
			if err == nil || !strings.Contains(err.Error(), "451") || !errors.As(err, &se) || !se.Temporary() {
				t.Fatalf("attempt %d: err = %v, want a temporary 451", i+1, err)
			}
		}
		MustSend(t, m, e)
		msgs := srv.Wait(t, 1, 5*time.Second)
		if len(msgs) != 1 || srv.Rejected() != 2 || msgs[0].MessageID != e.MessageID {
			t.Errorf("messages %d, rejected %d", len(msgs), srv.Rejected())
		}
	})
}

func TestServerDown(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		srv := smtptest.Start(t)
		srv.Close()
		start := time.Now()
		err := MustNew(t, srv.URL, smtp.Options{}).Send(context.Background(), sampleEmail("pay_down"))
		if err == nil {
			t.Fatal("send to a closed server succeeded")
		}
		var se *smtp.Error
		if !errors.As(err, &se) || !se.Temporary() {
			t.Errorf("a server that is down should be temporary: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("silent", func(t *testing.T) {
		addr := silentServer(t)
		start := time.Now()
		err := MustNew(t, "smtp://"+addr+"?timeout=300ms", smtp.Options{}).Send(context.Background(), sampleEmail("pay_silent"))
		if err == nil {
			t.Fatal("send to a silent server succeeded")
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("timeout of 300ms took %v", d)
		}
		t.Logf("error: %v", err)
	})
}

func TestContext(t *testing.T) {
	addr := silentServer(t)
	m := MustNew(t, "smtp://"+addr, smtp.Options{Timeout: time.Minute})
	t.Run("canceled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(150*time.Millisecond, cancel)
		start := time.Now()
		err := m.Send(ctx, sampleEmail("pay_ctx"))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("cancel took %v", d)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		if err := m.Send(ctx, sampleEmail("pay_ctx2")); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("canceled before", func(t *testing.T) {
		srv := smtptest.Start(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := MustNew(t, srv.URL, smtp.Options{}).Send(ctx, sampleEmail("pay_ctx3")); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("%d messages, want 0", n)
		}
	})
}

// silentServer accepts connections and never answers, like a firewall that
// swallows packets or a hung server.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestConcurrentSends(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("till", "pw"))
	m := MustNew(t, srv.URL, smtp.Options{})
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- m.Send(context.Background(), sampleEmail(fmt.Sprintf("pay_%02d", i)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	msgs := srv.Wait(t, n, 5*time.Second)
	seen := map[string]bool{}
	for _, msg := range msgs {
		seen[msg.MessageID] = true
	}
	if len(msgs) != n || len(seen) != n {
		t.Errorf("%d messages, %d distinct ids, want %d", len(msgs), len(seen), n)
	}
}

func TestHeaderInjection(t *testing.T) {
	srv := smtptest.Start(t)
	e := sampleEmail("pay_inject")
	e.Subject = "Hello\r\nBcc: victim@example.test"
	e.Attachments[0].Name = "a.pdf\r\nX-Injected: 1"
	MustSend(t, MustNew(t, srv.URL, smtp.Options{}), e)
	msgs := srv.Wait(t, 1, 5*time.Second)
	raw := string(msgs[0].Raw)
	if strings.Contains(raw, "\r\nBcc:") || strings.Contains(raw, "\r\nX-Injected:") {
		t.Errorf("a header was injected:\n%s", raw[:min(len(raw), 800)])
	}
	if len(msgs[0].RcptTo) != 1 {
		t.Errorf("recipients %q", msgs[0].RcptTo)
	}
	for _, bad := range []func(e *till.Email){
		func(e *till.Email) { e.To = "jane@example.test\r\nBcc: victim@example.test" },
		func(e *till.Email) { e.From = "r@acme.test\r\nBcc: victim@example.test" },
		func(e *till.Email) { e.MessageID = "<receipt.x@till>\r\nX-Injected: 1" },
		func(e *till.Email) { e.MessageID = "receipt.x@till" },
		func(e *till.Email) { e.MessageID = "<receipt x@till>" },
	} {
		e := sampleEmail("pay_bad")
		bad(e)
		err := MustNew(t, srv.URL, smtp.Options{}).Send(context.Background(), e)
		var se *smtp.Error
		if err == nil || !errors.As(err, &se) || se.Temporary() {
			t.Errorf("To %q From %q Message-ID %q: err = %v, want a permanent error", e.To, e.From, e.MessageID, err)
		}
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		url, want string
	}{
		{"smtp://mail.example.com", "smtp://mail.example.com:25"},
		{"smtp://user:pa%40ss@mail.example.com:587", "smtp://user@mail.example.com:587"},
		{"smtps://user:secret@mail.example.com", "smtps://user@mail.example.com:465"},
		{"smtp://mail.example.com:2525?starttls=required&timeout=5s", "smtp://mail.example.com:2525"},
		{"smtp://[::1]:25?insecure_skip_verify=true", "smtp://[::1]:25"},
	} {
		m, err := smtp.New(tc.url, smtp.Options{})
		if err != nil {
			t.Errorf("New(%q): %v", tc.url, err)
			continue
		}
		if got := m.String(); got != tc.want {
			t.Errorf("New(%q).String() = %q, want %q", tc.url, got, tc.want)
		}
	}
	const secret = "hunter2-secret"
	for _, bad := range []string{
		"http://mail.example.com",
		"smtp://",
		"smtp://mail.example.com:0",
		"smtp://mail.example.com:99999",
		"smtp://mail.example.com/path",
		"smtp://mail.example.com?starttls=maybe",
		"smtps://mail.example.com?starttls=required",
		"smtp://mail.example.com?timeout=soon",
		"smtp://mail.example.com?timeout=-1s",
		"smtp://mail.example.com?insecure_skip_verify=perhaps",
		"smtp://mail.example.com?tls=on",
		"smtp://user:" + secret + "@mail.example.com:notaport",
		"smtp://user:" + secret + "@mail.exa mple.com",
		"smtp://user:" + secret + "%zz@mail.example.com",
	} {
		_, err := smtp.New(bad, smtp.Options{})
		if err == nil {
			t.Errorf("New(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("New(%q) error shows the password: %v", bad, err)
		}
	}
}
