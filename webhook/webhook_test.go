package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/webhook"
)

// TestSign checks both schemes against HMACs computed here, for one secret
// and for two (a roll's overlap).
func TestSign(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key of thirty-two bytes!"))
	body := []byte(`{"id":"evt_1","object":"event"}`)
	at := time.Unix(1765050000, 0)
	mac := func(k []byte, msg string) []byte {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	h := webhook.Sign([]string{secret, other}, "evt_1", at, body)
	want := "t=1765050000,v1=" + hex.EncodeToString(mac([]byte(secret), "1765050000."+string(body))) +
		",v1=" + hex.EncodeToString(mac([]byte(other), "1765050000."+string(body)))
	if got := h.Get("Till-Signature"); got != want {
		t.Errorf("Till-Signature %q, want %q", got, want)
	}
	std := "v1," + base64.StdEncoding.EncodeToString(mac(key, "evt_1.1765050000."+string(body)))
	if got := h.Get("webhook-signature"); !strings.HasPrefix(got, std+" v1,") || len(strings.Fields(got)) != 2 {
		t.Errorf("webhook-signature %q, want it to start with %q", got, std)
	}
	if h.Get("webhook-id") != "evt_1" || h.Get("webhook-timestamp") != "1765050000" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
}

func send(s *webhook.Sender, url string, live bool) till.WebhookResult {
	return s.Send(context.Background(), till.WebhookRequest{URL: url, Livemode: live, MessageID: "evt_1",
		Body: []byte(`{}`), Secrets: []string{"whsec_eA=="}, Timestamp: time.Now()})
}

func TestSend(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/ok":
			if string(b) != "{}" || r.Header.Get("Till-Signature") == "" {
				w.WriteHeader(400)
			}
			w.Write([]byte(strings.Repeat("é", 2000)))
		case "/fail":
			w.WriteHeader(503)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		}
	}))
	defer srv.Close()
	s := webhook.New(webhook.Options{Timeout: 200 * time.Millisecond})
	if r := send(s, srv.URL+"/ok", false); !r.Delivered() || len(r.Excerpt) > till.WebhookExcerptBytes || !strings.HasPrefix(r.Excerpt, "éé") || r.Error != "" {
		t.Errorf("ok: %+v", r)
	}
	if r := send(s, srv.URL+"/fail", false); r.Delivered() || r.StatusCode != 503 {
		t.Errorf("fail: %+v", r)
	}
	if r := send(s, srv.URL+"/redirect", false); r.Delivered() || r.StatusCode != 302 || !strings.Contains(r.Error, "redirect not followed") {
		t.Errorf("redirect: %+v", r)
	}
	if r := send(s, srv.URL+"/slow", false); r.Delivered() || r.StatusCode != 0 || !strings.Contains(r.Error, "timed out") {
		t.Errorf("slow: %+v", r)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if r := send(s, closed.URL, false); r.Delivered() || r.Error == "" {
		t.Errorf("closed: %+v", r)
	}
	// Live mode: http refused before dialing, loopback refused when
	// dialing, also behind a name that resolves to it.
	before := hits.Load()
	if r := send(s, srv.URL+"/ok", true); r.Delivered() || !strings.Contains(r.Error, "https") {
		t.Errorf("live http: %+v", r)
	}
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	rebind := webhook.New(webhook.Options{LookupHost: func(context.Context, string) ([]string, error) {
		return []string{"127.0.0.1"}, nil
	}})
	for _, u := range []string{"https://127.0.0.1" + port + "/ok", "https://hooks.example.com" + port + "/ok", "https://[::ffff:127.0.0.1]" + port + "/ok"} {
		if r := send(rebind, u, true); r.Delivered() || !strings.Contains(r.Error, "refused to connect") {
			t.Errorf("live %s: %+v", u, r)
		}
	}
	if hits.Load() != before {
		t.Errorf("a refused delivery reached the server")
	}
}
