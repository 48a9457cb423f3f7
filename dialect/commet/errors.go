package commet

import (
	"net/http"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
)

// errorKind is the HTTP status, type and code of a Till error code in
// Commet's envelope.
type errorKind struct {
	status int
	typ    string
	// code is the Commet code; empty keeps Till's.
	code string
}

// errorKinds is the one table from Till's error codes to Commet's errors.
// Every problem with a request's body, query or headers is Commet's
// validation_error, with details naming each field: the SDK turns those
// into a CommetValidationError keyed by field.
var errorKinds = map[till.Code]errorKind{
	till.EValidation:          {http.StatusBadRequest, "invalid_request_error", "validation_error"},
	till.EParameterUnknown:    {http.StatusBadRequest, "invalid_request_error", "validation_error"},
	till.EInvalidJSON:         {http.StatusBadRequest, "invalid_request_error", "validation_error"},
	till.EAmountTooSmall:      {http.StatusBadRequest, "invalid_request_error", ""},
	till.EAmountTooLarge:      {http.StatusBadRequest, "invalid_request_error", ""},
	till.ECurrencyUnsupported: {http.StatusBadRequest, "invalid_request_error", ""},
	till.EBodyTooLarge:        {http.StatusRequestEntityTooLarge, "invalid_request_error", ""},
	till.EKeyMissing:          {http.StatusUnauthorized, "authentication_error", ""},
	till.EKeyInvalid:          {http.StatusUnauthorized, "authentication_error", ""},
	till.ECardDeclined:        {http.StatusPaymentRequired, "card_error", ""},
	till.EPublishableKey:      {http.StatusForbidden, "permission_error", ""},
	till.ELiveForbidden:       {http.StatusForbidden, "permission_error", ""},
	till.EForbidden:           {http.StatusForbidden, "permission_error", ""},
	till.ENotFound:            {http.StatusNotFound, "invalid_request_error", ""},
	till.EMethodNotAllowed:    {http.StatusMethodNotAllowed, "invalid_request_error", ""},
	till.EConflict:            {http.StatusConflict, "invalid_request_error", ""},
	till.EInProgress:          {http.StatusConflict, "idempotency_error", ""},
	till.EKeyReused:           {http.StatusUnprocessableEntity, "idempotency_error", ""},
	till.ERateLimited:         {http.StatusTooManyRequests, "rate_limit_error", ""},
	till.EInternal:            {http.StatusInternalServerError, "api_error", ""},
	till.EUnavailable:         {http.StatusServiceUnavailable, "api_error", ""},
}

// validationCodes are the Till codes that Commet reports as
// validation_error: their details always list the fields.
var validationCodes = map[till.Code]bool{till.EValidation: true, till.EParameterUnknown: true, till.EInvalidJSON: true}

func kindOf(code till.Code) errorKind {
	if k, ok := errorKinds[code]; ok {
		if k.code == "" {
			k.code = string(code)
		}
		return k
	}
	return kindOf(till.EInternal)
}

// wireError is the error object of Commet's envelope.
type wireError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	Details any    `json:"details"`
	DocURL  string `json:"doc_url"`
}

// envelope is Commet's response envelope.
type envelope struct {
	Success    bool       `json:"success"`
	Data       any        `json:"data,omitempty"`
	HasMore    *bool      `json:"hasMore,omitempty"`
	NextCursor *string    `json:"nextCursor,omitempty"`
	Error      *wireError `json:"error,omitempty"`
}

// errorBody renders err in Commet's error envelope and returns its status.
// An unexpected error shows nothing of its cause.
func (s *Server) errorBody(err error) (int, []byte) {
	e, ok := till.AsError(err)
	if !ok {
		e = till.Internal(err)
	}
	e, _ = till.AsError(till.RenameFields(e, wireName))
	k := kindOf(e.Code)
	msg := e.Message
	if e.Code == till.EInternal || msg == "" {
		msg = "An internal error occurred. The request id identifies it in the logs."
	}
	out := &wireError{Type: k.typ, Code: k.code, Message: msg, Param: e.Param,
		DocURL: s.baseURL + "/docs#error-" + k.code}
	switch {
	case e.Decline != nil:
		out.Details = e.Decline
	case len(e.Fields) > 0:
		out.Details = e.Fields
	case validationCodes[e.Code]:
		out.Details = []till.FieldError{{Field: "body", Message: msg}}
	}
	return k.status, middleware.EncodeJSON(envelope{Success: false, Error: out})
}

// wireNames renames the service's field paths to Commet's where they
// differ.
var wireNames = map[string]string{"name": "fullName"}

func wireName(path string) string {
	if n, ok := wireNames[path]; ok {
		return n
	}
	return path
}

// fail writes err in the error envelope, logging unexpected errors with the
// request id.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.errorBody(err)
	if status >= 500 {
		s.log.Error("commet request failed", "request_id", middleware.RequestID(r.Context()), "method", r.Method, "path", middleware.LogPath(r.URL.Path), "err", err)
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	middleware.WriteJSON(w, status, body)
}

// ok writes one object.
func (s *Server) ok(w http.ResponseWriter, v any) {
	middleware.WriteJSON(w, http.StatusOK, middleware.EncodeJSON(envelope{Success: true, Data: v}))
}

// list writes a page of objects.
func (s *Server) list(w http.ResponseWriter, items any, hasMore bool, nextCursor string) {
	var cursor *string
	if hasMore {
		cursor = &nextCursor
	}
	middleware.WriteJSON(w, http.StatusOK, middleware.EncodeJSON(envelope{Success: true, Data: items, HasMore: &hasMore, NextCursor: cursor}))
}
