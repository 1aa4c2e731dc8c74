package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// WriteJSON writes v as the JSON body of a response with status. Responses
// of the API are never cached: they hold the state of the moment, and
// sometimes personal data.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DecodeBody reads a JSON object body of at most maxBody bytes into v,
// strictly: one object, known fields only, each key once and in the case
// the API gives it. The Content-Type is not
// checked, so that a plain curl -d works. On failure it writes a 4xx
// naming the field when it can, and returns false.
func DecodeBody(w http.ResponseWriter, r *http.Request, maxBody int64, v any) bool {
	if err := ReadBody(w, r, maxBody, v); err != nil {
		WriteError(w, err.Status, err.Code, err.Message, err.Field)
		return false
	}
	return true
}

// BodyError is a request body that ReadBody refused: the HTTP status to
// answer (400, or 413 for a body too large), a stable code (invalid_json,
// invalid_type, unknown_field, duplicate_field, body_too_large), a
// message for people and the field at fault, if any.
type BodyError struct {
	Status               int
	Code, Message, Field string
}

func (e *BodyError) Error() string { return e.Message }

// ReadBody is DecodeBody for APIs that answer in a shape of their own: it
// reads the body into v as strictly, and returns what is wrong with it
// instead of answering. w is needed only to bound the body's size.
func ReadBody(w http.ResponseWriter, r *http.Request, maxBody int64, v any) *BodyError {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return decodeError(err)
	}
	// What encoding/json would let by: a key twice, a key in another case
	// (strictjson.go).
	if p := checkKeys(data, reflect.TypeOf(v)); p != nil {
		return &BodyError{http.StatusBadRequest, p.code, p.message, p.field}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err)
		}
		return &BodyError{http.StatusBadRequest, "invalid_json", "body must hold a single JSON object", ""}
	}
	return nil
}

// DecodeEmpty accepts a body of at most maxBody bytes that is empty or an
// empty JSON object, for requests that take no parameters. On failure it
// writes a 4xx and returns false.
func DecodeEmpty(w http.ResponseWriter, r *http.Request, maxBody int64) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		e := decodeError(err)
		WriteError(w, e.Status, e.Code, e.Message, e.Field)
		return false
	}
	if s := strings.TrimSpace(string(body)); s != "" && s != "{}" {
		WriteError(w, http.StatusBadRequest, "invalid_json", "body must be empty or {}", "")
		return false
	}
	return true
}

// decodeError explains a JSON decoding failure, naming the field when
// the decoder knows it.
func decodeError(err error) *BodyError {
	var (
		tooBig    *http.MaxBytesError
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		unknownFx = "json: unknown field "
	)
	bad := func(code, msg, field string) *BodyError { return &BodyError{http.StatusBadRequest, code, msg, field} }
	switch {
	case errors.As(err, &tooBig):
		return &BodyError{http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("body exceeds %d bytes", tooBig.Limit), ""}
	case errors.As(err, &syntax):
		return bad("invalid_json", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset), "")
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return bad("invalid_type", fmt.Sprintf("body must be a JSON object, not %s", article(typeErr.Value)), "")
	case errors.As(err, &typeErr):
		return bad("invalid_type", fmt.Sprintf("%s must be %s, not %s", typeErr.Field, article(jsonType(typeErr.Type)), article(typeErr.Value)), typeErr.Field)
	case strings.HasPrefix(err.Error(), unknownFx):
		field := strings.Trim(strings.TrimPrefix(err.Error(), unknownFx), `"`)
		return bad("unknown_field", fmt.Sprintf("unknown field %q", field), field)
	case errors.Is(err, io.EOF):
		return bad("invalid_json", "body is empty; a JSON object is required", "")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("invalid_json", "body ends in the middle of a JSON value", "")
	default:
		return bad("invalid_json", "body is not a JSON object", "")
	}
}
