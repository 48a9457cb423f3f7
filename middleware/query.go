package middleware

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tillpay/till"
)

// Query reads a request's query parameters strictly, for any API: Err
// reports unknown parameters (parameter_unknown) and every invalid value
// recorded in V (validation_error), each naming its parameter.
type Query struct {
	q       map[string][]string
	allowed map[string]bool
	// V collects the problems found; an API adds its own checks to it.
	V till.Validator
}

// NewQuery returns the query of r, whose parameters must be among allowed.
func NewQuery(r *http.Request, allowed ...string) *Query {
	q := &Query{q: r.URL.Query(), allowed: map[string]bool{}}
	for _, a := range allowed {
		q.allowed[a] = true
	}
	return q
}

// Str returns the first value of name, "" when absent.
func (q *Query) Str(name string) string {
	if vals := q.q[name]; len(vals) > 0 {
		return vals[0]
	}
	return ""
}

// Values returns every value of name.
func (q *Query) Values(name string) []string { return q.q[name] }

// Page returns the page asked for: limit 1–100 (default 10), and the id of
// the last object of the previous page in the parameter named cursor.
func (q *Query) Page(cursor string) till.Page {
	p := till.Page{Limit: 10, StartingAfter: q.Str(cursor)}
	if s := q.Str("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			q.V.Add("limit", "limit must be an integer between 1 and 100")
		} else {
			p.Limit = n
		}
	}
	return p
}

// Time returns name as a time, RFC 3339 or Unix seconds; nil when absent
// or invalid (recorded in V).
func (q *Query) Time(name string) *time.Time {
	s := q.Str(name)
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
	q.V.Add(name, "%s must be an RFC 3339 timestamp or Unix seconds", name)
	return nil
}

// Err reports unknown parameters and every invalid value; nil when there
// is none.
func (q *Query) Err() error {
	for k := range q.q {
		if !q.allowed[k] {
			q.V.AddCode(till.EParameterUnknown, k, "Received unknown parameter: %s", k)
		}
	}
	return q.V.Err()
}
