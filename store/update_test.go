package store_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

type counter struct{ N int }

func incrJSON(cur []byte) ([]byte, error) {
	var c counter
	if err := json.Unmarshal(cur, &c); err != nil {
		return nil, err
	}
	c.N++
	return json.Marshal(c)
}

func TestUpdateConcurrentIncrementsAreNotLost(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	if err := s.Create(ctx, "v/n", []byte(`{"N":0}`), 0); err != nil {
		t.Fatal(err)
	}
	const workers = 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			if _, err := s.Update(ctx, "v/n", incrJSON); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	v, _, err := s.Get(ctx, "v/n")
	if err != nil {
		t.Fatal(err)
	}
	var c counter
	if err := json.Unmarshal(v, &c); err != nil || c.N != workers {
		t.Fatalf("final value %s (%v), want N=%d", v, err, workers)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	errAbort := errors.New("abort")

	tests := []struct {
		name    string
		initial string // "" means absent
		fn      func([]byte) ([]byte, error)
		want    string // value afterwards
		wantErr error
	}{
		{"increments", `{"N":1}`, incrJSON, `{"N":2}`, nil},
		{"absent", "", incrJSON, "", store.ErrNotFound},
		{"fn error aborts", `{"N":1}`, func([]byte) ([]byte, error) { return nil, errAbort }, `{"N":1}`, errAbort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "u/" + tt.name
			if tt.initial != "" {
				if err := s.Put(ctx, key, []byte(tt.initial), 0); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Update(ctx, key, tt.fn)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Update err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == errAbort && err != errAbort {
				t.Errorf("fn's error came back as %v, want it unchanged", err)
			}
			if err == nil && string(got) != tt.want {
				t.Errorf("Update returned %s, want %s", got, tt.want)
			}
			v, _, err := s.Get(ctx, key)
			if tt.initial == "" {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Update created the key: %s, %v", v, err)
				}
				return
			}
			if err != nil || string(v) != tt.want {
				t.Errorf("stored %s, %v; want %s", v, err, tt.want)
			}
		})
	}
}

func TestUpdateFromStaleRevisionRetries(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	if err := s.Put(ctx, "v/n", []byte(`{"N":1}`), 0); err != nil {
		t.Fatal(err)
	}
	cur, rev, err := s.Get(ctx, "v/n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "v/n", incrJSON); err != nil { // makes cur stale
		t.Fatal(err)
	}
	var seen []string
	got, err := s.UpdateFrom(ctx, "v/n", cur, rev, func(b []byte) ([]byte, error) {
		seen = append(seen, string(b))
		return incrJSON(b)
	})
	if err != nil || string(got) != `{"N":3}` {
		t.Fatalf("UpdateFrom = %s, %v; want {\"N\":3}", got, err)
	}
	if len(seen) != 2 || seen[0] != `{"N":1}` || seen[1] != `{"N":2}` {
		t.Errorf("fn saw %q, want the cached then the fresh value", seen)
	}
}

func TestUpdateKeepsLease(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	if err := s.Create(ctx, "v/n", []byte(`{"N":0}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	before := leaseOf(t, s, "v/n")
	if before == 0 {
		t.Fatal("Create with a TTL attached no lease")
	}
	if _, err := s.Update(ctx, "v/n", incrJSON); err != nil {
		t.Fatal(err)
	}
	if after := leaseOf(t, s, "v/n"); after != before {
		t.Errorf("lease after Update = %x, want %x", after, before)
	}
}
