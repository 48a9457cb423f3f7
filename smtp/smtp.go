// Package smtp sends Till's email (receipts) over SMTP with
// github.com/wneessen/go-mail. It implements till.Mailer.
//
// The server is named by a URL (TILL_SMTP_URL):
//
//	smtp://user:pass@host:587    submission; STARTTLS when the server offers it
//	smtp://host:25               no authentication
//	smtps://user:pass@host:465   TLS from the first byte (implicit TLS)
//
// Query parameters:
//
//	starttls=opportunistic|required   smtp:// only; default opportunistic
//	insecure_skip_verify=true         accept any server certificate: for tests and development only
//	timeout=30s                       bound of connecting and of each SMTP command
//
// The user name and password are percent-decoded ("p%40ss" is "p@ss"). The
// password is never logged and never part of an error message. A Mailer
// authenticates only over TLS (STARTTLS or smtps://) or to a server on the
// loopback interface: with credentials, a remote server that offers no
// STARTTLS is an error, since a man in the middle can strip that offer. It
// uses the first of SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN and CRAM-MD5
// the server offers.
package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/tillpay/till"
)

// DefaultTimeout bounds connecting and each SMTP command when neither the
// URL nor Options set a timeout.
const DefaultTimeout = 30 * time.Second

// Options tune a Mailer beyond what its URL says.
type Options struct {
	// Timeout bounds connecting and each SMTP command of a Send. The URL's
	// timeout parameter wins; zero means DefaultTimeout.
	Timeout time.Duration
	// TLSConfig, when set, is the base of the TLS configuration, for
	// instance to trust a private CA through RootCAs. Its ServerName is
	// set to the URL's host unless it names one itself.
	TLSConfig *tls.Config
	// HELO is the name the Mailer announces in EHLO; empty means the
	// machine's host name.
	HELO string
}

// Mailer sends email to one SMTP server. It is safe for concurrent use;
// each Send opens its own connection.
type Mailer struct {
	host        string
	port        int
	implicitTLS bool
	requireTLS  bool
	user, pass  string
	auth        bool
	timeout     time.Duration
	tlsConfig   *tls.Config
	helo        string
}

var _ till.Mailer = (*Mailer)(nil)

// New returns a Mailer for the server rawURL names (see the package comment
// for its forms). It checks the URL and connects to nothing. Its error never
// contains the password.
func New(rawURL string, opts Options) (*Mailer, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		// url.Error repeats the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("smtp: invalid URL: %v", err)
	}
	m := &Mailer{timeout: opts.Timeout, helo: opts.HELO}
	switch u.Scheme {
	case "smtp":
		m.port = mail.DefaultPort
	case "smtps":
		m.port, m.implicitTLS = mail.DefaultPortSSL, true
	default:
		return nil, fmt.Errorf("smtp: URL scheme %q: want smtp or smtps", u.Scheme)
	}
	m.host = u.Hostname()
	if m.host == "" {
		return nil, errors.New("smtp: URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("smtp: invalid port %q", p)
		}
		m.port = n
	}
	if u.Path != "" && u.Path != "/" {
		return nil, errors.New("smtp: URL must not have a path")
	}
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
		m.auth = m.user != ""
	}
	insecure := false
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "starttls":
			switch v {
			case "opportunistic", "":
			case "required":
				m.requireTLS = true
			default:
				return nil, fmt.Errorf("smtp: starttls=%q: want opportunistic or required", v)
			}
			if m.implicitTLS {
				return nil, errors.New("smtp: starttls does not apply to smtps://, which is TLS from the start")
			}
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("smtp: insecure_skip_verify=%q: want true or false", v)
			}
			insecure = b
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("smtp: timeout=%q: want a positive duration such as 30s", v)
			}
			m.timeout = d
		default:
			return nil, fmt.Errorf("smtp: unknown URL parameter %q", k)
		}
	}
	if m.timeout <= 0 {
		m.timeout = DefaultTimeout
	}
	if opts.TLSConfig != nil {
		m.tlsConfig = opts.TLSConfig.Clone()
	} else {
		m.tlsConfig = &tls.Config{}
	}
	if m.tlsConfig.ServerName == "" {
		m.tlsConfig.ServerName = m.host
	}
	if m.tlsConfig.MinVersion == 0 {
		m.tlsConfig.MinVersion = tls.VersionTLS12
	}
	if insecure {
		m.tlsConfig.InsecureSkipVerify = true
	}
	return m, nil
}

// String describes the server without the password, e.g.
// "smtp://user@mail.example.com:587", for logs.
func (m *Mailer) String() string {
	scheme := "smtp"
	if m.implicitTLS {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(m.host, strconv.Itoa(m.port))}
	if m.user != "" {
		u.User = url.User(m.user)
	}
	return u.String()
}

