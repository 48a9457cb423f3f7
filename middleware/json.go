package middleware

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// EncodeJSON renders v as JSON without escaping <, > and & (bodies are JSON,
// not HTML), followed by a newline. It panics when v cannot be encoded: the
// APIs render plain structs, so that is a programming error.
func EncodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("middleware: encode response: " + err.Error())
	}
	return buf.Bytes()
}

// WriteJSON writes body, a JSON document, with status and its
// Content-Type and Content-Length.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
