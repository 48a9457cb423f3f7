package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// WebhookConfig is what one run of the webhook delivery bench (`till bench
// webhooks`) is told. The bench always starts its own server, as Run does
// with Config.URL empty.
type WebhookConfig struct {
	// Binary, TempDir, DatabaseURL, ServerArgs, ServerLog and KeepData are
	// as in Config.
	Binary      string
	TempDir     string
	DatabaseURL string
	ServerArgs  []string
	ServerLog   string
	KeepData    bool

	// Events is how many events the bench makes the server write, one
	// customer.created per customer it creates.
	Events int
	// Concurrency bounds the creating calls in flight; the floor uses as
	// many clients.
	Concurrency int
	// Rate, when above 0, paces the calls at that many per second;
	// 0 sends them as fast as Concurrency clients can.
	Rate float64
	// Timeout bounds producing the events and waiting for their deliveries.
	Timeout time.Duration
	// FloorDuration is how long GET /healthz is measured; 0 skips it.
	FloorDuration time.Duration
	// Progress receives what the bench is doing; nil discards it.
	Progress io.Writer
}

// WebhookReport is everything one run of the delivery bench measured.
type WebhookReport struct {
	Scenario    string  `json:"scenario"` // "webhooks"
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"`
	Server      Server  `json:"server"`
	Machine     Machine `json:"machine"`
	StartedAt   string  `json:"startedAt"`
	// Receiver is the URL of the endpoint the bench registered (for "*").
	Receiver string `json:"receiver"`

	// Requested is how many events were asked for; Calls how many
	// customers the bench tried to create and Created how many it did,
	// each writing one customer.created event.
	Requested    int               `json:"requested"`
	Calls        int64             `json:"calls"`
	Created      int64             `json:"created"`
	CallErrors   int64             `json:"callErrors"`
	ErrorsByKind map[string]int64  `json:"errorsByKind"`
	ErrorSamples map[string]string `json:"errorSamples,omitempty"`
	// ProduceSeconds runs from the first call sent to the last answered.
	ProduceSeconds float64  `json:"produceSeconds"`
	CallsPerSecond float64  `json:"callsPerSecond"`
	CallLatencyMs  Latency  `json:"callLatencyMs"`
	ScheduleLagMs  *Latency `json:"scheduleLagMs,omitempty"`

	// EventsWritten counts the events GET /v1/events lists from the
	// endpoint's creation on: every one of them is due to the endpoint.
	// CustomerEvents counts those that are customer.created of a customer
	// the bench created (it must equal Created).
	EventsWritten  int64 `json:"eventsWritten"`
	CustomerEvents int64 `json:"customerEvents"`

	// Deliveries counts the requests the receiver answered; Delivered the
	// written events that arrived, verified, at least once; Duplicates the
	// verified deliveries beyond an event's first; Missing the written
	// events that never arrived; Unexpected the verified deliveries of
	// events not written (or not listed); BadSignatures and BadBodies the
	// deliveries refused with 400.
	Deliveries    int64    `json:"deliveries"`
	Delivered     int64    `json:"delivered"`
	Duplicates    int64    `json:"duplicates"`
	Missing       int64    `json:"missing"`
	MissingIDs    []string `json:"missingIds,omitempty"`
	Unexpected    int64    `json:"unexpected"`
	BadSignatures int64    `json:"badSignatures"`
	BadBodies     int64    `json:"badBodies"`

	// WindowSeconds runs from the first written event's createdAt to the
	// last event's first delivery; EventsPerSecond is Delivered over it.
	WindowSeconds   float64 `json:"windowSeconds"`
	EventsPerSecond float64 `json:"eventsPerSecond"`
	// DelayMs runs from each event's createdAt (microseconds, taken when
	// the call began its unit of work, so it includes the wait for the
	// commit) to its first delivery. DelayFromAnswerMs runs from the
	// answer of the call that created the event (after the commit) to the
	// first delivery, a delivery before the answer counting as 0
	// (BeforeAnswer of them). The commit lies between the two.
	DelayMs           Latency `json:"delayMs"`
	DelayFromAnswerMs Latency `json:"delayFromAnswerMs"`
	BeforeAnswer      int64   `json:"beforeAnswer"`

	// CPU covers producing the events and waiting for their deliveries.
	CPU   *CPU   `json:"cpu,omitempty"`
	Floor *Floor `json:"floor"`
	// FloorRatio is the floor's requests per second over EventsPerSecond.
	FloorRatio float64 `json:"floorRatio,omitempty"`

	Problems []string `json:"problems"`
	// OK is true when every call succeeded, the server wrote one event per
	// call, every written event arrived with a valid signature and none
	// came that was not written.
	OK bool `json:"ok"`
}

