// Package webhook delivers signed events over HTTP: it implements
// till.WebhookSender. Every delivery of Till's own events carries two
// signatures so existing verification code works: Stripe's scheme
// (Till-Signature) and Standard Webhooks v1 (webhook-id, webhook-timestamp,
// webhook-signature); a dialect's delivery carries the headers its format
// made (till.WebhookRequest.Header) instead. In live
// mode it connects only to public addresses over https, checked on the
// address being dialed, so DNS rebinding cannot reach an internal service.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till"
)

// Sign returns the signature headers of a delivery of body, signed at t
// under each of secrets (the current one first):
//
//	Till-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=…]
//	webhook-id: <msgID>
//	webhook-timestamp: <unix>
//	webhook-signature: v1,<base64 HMAC-SHA256(key, "<msgID>.<t>.<body>")>[ v1,…]
//
// Till-Signature keys the HMAC with the whole secret string, as Stripe
// does; Standard Webhooks with the base64-decoded part after "whsec_".
func Sign(secrets []string, msgID string, t time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(t.Unix(), 10)
	stripe := []string{"t=" + ts}
	var std []string
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(ts + "."))
		m.Write(body)
		stripe = append(stripe, "v1="+hex.EncodeToString(m.Sum(nil)))
		m = hmac.New(sha256.New, standardKey(s))
		m.Write([]byte(msgID + "." + ts + "."))
		m.Write(body)
		std = append(std, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Till-Webhooks/1")
	h.Set("Till-Signature", strings.Join(stripe, ","))
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", strings.Join(std, " "))
	return h
}

// standardKey is the Standard Webhooks signing key of a secret: the bytes
// its base64 part after "whsec_" encodes (the whole string when it does not
// decode, as the reference libraries do for raw secrets).
func standardKey(secret string) []byte {
	if k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_")); err == nil {
		return k
	}
	return []byte(secret)
}

// Options tune a Sender.
type Options struct {
	// Timeout bounds one delivery (default till.WebhookTimeout).
	Timeout time.Duration
	// MaxIdlePerHost is how many idle connections to one endpoint are
	// kept for reuse (default 16).
	MaxIdlePerHost int
	// LookupHost resolves host names (default net.DefaultResolver); tests
	// give it one that answers what they need.
	LookupHost func(ctx context.Context, host string) ([]string, error)
}

// Sender delivers webhooks. It is safe for concurrent use.
type Sender struct {
	timeout    time.Duration
	live, test *http.Client
}

// drainLimit bounds how much of a response is read to reuse its connection.
const drainLimit = 64 << 10

// New returns a Sender.
func New(o Options) *Sender {
	if o.Timeout <= 0 {
		o.Timeout = till.WebhookTimeout
	}
	if o.MaxIdlePerHost <= 0 {
		o.MaxIdlePerHost = 16
	}
	client := func(guard bool) *http.Client {
		d := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
		if guard {
			d.Control = refusePrivate
		}
		dial := d.DialContext
		if o.LookupHost != nil {
			dial = resolvingDialer(d, o.LookupHost)
		}
		tr := &http.Transport{
			Proxy:                 nil, // an environment proxy would bypass the address check
			DialContext:           dial,
			TLSHandshakeTimeout:   o.Timeout,
			ResponseHeaderTimeout: o.Timeout,
			MaxIdleConnsPerHost:   o.MaxIdlePerHost,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     false,
		}
		return &http.Client{Transport: tr, Timeout: o.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Sender{timeout: o.Timeout, live: client(true), test: client(false)}
}

// errRefused marks a connection refused by the address check.
type errRefused struct{ addr, why string }

func (e *errRefused) Error() string {
	return fmt.Sprintf("refused to connect to %s: a %s address (live-mode webhooks reach public addresses only)", e.addr, e.why)
}

// refusePrivate is the live dialer's control function: it runs on the
// address about to be connected to, after any DNS resolution.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return &errRefused{addr: host, why: "unparsable"}
	}
	if why := till.ForbiddenAddr(a); why != "" {
		return &errRefused{addr: host, why: why}
	}
	return nil
}

// resolvingDialer resolves with lookup, then dials each address in turn
// (the control function still checks each).
func resolvingDialer(d *net.Dialer, lookup func(context.Context, string) ([]string, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		addrs := []string{host}
		if _, perr := netip.ParseAddr(host); perr != nil {
			if addrs, err = lookup(ctx, host); err != nil {
				return nil, err
			}
		}
		var last error = errors.New("no addresses")
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a, port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
}

// Send makes one delivery.
func (s *Sender) Send(ctx context.Context, r till.WebhookRequest) till.WebhookResult {
	start := time.Now()
	res := s.send(ctx, r)
	res.Latency = time.Since(start)
	return res
}

func (s *Sender) send(ctx context.Context, r till.WebhookRequest) till.WebhookResult {
	u, err := url.Parse(r.URL)
	if err != nil {
		return till.WebhookResult{Error: "invalid URL"}
	}
	c := s.test
	if r.Livemode {
		if u.Scheme != "https" {
			return till.WebhookResult{Error: "refused: live-mode webhooks use https only"}
		}
		c = s.live
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, strings.NewReader(string(r.Body)))
	if err != nil {
		return till.WebhookResult{Error: "invalid URL"}
	}
	sig := r.Header
	if sig == nil {
		sig = Sign(r.Secrets, r.MessageID, r.Timestamp, r.Body)
	}
	for k, v := range sig {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return till.WebhookResult{Error: describe(err, s.timeout)}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, till.WebhookExcerptBytes))
	io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	out := till.WebhookResult{StatusCode: resp.StatusCode, Excerpt: validUTF8(head)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		out.Error = "redirect not followed: Location " + resp.Header.Get("Location")
	}
	return out
}

// describe turns a transport error into a short reason.
func describe(err error, timeout time.Duration) string {
	var refused *errRefused
	var dns *net.DNSError
	switch {
	case errors.As(err, &refused):
		return refused.Error()
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("timed out after %v", timeout)
	case errors.As(err, &dns):
		return "DNS lookup failed: " + dns.Err + " (" + dns.Name + ")"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// validUTF8 returns b as text, cutting a trailing partial rune and
// replacing invalid bytes.
func validUTF8(b []byte) string {
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
		if r, _ := utf8.DecodeLastRune(b); r == utf8.RuneError {
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
