package http

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
)

// TestMountedAPIsAnswerInTheirOwnShape composes the native API with a
// stand-in for the pages under /pay/, as till serve does, and checks that a
// panic or a non-canonical path is answered by the API the path belongs
// to: the native envelope under /v1, the pages' HTML under /pay/.
func TestMountedAPIsAnswerInTheirOwnShape(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	native := New(nil, Options{PublicBaseURL: "http://till.test", Logger: log})
	native.mux.HandleFunc("GET /v1/test/panic", func(w http.ResponseWriter, r *http.Request) { panic("native boom") })
	pageError := func(w http.ResponseWriter, r *http.Request, err error) {
		status := http.StatusInternalServerError
		if till.ErrorCode(err) == till.ENotFound {
			status = http.StatusNotFound
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, "<!doctype html><p>"+string(till.ErrorCode(err)))
	}
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("page boom") })
	h := middleware.ByPrefix(native,
		middleware.Prefix{Path: "/pay/", Handler: middleware.Stack(pages, middleware.Options{ErrorWriter: pageError, Logger: log})})

	tests := []struct {
		method, path string
		status       int
		native       bool // the native envelope, else the page
		code         string
	}{
		{"GET", "/v1/test/panic", 500, true, "internal_error"},
		{"GET", "/pay/tok_1", 500, false, "internal_error"},
		{"POST", "/v1/customers//payment-methods", 404, true, "resource_missing"},
		{"POST", "/v1/payments/../account", 404, true, "resource_missing"},
		{"GET", "/v1/nope", 404, true, "resource_missing"},
		{"GET", "/pay/a/../b", 404, false, "resource_missing"},
		{"GET", "/pay//", 404, false, "resource_missing"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			logs.Reset()
			r := httptest.NewRequest(tt.method, "/", strings.NewReader("{}"))
			r.URL.Path = tt.path
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || rec.Header().Get("Request-Id") == "" {
				t.Fatalf("%d, Request-Id %q: %s", rec.Code, rec.Header().Get("Request-Id"), rec.Body)
			}
			var env struct {
				Success *bool `json:"success"`
				Error   *struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			isEnvelope := json.Unmarshal(rec.Body.Bytes(), &env) == nil && env.Success != nil && !*env.Success && env.Error != nil
			switch {
			case tt.native && (!isEnvelope || env.Error.Code != tt.code || rec.Header().Get("Content-Type") != "application/json"):
				t.Fatalf("want the native envelope with %s, got %s %s", tt.code, rec.Header().Get("Content-Type"), rec.Body)
			case !tt.native && (isEnvelope || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
				!strings.Contains(rec.Body.String(), tt.code)):
				t.Fatalf("want the page with %s, got %s %s", tt.code, rec.Header().Get("Content-Type"), rec.Body)
			}
			if tt.status == 500 && !strings.Contains(logs.String(), `"msg":"panic serving request"`) {
				t.Fatalf("the panic was not logged:\n%s", logs.String())
			}
			if n := strings.Count(logs.String(), `"msg":"request"`); n != 1 {
				t.Fatalf("want one access log line, got %d:\n%s", n, logs.String())
			}
		})
	}
}
