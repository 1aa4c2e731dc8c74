package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/ringproof/ringproof/api"
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
		api.WriteUnauthorized(w, "ringproof", "missing or wrong API key or watch token")
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		api.WriteError(w, http.StatusInternalServerError, "internal", "streaming unsupported", "")
		return
	}
	ip := ClientIP(r)
	switch h.streams.acquire(ip) {
	case errTooManyStreams:
		w.Header().Set("Retry-After", streamRetryAfter)
		api.WriteError(w, http.StatusServiceUnavailable, "too_many_streams", "this node follows as many event streams as it may (http.max_event_streams); retry later", "")
		return
	case errTooManyStreamsFromIP:
		w.Header().Set("Retry-After", streamRetryAfter)
		api.WriteError(w, http.StatusTooManyRequests, "too_many_streams", "too many event streams from your address (http.max_event_streams_per_ip); close one or retry later", "")
		return
	}
	defer h.streams.release(ip)
	changes, err := h.svc.Watch(r.Context(), r.PathValue("id"), token)
	if err != nil {
		if errors.Is(err, ErrNotFound) && token != "" {
			api.WriteError(w, http.StatusNotFound, "not_found", "no verification with that id and token", "id")
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

// streamRetryAfter is the Retry-After, in seconds, of a refused stream.
const streamRetryAfter = "5"

var (
	errTooManyStreams       = errors.New("too many event streams")
	errTooManyStreamsFromIP = errors.New("too many event streams from one address")
)

// DefaultMaxEventStreams is the cap on a node's event streams when the
// configuration leaves it to the machine: 2,000 per CPU, and no more than
// a quarter of the process's open-file limit (each stream holds a
// connection).
func DefaultMaxEventStreams() int {
	n := 2000 * runtime.NumCPU()
	if files := openFileLimit(); files > 0 && files/4 < uint64(n) {
		n = max(int(files/4), 1)
	}
	return n
}

// LimitEventStreams caps the event streams open at once on this node at
// max, and those of one client IP address at perIP; 0 means no cap.
// Beyond them a stream is refused with 503 and 429, both with
// Retry-After. Call it before serving.
func (h *Handler) LimitEventStreams(max, perIP int) {
	h.streams.max, h.streams.perIP = max, perIP
}

// EventStreams returns how many event streams are open now.
func (h *Handler) EventStreams() int {
	h.streams.mu.Lock()
	defer h.streams.mu.Unlock()
	return h.streams.open
}

// streamCount counts open event streams, in all and per client address.
type streamCount struct {
	max, perIP int // 0: no cap

	mu   sync.Mutex
	open int
	byIP map[string]int
}

// acquire counts a new stream from ip (ClientIP), or says which cap it would break.
func (c *streamCount) acquire(ip string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max > 0 && c.open >= c.max {
		return errTooManyStreams
	}
	if c.perIP > 0 && c.byIP[ip] >= c.perIP {
		return errTooManyStreamsFromIP
	}
	if c.byIP == nil {
		c.byIP = map[string]int{}
	}
	c.open++
	c.byIP[ip]++
	return nil
}

// release uncounts a stream from ip that acquire counted.
func (c *streamCount) release(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open--
	if c.byIP[ip]--; c.byIP[ip] <= 0 {
		delete(c.byIP, ip)
	}
}