// Send delivers e to the server over a new connection: a multipart/
// alternative text and HTML body, e's attachments, and e.MessageID as the
// Message-ID header (a random one when it is empty; a malformed one is an
// error). It returns when the server has accepted the message or
// refused it, when the timeout runs out, or when ctx is done, whichever
// comes first; the connection is closed in every case. A non-nil error
// means the message may not have been delivered. Its text carries the
// server's reply and never the password; errors of the SMTP conversation
// have a Temporary method that reports whether the server's reply was
// transient (4xx) rather than permanent (5xx).
func (m *Mailer) Send(ctx context.Context, e *till.Email) error {
	if e == nil {
		return errors.New("smtp: nil email")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("smtp: send %s: %w", e.MessageID, err)
	}
	msg, err := m.message(e)
	if err != nil {
		return &Error{msg: "smtp: compose " + e.MessageID + ": " + m.redact(err.Error()), err: err}
	}

	// The connection is closed as soon as ctx is done, which ends whatever
	// SMTP command is waiting for the server.
	var stop func() bool
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{Timeout: m.timeout}
		var conn net.Conn
		var err error
		if m.implicitTLS {
			conn, err = (&tls.Dialer{NetDialer: d, Config: m.tlsConfig}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err == nil {
			stop = context.AfterFunc(ctx, func() { conn.Close() })
		}
		return conn, err
	}
	policy := mail.TLSOpportunistic
	if m.requireTLS {
		policy = mail.TLSMandatory
	}
	if m.implicitTLS {
		policy = mail.NoTLS // the connection is TLS already
	}
	copts := []mail.Option{
		mail.WithPort(m.port),
		mail.WithTimeout(m.timeout),
		mail.WithTLSPolicy(policy),
		mail.WithTLSConfig(m.tlsConfig),
		mail.WithDialContextFunc(dial),
		mail.WithoutNoop(),
	}
	if m.helo != "" {
		copts = append(copts, mail.WithHELO(m.helo))
	}
	if m.auth {
		copts = append(copts, mail.WithSMTPAuthCustom(&guardedAuth{user: m.user, pass: m.pass}))
	}
	client, err := mail.NewClient(m.host, copts...)
	if err != nil {
		return &Error{msg: "smtp: " + m.redact(err.Error()), err: err}
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if stop != nil {
		stop()
	}
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return &Error{msg: fmt.Sprintf("smtp: send %s via %s: %v", e.MessageID, m, cerr), err: cerr, temporary: true}
	}
	return &Error{
		msg:       fmt.Sprintf("smtp: send %s via %s: %s", e.MessageID, m, m.redact(err.Error())),
		err:       err,
		temporary: temporary(err),
	}
}

// message builds the MIME message of e.
func (m *Mailer) message(e *till.Email) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(e.From); err != nil {
		return nil, fmt.Errorf("From %q: %w", e.From, err)
	}
	if err := msg.To(e.To); err != nil {
		return nil, fmt.Errorf("To %q: %w", e.To, err)
	}
	msg.Subject(oneLine(e.Subject))
	if e.MessageID != "" {
		id, ok := messageID(e.MessageID)
		if !ok {
			return nil, fmt.Errorf("Message-ID %q: want <left@right> in printable ASCII", e.MessageID)
		}
		msg.SetMessageIDWithValue(id)
	}
	date := e.CreatedAt
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	switch {
	case e.Text != "" && e.HTML != "":
		msg.SetBodyString(mail.TypeTextPlain, e.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	case e.HTML != "":
		msg.SetBodyString(mail.TypeTextHTML, e.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, e.Text)
	}
	for _, a := range e.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := msg.AttachReader(oneLine(a.Name), bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("attachment %q: %w", a.Name, err)
		}
	}
	return msg, nil
}

// redact removes the password from s, should a server or library ever echo
// it.
func (m *Mailer) redact(s string) string {
	if m.pass == "" {
		return s
	}
	s = strings.ReplaceAll(s, m.pass, "xxxxx")
	if esc := url.QueryEscape(m.pass); esc != m.pass {
		s = strings.ReplaceAll(s, esc, "xxxxx")
	}
	return s
}

// messageID checks a Message-ID of the form "<left@right>" (RFC 5322
// §3.6.4, without the obsolete and quoted forms) and returns it without its
// angle brackets.
func messageID(s string) (string, bool) {
	if len(s) < 5 || s[0] != '<' || s[len(s)-1] != '>' {
		return "", false
	}
	id := s[1 : len(s)-1]
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || strings.Contains(right, "@") {
		return "", false
	}
	for _, r := range id {
		if r <= ' ' || r > '~' || r == '<' || r == '>' {
			return "", false
		}
	}
	return id, true
}

// oneLine replaces CR and LF with spaces, so no value can start a header of
// its own.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// Error is an error of Send. Its text carries the server's reply, never
// the password.
type Error struct {
	msg       string
	err       error
	temporary bool
}

// Error returns the message.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.err }

// Temporary reports whether trying again later may succeed: the server
// answered with a 4xx code, could not be reached, or the send was cut off.
// A 5xx answer is permanent.
func (e *Error) Temporary() bool { return e.temporary }

// temporary classifies err: SMTP replies by their code, everything else
// (network trouble, timeouts) as temporary.
func temporary(err error) bool {
	code := 0
	var se *mail.SendError
	var te *textproto.Error
	switch {
	case errors.As(err, &se):
		code = se.ErrorCode()
		if code == 0 {
			// No reply code: a bad address is permanent, trouble on
			// the wire is not.
			switch se.Reason {
			case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
				return false
			}
			return true
		}
	case errors.As(err, &te):
		code = te.Code
	}
	return code < 500 || code > 599
}
