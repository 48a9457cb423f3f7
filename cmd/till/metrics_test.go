package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/internal/testenv"
	"github.com/tillpay/till/processor/simulator"
	"github.com/tillpay/till/service"
)

// TestMetrics runs the real server on each store, drives charges, a webhook
// endpoint and a few bad requests through the API, then scrapes /metrics
// and parses it with Prometheus's own text parser: every count matches what
// the test did.
func TestMetrics(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testMetrics(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		url := testenv.FreshDatabase(t)
		testMetrics(t, []string{"TILL_DATABASE_URL=" + url, testMasterKey, "TILL_DB_MAX_CONNS=4"})
	})
}

func testMetrics(t *testing.T, env []string) {
	const token = "metrics-token-for-tests"
	data := t.TempDir()
	p := startTill(t, data, append(env, "TILL_METRICS_TOKEN="+token)...)
	keys := readKeys(t, data)
	c := client.New(p.url, keys.TestSecretKey)

	// Without the token, or with another, /metrics is refused.
	for _, auth := range []string{"", "Bearer wrong", token} {
		req, _ := http.NewRequest("GET", p.url+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/metrics with %q: %d, want 401", auth, resp.StatusCode)
		}
	}

	var received atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	if _, err := c.CreateWebhookEndpoint(ctx(t), api.WebhookEndpointCreate{URL: receiver.URL + "/hooks", Events: []string{"*"}}); err != nil {
		t.Fatal(err)
	}

	cust, err := c.CreateCustomer(ctx(t), api.CustomerCreate{Email: "m@example.com", Address: &api.Address{Country: "DE"}})
	if err != nil {
		t.Fatal(err)
	}
	pmID := map[string]string{}
	for _, card := range []string{simulator.CardVisa, simulator.CardDeclined} {
		pm, err := c.AddPaymentMethod(ctx(t), cust.ID, api.PaymentMethodCreate{Card: &api.CardInput{Number: card, ExpMonth: 1, ExpYear: 2040}})
		if err != nil {
			t.Fatal(err)
		}
		pmID[card] = pm.ID
	}
	codes := map[int]int{} // status → charge requests answered with it
	charge := func(body string) {
		r, err := c.Raw(ctx(t), "POST", "/v1/payments/charge", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		codes[r.Status]++
	}
	for range 3 {
		charge(fmt.Sprintf(`{"customerId":%q,"paymentMethodId":%q,"amount":1000,"currency":"EUR","description":"metrics"}`, cust.ID, pmID[simulator.CardVisa]))
	}
	charge(fmt.Sprintf(`{"customerId":%q,"paymentMethodId":%q,"amount":1000,"currency":"EUR","description":"metrics"}`, cust.ID, pmID[simulator.CardDeclined]))
	charge(`{"amount":"ten"}`) // 400: no charge ran
	if codes[200]+codes[402] != 4 || codes[400] != 1 {
		t.Fatalf("charge statuses %v", codes)
	}
	for range 2 {
		if r, err := c.Raw(ctx(t), "GET", "/v1/no-such-route", nil); err != nil || r.Status != 404 {
			t.Fatalf("unknown route: %v %+v", err, r)
		}
	}

	// Deliveries run in the background: wait until every event reached the
	// receiver and the counter has caught up with it.
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(30 * time.Second)
	for {
		events, err := c.Events(ctx(t), client.ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		fams = scrape(t, p.url, token)
		delivered := value(fams, "till_webhook_deliveries_total", "result", "delivered")
		if n := received.Load(); n > 0 && int(n) == len(events.Data) && delivered == float64(n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: receiver got %d of %d events, counter says %v", received.Load(), len(events.Data), delivered)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if got := value(fams, "till_charges_total", "outcome", "succeeded"); got != 3 {
		t.Errorf("charges succeeded = %v, want 3", got)
	}
	if got := value(fams, "till_charges_total", "outcome", "failed"); got != 1 {
		t.Errorf("charges failed = %v, want 1", got)
	}
	if got := value(fams, "till_webhook_deliveries_total", "result", "failed"); got != 0 {
		t.Errorf("failed deliveries = %v, want 0", got)
	}
	var charges float64
	for code, n := range codes {
		got := value(fams, "till_http_requests_total", "route", "/v1/payments/charge", "method", "POST", "code", fmt.Sprint(code))
		if got != float64(n) {
			t.Errorf("requests to the charge route answered %d = %v, want %d", code, got, n)
		}
		charges += float64(n)
	}
	if got := histCount(fams, "till_http_request_duration_seconds", "route", "/v1/payments/charge", "method", "POST"); got != uint64(charges) {
		t.Errorf("charge route latency count = %d, want %v", got, charges)
	}
	if got := value(fams, "till_http_requests_total", "route", "other", "method", "GET", "code", "404"); got != 2 {
		t.Errorf("unmatched 404s = %v, want 2", got)
	}
	// The payment-method route is counted by its pattern, never by id.
	if got := value(fams, "till_http_requests_total", "route", "/v1/customers/{id}/payment-methods", "method", "POST", "code", "200"); got != 2 {
		t.Errorf("payment-method requests = %v, want 2", got)
	}
	for _, m := range fams["till_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if strings.Contains(l.GetValue(), "cus_") || strings.Contains(l.GetValue(), "pm_") {
				t.Errorf("a label carries an id: %s=%s", l.GetName(), l.GetValue())
			}
		}
	}
	// Every unit of work the test caused was committed: at least one per
	// charge, and units are counted per commit.
	units := fams["till_store_commit_units"].GetMetric()[0].GetHistogram()
	if units.GetSampleCount() == 0 || units.GetSampleSum() < 4 || units.GetSampleSum() < float64(units.GetSampleCount()) {
		t.Errorf("commit units: count %d sum %v", units.GetSampleCount(), units.GetSampleSum())
	}
	if n := fams["till_store_commit_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n != units.GetSampleCount() {
		t.Errorf("commit durations %d, commits %d", n, units.GetSampleCount())
	}
	// Each kind of task has its depth; a succeeded charge leaves receipt
	// and dispute-watch tasks, counted without error.
	for _, kind := range service.TaskKinds() {
		if _, ok := find(fams, "till_tasks_queued", "kind", kind); !ok {
			t.Errorf("no till_tasks_queued for kind %s", kind)
		}
		if _, ok := find(fams, "till_tasks_due", "kind", kind); !ok {
			t.Errorf("no till_tasks_due for kind %s", kind)
		}
	}
	if got := value(fams, "till_tasks_queued", "kind", "processor.disputes"); got < 1 {
		t.Errorf("dispute watches queued = %v, want ≥ 1 after succeeded charges", got)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	if _, ok := find(fams, "till_build_info"); !ok {
		t.Error("no till_build_info")
	}
}

// scrape fetches /metrics with the token and parses it.
func scrape(t *testing.T, base, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// find returns the metric of family name whose labels include the given
// name/value pairs.
func find(fams map[string]*dto.MetricFamily, name string, labels ...string) (*dto.Metric, bool) {
	for _, m := range fams[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				match = false
			}
		}
		if match {
			return m, true
		}
	}
	return nil, false
}

// value returns the value of a counter or gauge, 0 when it is absent.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m, ok := find(fams, name, labels...)
	if !ok {
		return 0
	}
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}

// histCount returns the sample count of a histogram, 0 when it is absent.
func histCount(fams map[string]*dto.MetricFamily, name string, labels ...string) uint64 {
	m, ok := find(fams, name, labels...)
	if !ok {
		return 0
	}
	return m.GetHistogram().GetSampleCount()
}
