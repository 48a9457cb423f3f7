package http

import (
	_ "embed"
	"net/http"
)

// openapiDoc is the hand-written OpenAPI 3.1 description of the native API.
// A test checks that it lists every route of routeTable.
//
//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the OpenAPI document.
func OpenAPI() []byte { return openapiDoc }

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	writeBody(w, http.StatusOK, openapiDoc)
}
