package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// Idem carries a request's Idempotency-Key through a use case (SPEC §1). The
// API the request came through fills API, Key and Fingerprint; the service
// records the operation and its outcome, and sets Replayed.
//
// A use case made of one unit of work stores its result in that same unit,
// so the work and its remembered outcome commit together. A use case that
// calls a processor first stores the key in progress, under a lease and
// naming the object it works on, in the unit of work that records the
// attempt; the unit that settles the attempt stores the outcome. A repeat of
// a request whose process died is finished by the repeat, by its operation,
// never started again. A repeat of a finished request gets the stored
// outcome: the same result value and error, which its API renders as it
// rendered the first answer.
type Idem struct {
	// API names the API the request came through ("native", a dialect's
	// name): each keeps its own keys.
	API string
	Key string
	// Fingerprint is what makes a request the same request in its API (the
	// native API: method, path and the SHA-256 of the body). A key reused
	// with another fingerprint is refused.
	Fingerprint string

	// Replayed is set by the service when the outcome was stored by an
	// earlier request.
	Replayed bool

	sealed bool
}

// Operation is what a keyed request does, recorded with its key: recovery
// after a crash resumes by it.
type Operation string

// The operations a key can be used for.
const (
	OpCharge            Operation = "charge"
	OpCapture           Operation = "capture"
	OpRelease           Operation = "release"
	OpRefund            Operation = "refund"
	OpPaymentUpdate     Operation = "payment.update"
	OpPaymentCancel     Operation = "payment.cancel"
	OpLinkCreate        Operation = "payment_link.create"
	OpLinkCancel        Operation = "payment_link.cancel"
	OpCustomerCreate    Operation = "customer.create"
	OpCustomerUpdate    Operation = "customer.update"
	OpCustomerDelete    Operation = "customer.delete"
	OpPaymentMethodSave Operation = "payment_method.create"
	OpPaymentMethodDrop Operation = "payment_method.detach"
	OpTokenCreate       Operation = "token.create"
	OpAccountUpdate     Operation = "account.update"
	OpClockAdvance      Operation = "test_clock.advance"
	OpAccountCreate     Operation = "account.create"
	OpKeyCreate         Operation = "api_key.create"
	OpKeyRevoke         Operation = "api_key.revoke"
	OpWebhookCreate     Operation = "webhook_endpoint.create"
	OpWebhookUpdate     Operation = "webhook_endpoint.update"
	OpWebhookDelete     Operation = "webhook_endpoint.delete"
	OpWebhookRoll       Operation = "webhook_endpoint.roll_secret"
	OpEventResend       Operation = "event.resend"
	OpSessionCreate     Operation = "customer_session.create"
	OpSessionRevoke     Operation = "customer_session.revoke"
	OpOrderCreate       Operation = "order.create"
	OpOrderCancel       Operation = "order.cancel"
	OpSubscriptionMake  Operation = "subscription.create"
	OpSubscriptionEdit  Operation = "subscription.update"
	OpSubscriptionStop  Operation = "subscription.cancel"
	OpCatalogCreate     Operation = "catalog.create"
	OpCatalogUpdate     Operation = "catalog.update"
	OpCatalogDelete     Operation = "catalog.delete"
)

// legacyAPI is the API migration 6 assigned the keys stored before keys
// were scoped by API.
const legacyAPI = "native"

// ReplayedResponse is a response the native API rendered and stored before
// the service stored outcomes (records from before migration 6). The
// service returns it as the error of a replay; the native API sends it as
// it is.
type ReplayedResponse struct {
	Status int
	Body   []byte
}

func (r *ReplayedResponse) Error() string {
	return fmt.Sprintf("service: replay of a stored response (status %d)", r.Status)
}

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted.
const MaxIdempotencyKeyLen = 255

// NewIdem returns the Idem of a request that sent Idempotency-Key key
// through api, with the API's fingerprint of the request; nil when key is
// empty. A key longer than MaxIdempotencyKeyLen or with characters other
// than printable ASCII is a validation error on "Idempotency-Key".
func NewIdem(api, key, fingerprint string) (*Idem, error) {
	if key == "" {
		return nil, nil
	}
	if len(key) > MaxIdempotencyKeyLen || strings.ContainsFunc(key, func(c rune) bool { return c < 0x20 || c > 0x7e }) {
		return nil, till.ParamError(till.EValidation, "Idempotency-Key",
			"Idempotency-Key must be 1–%d printable ASCII characters", MaxIdempotencyKeyLen)
	}
	return &Idem{API: api, Key: key, Fingerprint: fingerprint}, nil
}

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

