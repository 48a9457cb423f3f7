package middleware

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
)

// DecodeJSON decodes a JSON object body into v strictly: unknown fields,
// wrong types, trailing data and non-object bodies are 400 errors naming the
// field. An empty body decodes as {}. Its errors are *till.Error values
// with the codes invalid_json, parameter_unknown (the field's JSON name as
// Param) and validation_error, which every API renders in its own shape;
// the field names are those of v's JSON tags.
func DecodeJSON(r *http.Request, body []byte, v any) error {
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