func (c *WebhookConfig) check() error {
	switch {
	case c.Binary == "":
		return errors.New("bench: no binary to start")
	case c.Events < 1 || c.Events > 10_000_000:
		return errors.New("--events must be between 1 and 10000000")
	case c.Concurrency < 1 || c.Concurrency > 10_000:
		return errors.New("--concurrency must be between 1 and 10000")
	case c.Rate < 0 || c.Rate > 1_000_000:
		return errors.New("--rate must be between 0 (as fast as the clients go) and 1000000")
	case c.Timeout <= 0 || c.Timeout > 24*time.Hour:
		return errors.New("--timeout must be positive and at most a day")
	case c.FloorDuration < 0 || c.FloorDuration > time.Hour:
		return errors.New("--floor-duration must be between 0 and an hour")
	}
	return nil
}

// RunWebhooks runs the delivery bench: it starts the server, starts the
// receiver on 127.0.0.1, registers it as an endpoint for every event type,
// measures the floor on the idle server, creates cfg.Events customers (one
// customer.created each) with bounded concurrency, waits until every event
// arrived or cfg.Timeout passed, lists the events the server wrote, stops the
// server (its deliveries in flight finish and are counted) and returns the
// report. An error means the bench could not measure; missing events,
// failed calls and bad signatures are in the report, with OK false.
func RunWebhooks(ctx context.Context, cfg WebhookConfig) (*WebhookReport, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	runID := newRunID()
	rep := &WebhookReport{Scenario: "webhooks", Concurrency: cfg.Concurrency, Rate: cfg.Rate, Machine: thisMachine(),
		StartedAt: time.Now().UTC().Format(time.RFC3339), Requested: cfg.Events, ErrorsByKind: map[string]int64{},
		Problems: []string{}}

	srv, err := startServer(ctx, cfg.Binary, cfg.TempDir, cfg.DatabaseURL, cfg.ServerLog, cfg.ServerArgs, progress)
	if err != nil {
		if srv != nil {
			srv.close(false)
		}
		return nil, fmt.Errorf("starting the server: %w", err)
	}
	rep.Server = Server{Store: "sqlite", Started: true, URL: srv.url, Args: cfg.ServerArgs, Log: srv.logPath, DataDir: srv.dir}
	if cfg.DatabaseURL != "" {
		rep.Server.Store = "postgres"
	}
	keep := cfg.KeepData
	defer func() {
		srv.close(!keep)
		if keep {
			fmt.Fprintf(progress, "kept the server's data folder %s\n", srv.dir)
		}
	}()
	recv := newReceiver()
	if err := recv.start(); err != nil {
		keep = true
		return nil, fmt.Errorf("starting the receiver: %w", err)
	}
	defer recv.close()
	rep.Receiver = recv.url

	tr := newTransport(cfg.Concurrency)
	defer tr.CloseIdleConnections()
	c := client.New(srv.url, srv.key)
	c.HTTP = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	if _, err := c.Account(ctx); err != nil {
		keep = true
		return nil, fmt.Errorf("the started server at %s: %w", srv.url, err)
	}
	ep, err := c.CreateWebhookEndpoint(ctx, api.WebhookEndpointCreate{URL: recv.url, Events: []string{"*"},
		Description: "till bench webhooks " + runID})
	if err != nil {
		keep = true
		return nil, fmt.Errorf("registering the receiver as a webhook endpoint: %w", err)
	}
	recv.setSecret(ep.Secret)
	fmt.Fprintf(progress, "receiver %s registered as %s for every event type\n", recv.url, ep.ID)

	if cfg.FloorDuration > 0 {
		fl, err := measureFloor(ctx, tr, srv.url, cfg.Concurrency, cfg.FloorDuration, progress)
		if err != nil {
			keep = true
			return nil, err
		}
		rep.Floor = fl
	}

	p, err := newProducer(tr, srv.url, srv.key, runID)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	deadline, _ := runCtx.Deadline()
	pace := "as fast as the clients go"
	if cfg.Rate > 0 {
		pace = fmt.Sprintf("%g/s", cfg.Rate)
	}
	fmt.Fprintf(progress, "creating %d customers (one customer.created each), %d clients, %s, timeout %v…\n",
		cfg.Events, cfg.Concurrency, pace, cfg.Timeout)
	meter := startCPUMeter(strconv.Itoa(srv.cmd.Process.Pid))
	prod := produce(runCtx, cfg.Events, cfg.Concurrency, cfg.Rate, p.create)
	rep.Calls, rep.Created = prod.requests, int64(len(prod.created))
	rep.CallErrors = prod.requests - rep.Created
	rep.ErrorsByKind, rep.ErrorSamples = prod.errors, prod.samples
	if !prod.last.IsZero() {
		rep.ProduceSeconds = prod.last.Sub(prod.first).Seconds()
		if rep.ProduceSeconds > 0 {
			rep.CallsPerSecond = float64(rep.Created) / rep.ProduceSeconds
		}
	}
	rep.CallLatencyMs = latencyOf(&prod.latency)
	if cfg.Rate > 0 {
		lag := latencyOf(&prod.scheduledLag)
		rep.ScheduleLagMs = &lag
	}
	fmt.Fprintf(progress, "  %d created in %.1f s; waiting for their deliveries…\n", rep.Created, rep.ProduceSeconds)

	// Wait for the event of every customer created. The count is checked
	// first, so that each arrival costs the waiter a comparison.
	answered := make(map[string]time.Time, len(prod.created))
	for _, cr := range prod.created {
		answered[cr.objectID] = cr.answered
	}
	recv.waitFor(runCtx, deadline, func(_ map[string]*arrival, byObject map[string]string) bool {
		if len(byObject) < len(answered) {
			return false
		}
		for id := range answered {
			if _, ok := byObject[id]; !ok {
				return false
			}
		}
		return true
	})
	rep.CPU = meter.stop()
	if ctx.Err() != nil {
		keep = true
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}

	fmt.Fprintln(progress, "listing the events the server wrote…")
	written, before, err := listEvents(ctx, c, ep.CreatedAt)
	if err != nil {
		keep = true
		return nil, fmt.Errorf("listing events: %w", err)
	}
	if before > 0 {
		fmt.Fprintf(progress, "  %d events older than the endpoint are not counted\n", before)
	}
	for _, e := range written {
		if _, ok := answered[e.objectID]; ok && e.typ == "customer.created" {
			rep.CustomerEvents++
		}
	}
	// Any other event written after the endpoint is due to it as well.
	want := make(map[string]bool, len(written))
	for _, e := range written {
		want[e.id] = true
	}
	recv.waitFor(runCtx, deadline, func(arrivals map[string]*arrival, _ map[string]string) bool {
		if len(arrivals) < len(want) {
			return false
		}
		for id := range want {
			if _, ok := arrivals[id]; !ok {
				return false
			}
		}
		return true
	})

	// Stop the server before the receiver: deliveries in flight finish
	// and a duplicate among them is counted.
	if err := srv.stop(); err != nil {
		fmt.Fprintf(progress, "stopping the server: %v\n", err)
	}
	recv.close()
	arrivals, requests, badSig, badBody, badSigErr, badBodyErr := recv.snapshot()
	st := accountDeliveries(written, arrivals, answered)
	rep.EventsWritten = st.written
	rep.Deliveries, rep.Delivered, rep.Duplicates, rep.Missing = requests, st.delivered, st.duplicates, st.missing
	rep.MissingIDs, rep.Unexpected, rep.BadSignatures, rep.BadBodies = st.missingIDs, st.unexpected, badSig, badBody
	rep.WindowSeconds, rep.EventsPerSecond = st.window().Seconds(), st.perSecond()
	rep.DelayMs, rep.DelayFromAnswerMs, rep.BeforeAnswer = latencyOf(&st.delay), latencyOf(&st.fromAnswer), st.beforeAnswer
	if rep.Floor != nil && rep.EventsPerSecond > 0 {
		rep.FloorRatio = rep.Floor.PerSecond / rep.EventsPerSecond
	}

	problem := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }
	if rep.Calls < int64(cfg.Events) {
		problem("only %d of %d calls were made within --timeout %v", rep.Calls, cfg.Events, cfg.Timeout)
	}
	if rep.CallErrors > 0 {
		problem("%d of %d calls failed", rep.CallErrors, rep.Calls)
	}
	if rep.CustomerEvents != rep.Created {
		problem("%d customers created, but the server lists %d customer.created events of them", rep.Created, rep.CustomerEvents)
	}
	if rep.Missing > 0 {
		problem("%d of %d events were not delivered within --timeout %v (e.g. %s)", rep.Missing, rep.EventsWritten, cfg.Timeout,
			strings.Join(rep.MissingIDs, ", "))
	}
	if rep.Unexpected > 0 {
		problem("%d deliveries of events the server does not list", rep.Unexpected)
	}
	if badSig > 0 {
		problem("%d deliveries failed client.VerifySignature, e.g. %s", badSig, badSigErr)
	}
	if badBody > 0 {
		problem("%d deliveries were not a readable event, e.g. %s", badBody, badBodyErr)
	}
	if rep.Floor != nil && rep.Floor.Errors > 0 {
		problem("%d floor requests failed", rep.Floor.Errors)
	}
	rep.OK = len(rep.Problems) == 0
	if !rep.OK {
		keep = true
	}
	if !keep {
		rep.Server.DataDir = ""
		if cfg.ServerLog == "" {
			rep.Server.Log = ""
		}
	}
	return rep, nil
}

