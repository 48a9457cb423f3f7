package service

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/tillpay/till"
)

// Idem carries a request's Idempotency-Key through a use case (SPEC §1).
//
// A use case made of one unit of work stores the rendered response in that
// same unit, so the work and its remembered response commit together. A use
// case that calls a processor first stores the key in progress, under a
// lease and naming the payment it works on, in the unit of work that records
// the attempt; the unit that settles the attempt stores the response. A
// repeat of a request whose process died is finished by the repeat, never
// started again.
type Idem struct {
	Key    string
	Method string
	Path   string
	Hash   []byte // SHA-256 of the request body
	// Render turns the use case's result (and, for a declined charge, its
	// card error) into the status and body that are stored and sent.
	Render func(v any, err error) (status int, body []byte)
	// Sealed stores the response encrypted (it holds new secrets, such as
	// API keys).
	Sealed bool

	// Replayed, Status and Body are set by the service: Body is the stored
	// response to send; Replayed says it was stored by an earlier request.
	Replayed bool
	Status   int
	Body     []byte
}

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted.
const MaxIdempotencyKeyLen = 255

// Idempotency retention (SPEC §1: keys are kept at least 24 hours): the
// default, and the shortest a Config may set.
const (
	DefaultIdempotencyRetention = 7 * 24 * time.Hour
	MinIdempotencyRetention     = 24 * time.Hour
)

// idempotencyPurgeEvery is how often the workers forget expired keys.
const idempotencyPurgeEvery = time.Hour

// errIdemRace means another request claimed the key between the lookup and
// this request's unit of work; the lookup is repeated.
var errIdemRace = errors.New("service: idempotency key claimed concurrently")

// idempotent runs a use case under idem: a repeat of a finished request is
// answered from the store, a repeat of a running one is refused, a repeat of
// one whose process died is finished. With idem nil it just runs.
func (s *Service) idempotent(ctx context.Context, c *Caller, idem *Idem, run func() error) error {
	if idem == nil {
		return run()
	}
	for range 3 {
		done, err := s.replay(ctx, c, idem)
		if err != nil || done {
			return err
		}
		if err := run(); !errors.Is(err, errIdemRace) {
			return err
		}
	}
	return inProgress()
}

func inProgress() error {
	return till.Errorf(till.EInProgress, "A request with this Idempotency-Key is still being processed; retry later.")
}

// replay answers idem from the store if a request with its key exists. It
// reports whether the request was answered.
func (s *Service) replay(ctx context.Context, c *Caller, idem *Idem) (bool, error) {
	var rec *till.IdempotencyRecord
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		rec, err = tx.IdempotencyRecord(ctx, c.Scope(), idem.Key)
		return err
	})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if rec.Method != idem.Method || rec.Path != idem.Path || !bytes.Equal(rec.RequestHash, idem.Hash) {
		return false, till.Errorf(till.EKeyReused,
			"This Idempotency-Key was already used with a different request (%s %s); use a new key for a new request.", rec.Method, rec.Path)
	}
	if rec.State == till.IdemDone {
		body, err := s.openResponse(ctx, rec)
		if err != nil {
			return false, err
		}
		idem.Replayed, idem.Status, idem.Body = true, rec.StatusCode, body
		return true, nil
	}
	if s.clock.Now().Before(rec.LeaseUntil) {
		return false, inProgress()
	}
	if err := s.resume(ctx, c, idem); err != nil {
		return false, err
	}
	idem.Replayed = true
	return true, nil
}

// remember stores the rendered response to idem in the unit of work tx that
// did the request's work. resourceID names the object the request made.
func (s *Service) remember(ctx context.Context, tx till.Tx, c *Caller, idem *Idem, v any, resourceID string) error {
	if idem == nil {
		return nil
	}
	status, body := idem.Render(v, nil)
	stored := body
	if idem.Sealed {
		var err error
		if stored, err = s.sealResponse(body, c.Account.ID, idem.Key); err != nil {
			return err
		}
	}
	now := s.clock.Now()
	err := tx.CreateIdempotencyRecord(ctx, &till.IdempotencyRecord{
		AccountID: c.Account.ID, Livemode: c.Livemode, Key: idem.Key, Method: idem.Method, Path: idem.Path,
		RequestHash: idem.Hash, State: till.IdemDone, ResourceID: resourceID, StatusCode: status, ResponseBody: stored,
		CreatedAt: now, UpdatedAt: now,
	})
	if errors.Is(err, till.ErrDuplicate) {
		return errIdemRace
	}
	if err != nil {
		return err
	}
	idem.Status, idem.Body = status, body
	return nil
}

