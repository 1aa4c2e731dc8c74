package api

import (
	_ "embed"
	"net/http"
	"slices"
)

// openAPI is the contract of a node's HTTP API: an OpenAPI 3.1 document
// naming every route it serves, with their fields, statuses and error
// codes. cmd/ringproof's tests walk it against the real handlers, so that
// it cannot drift from them.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3.1 document (JSON).
func OpenAPI() []byte { return slices.Clone(openAPI) }

// OpenAPIHandler serves the OpenAPI document, to anyone: it holds no
// secret, and clients generate their code from it.
func OpenAPIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(openAPI)
	})
}
