package smtp

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	gmsmtp "github.com/wneessen/go-mail/smtp"
)

// mechanisms are the SASL mechanisms a Mailer uses, best first.
var mechanisms = []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN", "CRAM-MD5"}

// errCleartext is returned instead of authenticating over a connection that
// is not encrypted.
var errCleartext = errors.New("refusing to authenticate without TLS: the server offered no STARTTLS (use smtps:// or a server that offers STARTTLS)")

// guardedAuth authenticates only over TLS or to a server on the loopback
// interface, whatever the mechanism: even a challenge-response mechanism
// (CRAM-MD5, SCRAM) hands an eavesdropper enough to guess the password
// offline, and a man in the middle can strip STARTTLS from the server's
// offer. It picks the first of mechanisms the server offers. One value
// serves one authentication.
type guardedAuth struct {
	user, pass string
	inner      gmsmtp.Auth
}

func (g *guardedAuth) Start(s *gmsmtp.ServerInfo) (string, []byte, error) {
	if !s.TLS && !loopback(s.Name) {
		return "", nil, errCleartext
	}
	var mech string
	for _, m := range mechanisms {
		if slices.ContainsFunc(s.Auth, func(o string) bool { return strings.EqualFold(o, m) }) {
			mech = m
			break
		}
	}
	switch mech {
	case "SCRAM-SHA-256":
		g.inner = gmsmtp.ScramSHA256Auth(g.user, g.pass)
	case "SCRAM-SHA-1":
		g.inner = gmsmtp.ScramSHA1Auth(g.user, g.pass)
	case "PLAIN":
		// The guard above has checked the connection.
		g.inner = gmsmtp.PlainAuth("", g.user, g.pass, s.Name, true)
	case "LOGIN":
		g.inner = gmsmtp.LoginAuth(g.user, g.pass, s.Name, true)
	case "CRAM-MD5":
		g.inner = gmsmtp.CRAMMD5Auth(g.user, g.pass)
	default:
		return "", nil, fmt.Errorf("the server offers no AUTH mechanism Till supports (offered: %q; supported: %s)",
			strings.Join(s.Auth, " "), strings.Join(mechanisms, " "))
	}
	return g.inner.Start(s)
}

func (g *guardedAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return g.inner.Next(fromServer, more)
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
