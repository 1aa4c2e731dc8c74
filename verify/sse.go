package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ringproof/ringproof/privacy"
)

// sseHeartbeat keeps idle event streams open through proxies.
const sseHeartbeat = 15 * time.Second

// events streams a verification's changes as Server-Sent Events: an
// event "verification" carrying the verification's JSON for its state now
// and for every change, ending after a final status. A web page may use
// ?token=<watch_token> instead of an API key (EventSource cannot send
// headers); it then sees the number masked.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ringproof"`)
		WriteError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong API key or watch token", "")
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		WriteError(w, http.StatusInternalServerError, "internal", "streaming unsupported", "")
		return
	}
	changes, err := h.svc.Watch(r.Context(), r.PathValue("id"), token)
	if err != nil {
		if errors.Is(err, ErrNotFound) && token != "" {
			WriteError(w, http.StatusNotFound, "not_found", "no verification with that id and token", "id")
			return
		}
		h.fail(w, r, err)
		return
	}
	// The stream outlives the server's write timeout.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	n := 0
	for {
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		case v, ok := <-changes:
			if !ok {
				return
			}
			if token != "" {
				masked := *v
				masked.Number = privacy.Mask(v.Number)
				masked.WatchToken = ""
				v = &masked
			}
			data, _ := json.Marshal(v)
			n++
			fmt.Fprintf(w, "id: %d\nevent: verification\ndata: %s\n\n", n, data)
			flusher.Flush()
		}
	}
}
