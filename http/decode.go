package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
)

// MaxBodyBytes is the largest request body accepted (1 MiB).
const MaxBodyBytes = 1 << 20

// readBody reads the request body up to MaxBodyBytes: a larger body is 413
// body_too_large, one that cannot be read 400 invalid_json.
func readBody(r *http.Request) ([]byte, error) {
	b, err := middleware.ReadBody(r, MaxBodyBytes)
	var be *middleware.BodyError
	switch {
	case errors.As(err, &be) && be.TooLarge:
		return nil, till.Errorf(till.EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
	case err != nil:
		return nil, till.Errorf(till.EInvalidJSON, "The request body could not be read.")
	}
	return b, nil
}

// decodeJSON decodes a JSON object body into v strictly: unknown fields,
// wrong types, trailing data and non-object bodies are 400 errors naming the
// field. An empty body decodes as {}.
func decodeJSON(r *http.Request, body []byte, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && len(body) > 0 {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json") && mt != "text/plain") {
			return till.Errorf(till.EInvalidJSON, "The request body must be JSON sent with Content-Type: application/json (got %q).", ct)
		}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	if trimmed[0] != '{' {
		return till.Errorf(till.EInvalidJSON, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, v)
	}
	if _, err := dec.Token(); err != io.EOF {
		return till.Errorf(till.EInvalidJSON, "The request body has data after the JSON object.")
	}
	return nil
}

// jsonError turns a decoding error into a clear 400.
func jsonError(err error, v any) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var timeErr *time.ParseError
	msg := err.Error()
	switch {
	case errors.As(err, &syn):
		return till.Errorf(till.EInvalidJSON, "The request body is not valid JSON: %s (at byte %d).", strings.TrimPrefix(syn.Error(), "json: "), syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return till.Errorf(till.EInvalidJSON, "The request body is not valid JSON: it ends too early.")
	case strings.HasPrefix(msg, "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(msg, "json: unknown field "))
		return till.ParamError(till.EParameterUnknown, name, "Received unknown parameter: %s", name)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return till.ParamError(till.EValidation, field, "%s must be %s (got %s)", field, describeType(typ.Type), typ.Value)
	case errors.As(err, &timeErr), strings.HasPrefix(msg, "Time.UnmarshalJSON:"):
		// The second form is time.Time's answer to a JSON value that is not
		// a string (a number, an object): a wrong type, not broken JSON.
		return till.ParamError(till.EValidation, timeField(v), "timestamps must be RFC 3339 strings such as 2026-01-31T12:00:00Z")
	}
	return till.Errorf(till.EInvalidJSON, "The request body could not be decoded: %s", strings.TrimPrefix(msg, "json: "))
}

// timeField names the first time-valued field of v for a time parse error
// (encoding/json does not say which field failed).
func timeField(v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "body"
	}
	timeType := reflect.TypeOf(time.Time{})
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft == timeType {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			return name
		}
	}
	return "body"
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer within range"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return fmt.Sprint("a ", t.Kind())
}

// queryParams reads list parameters strictly: unknown parameters are
// refused, limit must be 1–100, dates RFC 3339 (or Unix seconds).
type queryParams struct {
	q       map[string][]string
	allowed map[string]bool
	v       till.Validator
}

func newQuery(r *http.Request, allowed ...string) *queryParams {
	qp := &queryParams{q: r.URL.Query(), allowed: map[string]bool{}}
	for _, a := range allowed {
		qp.allowed[a] = true
	}
	return qp
}

func (q *queryParams) str(name string) string {
	vals := q.q[name]
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

func (q *queryParams) page() till.Page {
	p := till.Page{Limit: 10, StartingAfter: q.str("startingAfter")}
	if s := q.str("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			q.v.Add("limit", "limit must be an integer between 1 and 100")
		} else {
			p.Limit = n
		}
	}
	return p
}

func (q *queryParams) time(name string) *time.Time {
	s := q.str(name)
	if s == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		t = t.UTC()
		return &t
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n < 1<<40 {
		t := time.Unix(n, 0).UTC()
		return &t
	}
	q.v.Add(name, "%s must be an RFC 3339 timestamp or Unix seconds", name)
	return nil
}

// err reports unknown parameters and every invalid value.
func (q *queryParams) err() error {
	for k := range q.q {
		if !q.allowed[k] {
			q.v.AddCode(till.EParameterUnknown, k, "Received unknown parameter: %s", k)
		}
	}
	return q.v.Err()
}
