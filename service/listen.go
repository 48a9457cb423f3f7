package service

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/vault"
)

// Polling a test-mode account's events (GET /v1/test/events/poll), the feed
// behind till listen: a reader asks for the events after its cursor and gets
// them at once when there are any, oldest first, or waits for the first ones
// up to a timeout. The store's cursor (till.EventCursor) makes the feed
// complete and free of duplicates however commits interleave; this file
// waits, validates, and hands the cursor to the reader sealed.

// Limits of a poll.
const (
	// MaxPollTimeout is the longest a poll waits; a longer timeout is cut
	// to it.
	MaxPollTimeout = 30 * time.Second
	// DefaultPollTimeout is how long a poll that names no timeout waits.
	DefaultPollTimeout = 25 * time.Second
	// DefaultPollLimit is the page size of a poll that names no limit.
	DefaultPollLimit = 100
)

// pollInterval is how often a waiting poll reads the store again. Events
// are written by this and other processes; reading is how every process
// learns of them, and one indexed read of a scope's newest events per
// interval costs little.
const pollInterval = 250 * time.Millisecond

// pollDeadlineMargin is kept free before a request's deadline, so that a
// poll answers its empty page before the request times out.
const pollDeadlineMargin = time.Second

// PollParams ask for the events after a cursor.
type PollParams struct {
	// After is the cursor of the previous answer; empty starts after the
	// newest event, so only events written from now on are given.
	After string
	// Types limits the events to these types; empty gives every type. A
	// cursor goes on with the types it was read with.
	Types []string
	// Timeout is how long to wait when no event is ready (0 answers at
	// once); it is cut to MaxPollTimeout.
	Timeout time.Duration
	// Limit bounds the page, 1–100.
	Limit int
	// Stop, when closed, ends a wait at once with an empty page (the
	// server is shutting down); nil never does.
	Stop <-chan struct{}
}

// EventPoll is a poll's answer: the events after the cursor, oldest first,
// the cursor to ask with next, and whether more events are ready now.
type EventPoll struct {
	Events  []*till.Event
	Cursor  string
	HasMore bool
}

