package http

import (
	"errors"
	"net/http"
	"strconv"
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

// decodeJSON decodes a JSON object body into v strictly (see
// middleware.DecodeJSON).
func decodeJSON(r *http.Request, body []byte, v any) error {
	return middleware.DecodeJSON(r, body, v)
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
