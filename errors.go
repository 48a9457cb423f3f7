package till

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Code is the machine-readable kind of an Error. The set is closed and
// append-only: codes leave the process in API responses, webhooks and dialect
// errors, so an existing code is never renamed or given a new meaning.
type Code string

// The error codes. Each maps to exactly one HTTP status and error type in the
// native API (see package http) and to one shape in each dialect.
const (
	EValidation          Code = "validation_error"
	EParameterUnknown    Code = "parameter_unknown"
	EInvalidJSON         Code = "invalid_json"
	EAmountTooSmall      Code = "amount_too_small"
	EAmountTooLarge      Code = "amount_too_large"
	ECurrencyUnsupported Code = "currency_unsupported"
	EBodyTooLarge        Code = "body_too_large"
	EKeyMissing          Code = "api_key_missing"
	EKeyInvalid          Code = "api_key_invalid"
	ECardDeclined        Code = "card_declined"
	EPublishableKey      Code = "publishable_key_not_allowed"
	ELiveForbidden       Code = "live_mode_forbidden"
	ENotFound            Code = "resource_missing"
	EConflict            Code = "state_conflict"
	EInProgress          Code = "request_in_progress"
	EKeyReused           Code = "idempotency_key_reused"
	ERateLimited         Code = "rate_limited"
	EInternal            Code = "internal_error"
	EUnavailable         Code = "service_unavailable"
	EMethodNotAllowed    Code = "method_not_allowed"
	EForbidden           Code = "forbidden"
)

// Codes lists every Code in the order they were added. Tests use it to check
// that each code has an HTTP mapping.
var Codes = []Code{
	EValidation, EParameterUnknown, EInvalidJSON, EAmountTooSmall, EAmountTooLarge,
	ECurrencyUnsupported, EBodyTooLarge, EKeyMissing, EKeyInvalid, ECardDeclined,
	EPublishableKey, ELiveForbidden, ENotFound, EConflict, EInProgress, EKeyReused,
	ERateLimited, EInternal, EUnavailable, EMethodNotAllowed, EForbidden,
}

// FieldError names one offending request field, by its path in the request
// (for example "customer.address.country"), and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Decline describes a card decline: the processor's normalized decline code,
// the stored payment that records it and, for authentication_required, the URL
// where the payer completes the payment.
type Decline struct {
	DeclineCode   string `json:"declineCode"`
	PaymentID     string `json:"paymentId,omitempty"`
	NextActionURL string `json:"nextActionUrl,omitempty"`
}

// Error is the one error type of Till. Message is safe to show to API
// callers; Err is the cause, for logs only.
type Error struct {
	Code    Code
	Message string
	Param   string       // first offending field, if any
	Fields  []FieldError // every offending field, for validation errors
	Decline *Decline     // set for card_declined
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Param != "" {
		b.WriteString(" (" + e.Param + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: RedactPANs(fmt.Sprintf(format, args...))}
}

// ParamError returns an Error about one request field.
func ParamError(code Code, param, format string, args ...any) *Error {
	msg := RedactPANs(fmt.Sprintf(format, args...))
	param = RedactPANs(param)
	return &Error{Code: code, Message: msg, Param: param, Fields: []FieldError{{Field: param, Message: msg}}}
}

// NotFound returns the resource_missing error for an object of the given kind.
// It is also the answer for another account's objects, so the message never
// reveals whether the object exists elsewhere.
func NotFound(kind, id string) *Error {
	return &Error{Code: ENotFound, Message: RedactPANs(fmt.Sprintf("No such %s: '%s'", kind, id)), Param: "id"}
}

// Conflict returns a state_conflict error.
func Conflict(format string, args ...any) *Error {
	return Errorf(EConflict, format, args...)
}

// Internal wraps an unexpected error. Its message shown to callers carries
// nothing of the cause.
func Internal(err error) *Error {
	if e, ok := AsError(err); ok {
		return e
	}
	return &Error{Code: EInternal, Message: "An internal error occurred.", Err: err}
}

// ErrorCode returns the Code of err, EInternal for errors that are not *Error,
// and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := AsError(err); ok {
		return e.Code
	}
	return EInternal
}

// AsError reports whether err is or wraps an *Error, and returns it.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Validator collects field errors so that one response names every offending
// field. The zero value is ready to use.
type Validator struct {
	fields []FieldError
	code   Code
}

// Add records a problem with field. The first code added (validation_error if
// none) becomes the code of the resulting error.
func (v *Validator) Add(field, format string, args ...any) {
	v.AddCode(EValidation, field, format, args...)
}

// AddCode records a problem with field under a specific code (for example
// amount_too_small).
func (v *Validator) AddCode(code Code, field, format string, args ...any) {
	if v.code == "" {
		v.code = code
	}
	v.fields = append(v.fields, FieldError{Field: RedactPANs(field), Message: RedactPANs(fmt.Sprintf(format, args...))})
}

// Has reports whether field already has a recorded problem.
func (v *Validator) Has(field string) bool {
	for _, f := range v.fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Err returns nil when nothing was recorded, otherwise an *Error listing every
// field, with Param set to the first.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	msg := v.fields[0].Message
	if len(v.fields) > 1 {
		msg = fmt.Sprintf("%s (and %d more problems)", msg, len(v.fields)-1)
	}
	return &Error{Code: v.code, Message: msg, Param: v.fields[0].Field, Fields: v.fields}
}

// RenameFields returns err with the field paths of its validation error
// renamed by name: an API's table from the service's domain paths (such as
// lineItems[0].unitAmount) to its own wire names. Param, every Fields entry
// and each whole-word mention of a path in the messages are renamed. Errors
// that name no field are returned as they are; err itself is not changed.
func RenameFields(err error, name func(path string) string) error {
	e, ok := AsError(err)
	if !ok || (e.Param == "" && len(e.Fields) == 0) {
		return err
	}
	out := *e
	out.Fields = make([]FieldError, len(e.Fields))
	renames := map[string]string{}
	rename := func(path string) string {
		if path == "" {
			return ""
		}
		if n, ok := renames[path]; ok {
			return n
		}
		n := name(path)
		renames[path] = n
		return n
	}
	out.Param = rename(e.Param)
	for i, f := range e.Fields {
		out.Fields[i] = FieldError{Field: rename(f.Field), Message: f.Message}
	}
	// Longest paths first, so that a path is not renamed inside a longer
	// one that contains it.
	paths := make([]string, 0, len(renames))
	for p := range renames {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	for i := range out.Fields {
		out.Fields[i].Message = renameWords(out.Fields[i].Message, paths, renames)
	}
	out.Message = renameWords(e.Message, paths, renames)
	return &out
}

// renameWords replaces whole-word mentions of paths in msg.
func renameWords(msg string, paths []string, renames map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		if i == 0 || !isPathByte(msg[i-1]) {
			matched := false
			for _, p := range paths {
				if strings.HasPrefix(msg[i:], p) && endsWord(msg[i+len(p):]) {
					b.WriteString(renames[p])
					i += len(p)
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		b.WriteByte(msg[i])
		i++
	}
	return b.String()
}

// endsWord reports whether a path mention is complete before rest: rest
// does not go on with the path (a further segment, an index), though a
// sentence may end with a period.
func endsWord(rest string) bool {
	if rest == "" {
		return true
	}
	if rest[0] == '.' {
		return len(rest) == 1 || !isPathByte(rest[1])
	}
	return !isPathByte(rest[0])
}

func isPathByte(c byte) bool {
	return c == '_' || c == '.' || c == '[' || c == ']' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
