package privacy

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/ringproof/ringproof/history"
)

// TestPendingEncodesAsJSONMarshal: the outbox's own encoding of an entry
// is byte for byte what json.Marshal makes, whatever the strings before
// the body hold, and a body that is not an object is refused.
func TestPendingEncodesAsJSONMarshal(t *testing.T) {
	at := time.Date(2026, 12, 2, 14, 0, 0, 123, time.UTC)
	for _, p := range []*Pending{
		{Kind: "verification", ID: "v1", NumberKey: "nk", CreatedAt: at, ExpiresAt: at.Add(time.Hour), Version: 3,
			Body: json.RawMessage(`{"id":"v1","events":[{"type":"ringing"}],"sealed":"AQID"}`), DataKey: []byte{1, 2, 3}, Queued: at},
		{Kind: `k,"body":null`, Scope: `s"body":null}`, ID: "\u2028<>&", NumberKey: `"body":null`, Version: 1, Final: true,
			Body: json.RawMessage(`{"a":"\u003c"}`), Deliveries: []history.Delivery{{ID: "d1", URL: "https://x/y?a=1&b=<2>", Body: []byte(`{"x":1}`)}}},
	} {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("encode:\n%s\nwant (json.Marshal):\n%s", got, want)
		}
		if back, err := decodePending(got); err != nil || back.ID != p.ID || !bytes.Equal(back.Body, p.Body) {
			t.Errorf("decode: %+v, %v", back, err)
		}
	}
	for _, body := range []string{``, `null`, `[1]`, `"x"`} {
		if _, err := (&Pending{Body: json.RawMessage(body)}).encode(); err == nil {
			t.Errorf("body %q encoded", body)
		}
	}
}
