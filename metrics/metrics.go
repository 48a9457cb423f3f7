// Package metrics exports Till's measurements to Prometheus, on a registry
// of its own (never the global one, so nothing a library registers leaks
// into /metrics): requests by route, method and status with their latency,
// charges by outcome, background tasks queued and due by kind, webhook
// deliveries by result with their latency, and the store writer's commits
// (units per commit and COMMIT time), beside the Go runtime's and the
// process's own collectors.
//
// A Metrics is the service's till.Observer, the HTTP servers'
// middleware.RouteObserver (its Request method) and the stores'
// till.CommitObserver (its Committed method). Labels carry no account, key
// or object id: their values come from fixed sets (route patterns, methods,
// statuses, task kinds), so a caller cannot grow the series without bound.
package metrics

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tillpay/till"
)

// Options configure a Metrics.
type Options struct {
	// Version is reported in till_build_info.
	Version string
	// Logger receives scrape errors; nil discards them.
	Logger *slog.Logger
}

// Metrics holds Till's collectors on their own registry.
type Metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	charges         *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	deliveryLatency *prometheus.HistogramVec
	commitUnits     prometheus.Histogram
	commitTime      prometheus.Histogram
	log             *slog.Logger
}

// latencyBuckets (seconds) reach from half a millisecond, a fast API call on
// SQLite, to the 10 s bound of a webhook delivery.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// commitBuckets (seconds) reach from an fsync on a fast disk to a slow one.
var commitBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}

// chargeOutcomes are the statuses a charge request answers with, and
// "error" (see till.Observer).
var chargeOutcomes = []till.Status{till.StatusSucceeded, till.StatusFailed, till.StatusProcessing,
	till.StatusRequiresAction, till.StatusAuthorized, till.StatusScheduled, "error"}

// New returns the metrics, registered on a new registry.
func New(opts Options) *Metrics {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: opts.Logger,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "till_http_requests_total",
			Help: "HTTP requests answered, by route pattern (\"other\" when none matched), method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "till_http_request_duration_seconds",
			Help:    "Time from a request's arrival to its handler's return, by route pattern and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		charges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "till_charges_total",
			Help: "Charge requests that ran (replays of an idempotency key excluded), by the payment status they answered, or error.",
		}, []string{"outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "till_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by result: delivered (a 2xx in time) or failed.",
		}, []string{"result"}),
		deliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "till_webhook_delivery_duration_seconds",
			Help:    "HTTP round trip of webhook delivery attempts, by result.",
			Buckets: latencyBuckets,
		}, []string{"result"}),
		commitUnits: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "till_store_commit_units",
			Help:    "Units of work per store commit (SQLite's group commit batches several; PostgreSQL commits each on its own).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "till_store_commit_duration_seconds",
			Help:    "Time a store commit took (writing and syncing the log).",
			Buckets: commitBuckets,
		}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "till_build_info",
		Help:        "Always 1; its labels name the running build.",
		ConstLabels: prometheus.Labels{"version": opts.Version, "goversion": runtime.Version()},
	})
	build.Set(1)
	m.reg.MustRegister(m.requests, m.duration, m.charges, m.deliveries, m.deliveryLatency, m.commitUnits, m.commitTime, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series of fixed label sets exist from the start, at 0, so that a
	// rate over them is defined before the first charge or delivery.
	for _, o := range chargeOutcomes {
		m.charges.WithLabelValues(string(o))
	}
	for _, r := range []string{"delivered", "failed"} {
		m.deliveries.WithLabelValues(r)
		m.deliveryLatency.WithLabelValues(r)
	}
	return m
}

// WatchQueue adds the gauges till_tasks_queued and till_tasks_due, counted
// by q on each scrape; kinds are reported with 0 when none is queued
// (service.TaskKinds). Call it once, before serving.
func (m *Metrics) WatchQueue(q till.QueueCounter, kinds []string) {
	m.reg.MustRegister(newQueueCollector(q, kinds))
}

// Registry returns the registry the metrics are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request counts one answered request (a middleware.RouteObserver).
func (m *Metrics) Request(route, method string, status int, elapsed time.Duration) {
	if route == "" {
		route = "other"
	}
	method = knownMethod(method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
}

// knownMethod returns method if it is one of HTTP's, "OTHER" otherwise, so
// that invented methods do not make series.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// ChargeFinished counts a charge by outcome (till.Observer).
func (m *Metrics) ChargeFinished(status till.Status) {
	m.charges.WithLabelValues(string(status)).Inc()
}

// WebhookDelivered counts a delivery attempt (till.Observer).
func (m *Metrics) WebhookDelivered(delivered bool, latency time.Duration) {
	result := "failed"
	if delivered {
		result = "delivered"
	}
	m.deliveries.WithLabelValues(result).Inc()
	m.deliveryLatency.WithLabelValues(result).Observe(latency.Seconds())
}

// Committed observes one store commit (a till.CommitObserver).
func (m *Metrics) Committed(units int, commit time.Duration) {
	m.commitUnits.Observe(float64(units))
	m.commitTime.Observe(commit.Seconds())
}

// Handler serves the metrics in Prometheus's text format (or
// OpenMetrics when asked). A non-empty token must come as
// "Authorization: Bearer <token>"; other requests get a 401.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slogPrinter{m.log},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed; GET /metrics", http.StatusMethodNotAllowed)
			return
		}
		if token != "" {
			auth := r.Header.Get("Authorization")
			got, ok := strings.CutPrefix(auth, "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="till metrics"`)
				http.Error(w, "unauthorized; send the metrics token as Authorization: Bearer <token>", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// slogPrinter is promhttp's error log on a slog.Logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("metrics: scrape error", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}

// queueCollector reads the task queue on each scrape.
type queueCollector struct {
	queue  till.QueueCounter
	kinds  []string
	queued *prometheus.Desc
	due    *prometheus.Desc
}

func newQueueCollector(q till.QueueCounter, kinds []string) *queueCollector {
	return &queueCollector{
		queue: q, kinds: kinds,
		queued: prometheus.NewDesc("till_tasks_queued", "Background tasks queued (webhook deliveries included), by kind.", []string{"kind"}, nil),
		due:    prometheus.NewDesc("till_tasks_due", "Queued background tasks whose run time has come by the wall clock, by kind: the backlog.", []string{"kind"}, nil),
	}
}

// scrapeTimeout bounds the queue count of one scrape.
const scrapeTimeout = 2 * time.Second

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queued
	ch <- c.due
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	depths, err := c.queue.QueueDepths(ctx, time.Now())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.queued, err)
		return
	}
	seen := make(map[string]bool, len(depths))
	for _, d := range depths {
		seen[d.Kind] = true
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(d.Queued), d.Kind)
		ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(d.Due), d.Kind)
	}
	for _, k := range c.kinds {
		if !seen[k] {
			ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, 0, k)
			ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, 0, k)
		}
	}
}