// measureFloor measures GET /healthz with workers clients for d, as Run
// does before its load.
func measureFloor(ctx context.Context, rt http.RoundTripper, baseURL string, workers int, d time.Duration, progress io.Writer) (*Floor, error) {
	ch, err := newCharger(rt, baseURL, "", nil, "")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "floor: GET /healthz, %d clients, %v…\n", workers, d)
	health := func(ctx context.Context, _ int64, buf *bytes.Buffer) outcome { return ch.health(ctx, buf) }
	fl, fe := closedLoop(ctx, workers, 0, d, false, health)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return &Floor{Concurrency: workers, Seconds: fe.Seconds(), Requests: fl.requests,
		PerSecond: float64(fl.succeeded) / fe.Seconds(), Errors: fl.measuredErrors(), ErrorsByKind: fl.errors,
		LatencyMs: latencyOf(&fl.latency)}, nil
}

// listEvents lists every event of the account in test mode, newest first,
// and returns those created at or after from; before counts the older ones.
// It is bounded in pages and time.
func listEvents(ctx context.Context, c *client.Client, from time.Time) (written []writtenEvent, before int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cursor := ""
	for range 1_000_000 {
		var page *client.List[api.Event]
		if err := retryRateLimited(ctx, func() (err error) {
			page, err = c.Events(ctx, client.ListParams{Limit: 100, StartingAfter: cursor})
			return err
		}); err != nil {
			return nil, 0, err
		}
		for _, e := range page.Data {
			if e.CreatedAt.Before(from) {
				before++
				continue
			}
			objID := e.ObjectID
			written = append(written, writtenEvent{id: e.ID, typ: e.Type, objectID: objID, createdAt: e.CreatedAt})
		}
		if !page.HasMore || len(page.Data) == 0 {
			return written, before, nil
		}
		cursor = page.Data[len(page.Data)-1].ID
	}
	return nil, 0, errors.New("more than 100 million events")
}

