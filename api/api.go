// Package api holds what every HTTP API of ringproof shares: the shape of
// its error bodies (ErrorBody), the field-naming InputError and the
// Refused errors that a guard answers with, strict JSON request bodies
// (DecodeBody, or ReadBody for an API that answers in a shape of its
// own), JSON responses (WriteJSON) and bearer keys compared in
// constant time (Keys, RequireKey). It knows nothing of verifications,
// masking or personal data: those packages serve their own routes with it.
package api