// storedOutcome is what the service stores when a keyed request finishes:
// its result value as JSON and the error it answered with (a declined
// card's), if any.
type storedOutcome struct {
	Value json.RawMessage `json:"value,omitempty"`
	Error *storedError    `json:"error,omitempty"`
}

type storedError struct {
	Code    till.Code         `json:"code"`
	Message string            `json:"message"`
	Param   string            `json:"param,omitempty"`
	Fields  []till.FieldError `json:"fields,omitempty"`
	Decline *till.Decline     `json:"decline,omitempty"`
}

// idempotent runs a use case under idem: a repeat of a finished request is
// answered from the store (its result decoded into out, a pointer to the
// use case's result variable, and its error returned), a repeat of a
// running one is refused, a repeat of one whose process died is finished.
// With idem nil it just runs.
func (s *Service) idempotent(ctx context.Context, c *Caller, idem *Idem, op Operation, out any, run func() error) error {
	if idem == nil {
		return run()
	}
	for range 3 {
		done, err := s.replay(ctx, c, idem, op, out)
		if done || err != nil {
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
// reports whether the request was answered, and the answer's error.
func (s *Service) replay(ctx context.Context, c *Caller, idem *Idem, op Operation, out any) (bool, error) {
	rec, err := s.idemRecord(ctx, c, idem)
	if err != nil || rec == nil {
		return false, err
	}
	if rec.Operation != string(op) || rec.Fingerprint != idem.Fingerprint {
		return false, till.Errorf(till.EKeyReused,
			"This Idempotency-Key was already used with a different request; use a new key for a new request.")
	}
	if rec.State != till.IdemDone {
		if s.clock.Now().Before(rec.LeaseUntil) {
			return false, inProgress()
		}
		if err := s.resume(ctx, c, idem, rec); err != nil {
			return false, err
		}
		if rec, err = s.idemRecord(ctx, c, idem); err != nil {
			return false, err
		}
		if rec == nil || rec.State != till.IdemDone {
			return false, inProgress()
		}
	}
	idem.Replayed = true
	return true, s.outcome(ctx, rec, out)
}

// idemRecord reads idem's record; nil when the key is new.
func (s *Service) idemRecord(ctx context.Context, c *Caller, idem *Idem) (*till.IdempotencyRecord, error) {
	var rec *till.IdempotencyRecord
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		rec, err = tx.IdempotencyRecord(ctx, c.Scope(), idem.API, idem.Key)
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	return rec, err
}

// outcome decodes a finished record's result into out and returns its
// error.
func (s *Service) outcome(ctx context.Context, rec *till.IdempotencyRecord, out any) error {
	if rec.Result == nil {
		return &ReplayedResponse{Status: rec.StatusCode, Body: rec.ResponseBody}
	}
	b, err := s.openResult(ctx, rec)
	if err != nil {
		return err
	}
	var o storedOutcome
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("service: stored outcome of idempotency key: %w", err)
	}
	if len(o.Value) > 0 && out != nil {
		if err := json.Unmarshal(o.Value, out); err != nil {
			return fmt.Errorf("service: stored result of idempotency key: %w", err)
		}
	}
	if e := o.Error; e != nil {
		return &till.Error{Code: e.Code, Message: e.Message, Param: e.Param, Fields: e.Fields, Decline: e.Decline}
	}
	return nil
}

// encodeOutcome encodes a use case's result and error for its key.
func (s *Service) encodeOutcome(c till.Scope, idem *Idem, v any, resultErr error) ([]byte, error) {
	var o storedOutcome
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("service: encode result for idempotency key: %w", err)
		}
		o.Value = b
	}
	if resultErr != nil {
		e, ok := till.AsError(resultErr)
		if !ok {
			return nil, fmt.Errorf("service: an unexpected error cannot be stored as an outcome: %w", resultErr)
		}
		o.Error = &storedError{Code: e.Code, Message: e.Message, Param: e.Param, Fields: e.Fields, Decline: e.Decline}
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	if idem.sealed {
		return s.sealResponse(b, c.AccountID, idem.API, idem.Key)
	}
	return b, nil
}

// remember stores the outcome v of idem's request in the unit of work tx
// that did the request's work. resourceID names the object the request
// made.
func (s *Service) remember(ctx context.Context, tx till.Tx, c *Caller, idem *Idem, op Operation, v any, resourceID string) error {
	if idem == nil {
		return nil
	}
	result, err := s.encodeOutcome(c.Scope(), idem, v, nil)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = tx.CreateIdempotencyRecord(ctx, &till.IdempotencyRecord{
		AccountID: c.Account.ID, Livemode: c.Livemode, API: idem.API, Key: idem.Key, Operation: string(op),
		Fingerprint: idem.Fingerprint, State: till.IdemDone, ResourceID: resourceID, Result: result,
		CreatedAt: now, UpdatedAt: now,
	})
	if errors.Is(err, till.ErrDuplicate) {
		return errIdemRace
	}
	return err
}

// sealedPrefix starts a stored outcome kept encrypted; JSON never starts
// with a NUL byte.
const sealedPrefix = "\x00sealed:"

// sealResponse encrypts a stored outcome under the vault's data key, bound
// to the key's scope.
func (s *Service) sealResponse(body []byte, accountID, api, key string) ([]byte, error) {
	if s.keys == nil {
		return nil, errors.New("service: no keyring to seal a response")
	}
	ct, dk, err := s.keys.Seal(body, sealContext(accountID, api, key))
	if err != nil {
		return nil, err
	}
	return append([]byte(sealedPrefix+dk+":"), ct...), nil
}

// sealContext binds a sealed outcome to its key. Records of the native API
// keep the context they were sealed under before keys were scoped by API.
func sealContext(accountID, api, key string) []byte {
	if api == legacyAPI {
		return []byte("idempotency\x00" + accountID + "\x00" + key)
	}
	return []byte("idempotency\x00" + accountID + "\x00" + api + "\x00" + key)
}

// openResult returns a stored outcome, decrypting a sealed one.
func (s *Service) openResult(ctx context.Context, rec *till.IdempotencyRecord) ([]byte, error) {
	rest, ok := bytes.CutPrefix(rec.Result, []byte(sealedPrefix))
	if !ok {
		return rec.Result, nil
	}
	dk, ct, ok := bytes.Cut(rest, []byte(":"))
	if !ok || s.keys == nil {
		return nil, errors.New("service: malformed sealed response")
	}
	return s.open(ctx, ct, string(dk), sealContext(rec.AccountID, rec.API, rec.Key))
}

// claimKey stores idem in progress for a multi-step request working on
// resourceID, leased to this process.
func (s *Service) claimKey(ctx context.Context, tx till.Tx, scope till.Scope, idem *Idem, op Operation, resourceID string) error {
	if idem == nil {
		return nil
	}
	now := s.clock.Now()
	err := tx.CreateIdempotencyRecord(ctx, &till.IdempotencyRecord{
		AccountID: scope.AccountID, Livemode: scope.Livemode, API: idem.API, Key: idem.Key, Operation: string(op),
		Fingerprint: idem.Fingerprint, State: till.IdemInProgress, LeaseOwner: s.instance, LeaseUntil: now.Add(s.lease),
		ResourceID: resourceID, CreatedAt: now, UpdatedAt: now,
	})
	if errors.Is(err, till.ErrDuplicate) {
		return errIdemRace
	}
	return err
}

// completeKey stores the outcome of a multi-step request, its result and
// error, in the unit of work that settled it.
func (s *Service) completeKey(ctx context.Context, tx till.Tx, scope till.Scope, idem *Idem, resourceID string, v any, resultErr error) error {
	if idem == nil {
		return nil
	}
	result, err := s.encodeOutcome(scope, idem, v, resultErr)
	if err != nil {
		return err
	}
	rec := &till.IdempotencyRecord{AccountID: scope.AccountID, Livemode: scope.Livemode, API: idem.API, Key: idem.Key,
		State: till.IdemDone, ResourceID: resourceID, Result: result, UpdatedAt: s.clock.Now()}
	return tx.UpdateIdempotencyRecord(ctx, rec)
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