// PollEvents returns the test-mode events of the caller's account written
// after p.After, oldest first, up to p.Limit. When none is ready it waits
// for the first up to p.Timeout, reading the store every pollInterval (and
// holding no transaction or connection between reads), and answers an empty
// page with the cursor to go on with when the timeout passes, p.Stop closes,
// or the request's deadline nears. Reading from cursor to cursor gives every
// event once.
//
// It returns live_mode_forbidden for a live-mode caller, validation_error
// naming after, types, timeout or limit for a cursor not issued to this
// account and mode, an unknown event type, a negative timeout or a limit out
// of range, and ctx's error when ctx ends (the client went away).
func (s *Service) PollEvents(ctx context.Context, c *Caller, p PollParams) (*EventPoll, error) {
	if c.Livemode {
		return nil, till.Errorf(till.ELiveForbidden, "Events can be polled in test mode only (till listen is a development tool); live-mode events reach webhook endpoints.")
	}
	var v till.Validator
	for i, typ := range p.Types {
		switch {
		case !slices.Contains(till.EventTypes, typ):
			v.Add("types", "types[%d]: unknown event type %q; known types: %s", i, typ, strings.Join(till.EventTypes, ", "))
		case slices.Index(p.Types, typ) != i:
			v.Add("types", "types[%d]: %q is listed twice", i, typ)
		}
	}
	if p.Timeout < 0 {
		v.Add("timeout", "timeout must not be negative")
	}
	if p.Limit == 0 {
		p.Limit = DefaultPollLimit
	} else if p.Limit < 1 || p.Limit > 100 {
		v.Add("limit", "limit must be an integer between 1 and 100")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if s.keys == nil {
		return nil, till.Internal(errors.New("service: polling events needs a keyring to seal cursors"))
	}
	scope := c.Scope()
	var cur till.EventCursor
	if p.After == "" {
		if err := s.store.View(ctx, func(tx till.Tx) (err error) {
			cur, err = tx.EventCursorNow(ctx)
			return err
		}); err != nil {
			return nil, err
		}
	} else {
		var err error
		if cur, err = s.openEventCursor(ctx, scope, p.After); err != nil {
			return nil, err
		}
	}

	wait := min(p.Timeout, MaxPollTimeout)
	if d, ok := ctx.Deadline(); ok {
		wait = max(min(wait, time.Until(d)-pollDeadlineMargin), 0)
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		var events []*till.Event
		var more bool
		err := s.store.View(ctx, func(tx till.Tx) (err error) {
			events, cur, more, err = tx.EventsAfter(ctx, scope, cur, p.Types, p.Limit)
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(events) > 0 {
			return s.pollAnswer(scope, events, cur, more)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.Stop:
			return s.pollAnswer(scope, nil, cur, false)
		case <-timeout.C:
			return s.pollAnswer(scope, nil, cur, false)
		case <-time.After(pollInterval):
		}
	}
}

func (s *Service) pollAnswer(scope till.Scope, events []*till.Event, cur till.EventCursor, more bool) (*EventPoll, error) {
	sealed, err := s.sealEventCursor(scope, cur)
	if err != nil {
		return nil, err
	}
	if events == nil {
		events = []*till.Event{}
	}
	return &EventPoll{Events: events, Cursor: sealed, HasMore: more && len(events) > 0}, nil
}

// A poll cursor is the store's till.EventCursor, encoded and sealed by the
// vault under the scope: the reader cannot read it (its positions and the
// names of other transactions say how busy the whole installation is) nor
// forge or change it, and a cursor of another account or mode does not
// open. The text is base64url (no padding) of
//
//	uvarint len(dataKeyID) | dataKeyID | sealed
//
// and the sealed plaintext is
//
//	version 1 | uvarint After | uvarint len(Read) | uvarint deltas of Read (from After, then from the previous)
//	| uvarint Horizon | byte Settled | uvarint len(Writers) | per writer: uvarint length | bytes
const cursorVersion = 1

// Bounds a decoded cursor must keep.
const (
	maxCursorWriters   = 10000
	maxCursorWriterLen = 64
)

func cursorAAD(scope till.Scope) []byte {
	mode := "test"
	if scope.Livemode {
		mode = "live"
	}
	return []byte("event-cursor\x00" + scope.AccountID + "\x00" + mode)
}

func (s *Service) sealEventCursor(scope till.Scope, c till.EventCursor) (string, error) {
	b := []byte{cursorVersion}
	b = binary.AppendUvarint(b, uint64(c.After))
	b = binary.AppendUvarint(b, uint64(len(c.Read)))
	prev := c.After
	for _, r := range c.Read {
		b = binary.AppendUvarint(b, uint64(r-prev))
		prev = r
	}
	b = binary.AppendUvarint(b, uint64(c.Horizon))
	if c.Settled {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Writers)))
	for _, w := range c.Writers {
		b = binary.AppendUvarint(b, uint64(len(w)))
		b = append(b, w...)
	}
	sealed, dk, err := s.keys.Seal(b, cursorAAD(scope))
	if err != nil {
		return "", till.Internal(fmt.Errorf("service: seal an event cursor: %w", err))
	}
	out := binary.AppendUvarint(nil, uint64(len(dk)))
	out = append(append(out, dk...), sealed...)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// errBadCursor is the answer to a cursor that does not open or decode.
func errBadCursor() error {
	return till.ParamError(till.EValidation, "after",
		"after is not a cursor this account's test-mode poll issued; poll without after to start from now")
}

// openEventCursor opens and decodes a cursor sealed by sealEventCursor.
func (s *Service) openEventCursor(ctx context.Context, scope till.Scope, text string) (till.EventCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(text) > 64<<10 {
		return till.EventCursor{}, errBadCursor()
	}
	n, k := binary.Uvarint(raw)
	if k <= 0 || n == 0 || n > 64 || uint64(len(raw)-k) < n {
		return till.EventCursor{}, errBadCursor()
	}
	dk, sealed := string(raw[k:k+int(n)]), raw[k+int(n):]
	plain, err := s.keys.Open(sealed, dk, cursorAAD(scope))
	if errors.Is(err, vault.ErrUnknownDataKey) && strings.HasPrefix(dk, till.PrefixDataKey) {
		// A key another process rotated in since this one loaded its keys.
		if rerr := s.ReloadKeys(ctx); rerr != nil {
			return till.EventCursor{}, rerr
		}
		plain, err = s.keys.Open(sealed, dk, cursorAAD(scope))
	}
	if err != nil {
		return till.EventCursor{}, errBadCursor()
	}
	c, ok := decodeEventCursor(plain)
	if !ok {
		return till.EventCursor{}, errBadCursor()
	}
	return c, nil
}

// decodeEventCursor parses a cursor's plaintext and checks what the store
// relies on: Read ascending above After and bounded, a horizon above After.
func decodeEventCursor(b []byte) (till.EventCursor, bool) {
	var c till.EventCursor
	if len(b) == 0 || b[0] != cursorVersion {
		return c, false
	}
	b = b[1:]
	bad := false
	next := func() uint64 {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			bad = true
			return 0
		}
		b = b[k:]
		return v
	}
	const maxPos = 1<<62 - 1
	after := next()
	nRead := next()
	if bad || after > maxPos || nRead > till.MaxEventCursorRead {
		return c, false
	}
	c.After = int64(after)
	prev := after
	for range nRead {
		d := next()
		if bad || d == 0 || d > maxPos-prev {
			return c, false
		}
		prev += d
		c.Read = append(c.Read, int64(prev))
	}
	horizon := next()
	if bad || len(b) == 0 || b[0] > 1 || horizon > maxPos || horizon != 0 && horizon <= after {
		return c, false
	}
	c.Horizon, c.Settled = int64(horizon), b[0] == 1
	b = b[1:]
	nWriters := next()
	if bad || nWriters > maxCursorWriters {
		return c, false
	}
	for range nWriters {
		l := next()
		if bad || l == 0 || l > maxCursorWriterLen || uint64(len(b)) < l {
			return c, false
		}
		c.Writers = append(c.Writers, string(b[:l]))
		b = b[l:]
	}
	if len(b) != 0 || c.Horizon == 0 && (c.Settled || len(c.Writers) > 0) {
		return c, false
	}
	return c, true
}
