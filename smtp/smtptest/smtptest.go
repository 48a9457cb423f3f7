// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) in
// the test process and records the messages it receives, parsed, so that
// tests anywhere in Till can send receipts over real SMTP and check what
// arrived, and how often:
//
//	srv := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("till", "secret"))
//	mailer, _ := smtp.New(srv.URL, smtp.Options{})
//	… // send
//	msgs := srv.Wait(t, 1, 5*time.Second)
//
// The server listens on 127.0.0.1 and stops when the test ends.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	tls        bool
	implicit   bool
	user, pass string
	rejectN    int // messages to refuse; negative: all
	rejectCode int
}

// WithTLS makes the server offer STARTTLS with a self-signed certificate for
// 127.0.0.1 and localhost, made for this server. The URL then carries
// insecure_skip_verify=true; Server.CertPool trusts the certificate, for
// tests that verify it instead. AUTH is only offered after STARTTLS.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithImplicitTLS makes the server speak TLS from the first byte, like a
// submission server on port 465, with a certificate as WithTLS makes. The
// URL then starts with smtps:// and carries insecure_skip_verify=true.
func WithImplicitTLS() Option { return func(c *config) { c.tls, c.implicit = true, true } }

// WithAuth makes the server offer AUTH PLAIN and refuse mail (530 5.7.0)
// until the client authenticated as user with pass. The URL then carries
// the credentials. Without WithTLS, AUTH is allowed on the plain
// connection.
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithRejectFirst makes the server refuse the first n messages at the end
// of DATA with "451 4.3.0", a transient failure, to test retries.
func WithRejectFirst(n int) Option { return WithReject(n, 451) }

// WithReject makes the server refuse the first n messages (every message
// when n is negative) at the end of DATA with the reply code code, such as
// 550 for a permanent failure.
func WithReject(n, code int) Option {
	return func(c *config) { c.rejectN, c.rejectCode = n, code }
}

// Server is a running SMTP server.
type Server struct {
	// URL is the TILL_SMTP_URL to reach the server, with credentials and
	// insecure_skip_verify=true as its options require.
	URL string
	// Addr is the host:port the server listens on.
	Addr string
	// CertPool trusts the server's certificate (WithTLS only).
	CertPool *x509.CertPool

	cfg  config
	srv  *gosmtp.Server
	ln   net.Listener
	once sync.Once

	mu       sync.Mutex
	messages []Message
	rejected int
}

// Message is one message the server accepted.
type Message struct {
	// MailFrom and RcptTo are the envelope: MAIL FROM and RCPT TO.
	MailFrom string
	RcptTo   []string
	// From and To are the bare addresses of the From and To headers;
	// FromName is From's display name, decoded.
	From     string
	FromName string
	To       string
	// Subject is the decoded Subject header.
	Subject string
	// MessageID is the Message-ID header as sent, with its angle brackets.
	MessageID string
	Date      time.Time
	// Text and HTML are the decoded text/plain and text/html parts.
	Text string
	HTML string
	// Attachments are the parts sent as attachments, decoded.
	Attachments []Attachment
	// TLS reports whether the message came over TLS (after STARTTLS).
	TLS bool
	// AuthUser is who the client authenticated as, or empty.
	AuthUser string
	// Raw is the message as received.
	Raw []byte
}

// Attachment is an attached file of a received message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Start starts a server on 127.0.0.1 and stops it when tb ends. It fails tb
// when the server cannot start.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{}
	for _, o := range opts {
		o(&s.cfg)
	}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 32 << 20
	srv.MaxRecipients = 50
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = !s.cfg.tls
	if s.cfg.tls {
		cert, pool, err := selfSigned()
		if err != nil {
			tb.Fatalf("smtptest: certificate: %v", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.CertPool = pool
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s.srv = srv
	s.Addr = l.Addr().String()
	u := url.URL{Scheme: "smtp", Host: s.Addr}
	if s.cfg.implicit {
		// The server must not offer STARTTLS on a connection that is
		// TLS already; go-smtp sees that from the connection itself.
		l = tls.NewListener(l, srv.TLSConfig)
		u.Scheme = "smtps"
	}
	if s.cfg.user != "" {
		u.User = url.UserPassword(s.cfg.user, s.cfg.pass)
	}
	if s.cfg.tls {
		u.RawQuery = "insecure_skip_verify=true"
	}
	s.URL = u.String()
	s.ln = l
	go srv.Serve(l) //nolint:errcheck // Serve returns when Close is called
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server and drops its connections; the URL then refuses
// connections. It may be called more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		// Serve may not have registered the listener yet, so close it
		// here too: then no connection is accepted after Close.
		s.ln.Close()
		s.srv.Close()
	})
}

// Messages returns a copy of the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Count returns how many accepted messages carry the Message-ID id (with
// its angle brackets), so a test can check a receipt was sent exactly once.
func (s *Server) Count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.messages {
		if m.MessageID == id {
			n++
		}
	}
	return n
}

// Rejected returns how many messages the server refused (WithReject).
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Wait waits until at least n messages have been accepted and returns all
// of them. It fails tb when fewer than n arrive within timeout.
func (s *Server) Wait(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			tb.Fatalf("smtptest: %d message(s) after %v, want %d", len(msgs), timeout, n)
			return msgs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

// session is one SMTP session; a STARTTLS starts a new one.
type session struct {
	s        *Server
	conn     *gosmtp.Conn
	authUser string
	from     string
	to       []string
}

var errAuthRequired = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func (ss *session) AuthMechanisms() []string {
	if ss.s.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.cfg.user == "" || mech != sasl.Plain {
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != ss.s.cfg.user || pass != ss.s.cfg.pass || (identity != "" && identity != user) {
			return gosmtp.ErrAuthFailed
		}
		ss.authUser = user
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if ss.s.cfg.user != "" && ss.authUser == "" {
		return errAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if ss.s.cfg.user != "" && ss.authUser == "" {
		return errAuthRequired
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.rejectN < 0 || s.rejected < s.cfg.rejectN {
		s.rejected++
		code := s.cfg.rejectCode
		enh := gosmtp.EnhancedCode{4, 3, 0}
		msg := "Temporary failure, try again later"
		if code >= 500 {
			enh, msg = gosmtp.EnhancedCode{5, 7, 1}, "Message rejected"
		}
		return &gosmtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
	}
	m, err := Parse(raw)
	if err != nil {
		return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 6, 0}, Message: "smtptest: cannot parse message: " + err.Error()}
	}
	m.MailFrom, m.RcptTo = ss.from, append([]string(nil), ss.to...)
	m.TLS, m.AuthUser = isTLS, ss.authUser
	s.messages = append(s.messages, m)
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid for a
// day, and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