// sealedPrefix starts a stored response kept encrypted; a JSON body never
// starts with a NUL byte.
const sealedPrefix = "\x00sealed:"

// sealResponse encrypts a response body under the vault's data key, bound to
// the key's scope.
func (s *Service) sealResponse(body []byte, accountID, key string) ([]byte, error) {
	if s.keys == nil {
		return nil, errors.New("service: no keyring to seal a response")
	}
	ct, dk, err := s.keys.Seal(body, []byte("idempotency\x00"+accountID+"\x00"+key))
	if err != nil {
		return nil, err
	}
	return append([]byte(sealedPrefix+dk+":"), ct...), nil
}

// openResponse returns a stored response body, decrypting a sealed one.
func (s *Service) openResponse(ctx context.Context, rec *till.IdempotencyRecord) ([]byte, error) {
	rest, ok := bytes.CutPrefix(rec.ResponseBody, []byte(sealedPrefix))
	if !ok {
		return rec.ResponseBody, nil
	}
	dk, ct, ok := bytes.Cut(rest, []byte(":"))
	if !ok || s.keys == nil {
		return nil, errors.New("service: malformed sealed response")
	}
	return s.open(ctx, ct, string(dk), []byte("idempotency\x00"+rec.AccountID+"\x00"+rec.Key))
}

// claimKey stores idem in progress for a multi-step request working on
// resourceID, leased to this process.
func (s *Service) claimKey(ctx context.Context, tx till.Tx, scope till.Scope, idem *Idem, resourceID string) error {
	if idem == nil {
		return nil
	}
	now := s.clock.Now()
	err := tx.CreateIdempotencyRecord(ctx, &till.IdempotencyRecord{
		AccountID: scope.AccountID, Livemode: scope.Livemode, Key: idem.Key, Method: idem.Method, Path: idem.Path,
		RequestHash: idem.Hash, State: till.IdemInProgress, LeaseOwner: s.instance, LeaseUntil: now.Add(s.lease),
		ResourceID: resourceID, CreatedAt: now, UpdatedAt: now,
	})
	if errors.Is(err, till.ErrDuplicate) {
		return errIdemRace
	}
	return err
}

// completeKey stores the final response of a multi-step request, rendered
// from its result and error, in the unit of work that settled it.
func (s *Service) completeKey(ctx context.Context, tx till.Tx, scope till.Scope, idem *Idem, resourceID string, v any, resultErr error) error {
	if idem == nil {
		return nil
	}
	status, body := idem.Render(v, resultErr)
	rec := &till.IdempotencyRecord{AccountID: scope.AccountID, Livemode: scope.Livemode, Key: idem.Key,
		State: till.IdemDone, ResourceID: resourceID, StatusCode: status, ResponseBody: body, UpdatedAt: s.clock.Now()}
	if err := tx.UpdateIdempotencyRecord(ctx, rec); err != nil {
		return err
	}
	idem.Status, idem.Body = status, body
	return nil
}

// PurgeIdempotencyKeys forgets completed keys older than the retention
// (Config.IdempotencyRetention); keys of requests still in progress are
// kept. It returns how many it forgot. The workers call it every hour.
func (s *Service) PurgeIdempotencyKeys(ctx context.Context) (int, error) {
	var n int
	err := s.store.Update(till.Background(ctx), func(tx till.Tx) (err error) {
		n, err = tx.DeleteIdempotencyRecords(ctx, s.clock.Now().Add(-s.retention))
		return err
	})
	return n, err
}

// purgeIdempotencyKeysIfDue runs PurgeIdempotencyKeys when the last run is
// older than idempotencyPurgeEvery, and returns the time of the last run.
func (s *Service) purgeIdempotencyKeysIfDue(ctx context.Context, last time.Time) time.Time {
	now := time.Now()
	if !last.IsZero() && now.Sub(last) < idempotencyPurgeEvery {
		return last
	}
	n, err := s.PurgeIdempotencyKeys(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("purging expired idempotency keys failed", "err", err)
		}
		return last
	}
	if n > 0 {
		s.log.Info("purged expired idempotency keys", "count", n, "retention", s.retention.String())
	}
	return now
}