// WriteText writes the report for a person.
func (r *WebhookReport) WriteText(w io.Writer) {
	pace := "as fast as the clients go"
	if r.Rate > 0 {
		pace = fmt.Sprintf("paced at %g/s", r.Rate)
	}
	fmt.Fprintf(w, "scenario:     webhook deliveries: %d customer.created events, %d clients, %s\n", r.Requested, r.Concurrency, pace)
	fmt.Fprintf(w, "server:       %s, %s, started by the bench", r.Server.URL, r.Server.Store)
	if len(r.Server.Args) > 0 {
		fmt.Fprintf(w, " (extra args: %s)", strings.Join(r.Server.Args, " "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "receiver:     %s (endpoint for \"*\"; every delivery's Till-Signature checked with client.VerifySignature)\n", r.Receiver)
	m := r.Machine
	fmt.Fprintf(w, "machine:      %s/%s, %d CPUs, %s, kernel %s, %s\n", m.GOOS, m.GOARCH, m.NumCPU, m.CPU, m.Kernel, m.GoVersion)
	fmt.Fprintf(w, "produced:     %d of %d calls succeeded in %.3f s (%.1f/s), %d errors\n", r.Created, r.Calls,
		r.ProduceSeconds, r.CallsPerSecond, r.CallErrors)
	kinds := make([]string, 0, len(r.ErrorsByKind))
	for k := range r.ErrorsByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-28s %d  e.g. %s\n", k, r.ErrorsByKind[k], r.ErrorSamples[k])
	}
	l := r.CallLatencyMs
	fmt.Fprintf(w, "call ms:      p50 %.2f  p99 %.2f  max %.2f\n", l.P50, l.P99, l.Max)
	if g := r.ScheduleLagMs; g != nil {
		fmt.Fprintf(w, "schedule lag: p50 %.2f ms  p99 %.2f ms  max %.2f ms (calls sent behind their schedule)\n", g.P50, g.P99, g.Max)
	}
	fmt.Fprintf(w, "written:      %d events listed by GET /v1/events since the endpoint (%d customer.created of the bench's customers)\n",
		r.EventsWritten, r.CustomerEvents)
	fmt.Fprintf(w, "delivered:    %d of %d events; %d missing, %d duplicates, %d unexpected, %d bad signatures, %d bad bodies (%d requests)\n",
		r.Delivered, r.EventsWritten, r.Missing, r.Duplicates, r.Unexpected, r.BadSignatures, r.BadBodies, r.Deliveries)
	fmt.Fprintf(w, "events/s:     %.1f delivered (first event's createdAt to the last first delivery, %.3f s)\n", r.EventsPerSecond, r.WindowSeconds)
	d := r.DelayMs
	fmt.Fprintf(w, "delay ms:     p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (event createdAt → first delivery)\n", d.P50, d.P90, d.P99, d.Max)
	a := r.DelayFromAnswerMs
	fmt.Fprintf(w, "  from answer p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (creating call answered → first delivery; %d came before the answer)\n",
		a.P50, a.P90, a.P99, a.Max, r.BeforeAnswer)
	if c := r.CPU; c != nil {
		fmt.Fprintf(w, "cpu:          bench %.2f cores", c.BenchCores)
		if c.ServerCores != nil {
			fmt.Fprintf(w, ", server %.2f cores", *c.ServerCores)
		}
		fmt.Fprintf(w, " of %d, while producing and delivering\n", r.Machine.NumCPU)
	}
	if f := r.Floor; f != nil {
		fmt.Fprintf(w, "floor:        GET /healthz %.0f/s (%d clients, %.1f s, %d errors, p99 %.2f ms)", f.PerSecond, f.Concurrency,
			f.Seconds, f.Errors, f.LatencyMs.P99)
		if r.FloorRatio > 0 {
			fmt.Fprintf(w, "; %.1f× the events/s delivered", r.FloorRatio)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "floor:        skipped")
	}
	state := "ok"
	if !r.OK {
		state = "FAILED"
	}
	fmt.Fprintf(w, "verify:       %s\n", state)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	if !r.OK {
		fmt.Fprintf(w, "data kept:    %s (server log %s)\n", r.Server.DataDir, r.Server.Log)
	}
}
