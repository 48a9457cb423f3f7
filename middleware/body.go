package middleware

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// BodyError is the error of ReadBody: the body was larger than Limit
// (TooLarge), or it could not be read (Err). Each API maps it to its own
// shape, typically 413 and 400.
type BodyError struct {
	Limit    int64
	TooLarge bool
	Err      error // the read error; nil when TooLarge
}

func (e *BodyError) Error() string {
	if e.TooLarge {
		return fmt.Sprintf("request body larger than %d bytes", e.Limit)
	}
	return "reading the request body: " + e.Err.Error()
}

// Unwrap returns the read error.
func (e *BodyError) Unwrap() error { return e.Err }

// ReadBody reads r's body, at most limit bytes. A body larger than limit is
// a *BodyError with TooLarge set (and is not read beyond limit+1 bytes); a
// failed read is a *BodyError wrapping the read error. A request without a
// body returns nil, nil.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		// An outer http.MaxBytesReader with a lower limit cut it short.
		return nil, &BodyError{Limit: maxErr.Limit, TooLarge: true}
	case err != nil:
		return nil, &BodyError{Limit: limit, Err: err}
	case int64(len(b)) > limit:
		return nil, &BodyError{Limit: limit, TooLarge: true}
	}
	return b, nil
}
