package api

import "net/http"

// StatusWriter wraps a ResponseWriter for middleware that needs to know
// what the handler answered: the status code it wrote and whether it
// streamed (flushed) its response. It passes Flush on (event streams) and
// unwraps for http.ResponseController.
type StatusWriter struct {
	http.ResponseWriter
	status   int
	streamed bool
}

// WriteHeader notes the first status written and passes it on.
func (w *StatusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write notes an implicit 200 when no status was written first.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets handlers that stream (type-asserting http.Flusher) flush.
func (w *StatusWriter) Flush() {
	w.streamed = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Status is the status the handler answered: 200 if it wrote nothing.
func (w *StatusWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Streamed reports whether the handler flushed its response.
func (w *StatusWriter) Streamed() bool { return w.streamed }
