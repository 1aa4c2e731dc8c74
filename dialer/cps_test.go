package dialer

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimiterBurstIsCPS(t *testing.T) {
	for _, cps := range []int{1, 5, 100} {
		l := NewLimiter(cps)
		if got := l.lim.Limit(); got != rate.Limit(cps) {
			t.Errorf("NewLimiter(%d): rate %v, want %d/s", cps, got, cps)
		}
		// At one instant, a full bucket grants exactly cps calls.
		now := time.Now()
		granted := 0
		for range cps + 10 {
			if l.lim.AllowN(now, 1) {
				granted++
			}
		}
		if granted != cps {
			t.Errorf("NewLimiter(%d): %d calls allowed at once, want %d", cps, granted, cps)
		}
	}
}

func TestLimiterStartsFull(t *testing.T) {
	const cps = 50
	l := NewLimiter(cps)
	for i := range cps {
		if !l.Allow() {
			t.Fatalf("Allow() = false on call %d of a fresh %d cps limiter", i+1, cps)
		}
	}
	l = NewLimiter(cps)
	for i := range cps {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatalf("Wait() on call %d of a fresh %d cps limiter: %v", i+1, cps, err)
		}
	}
}

func TestLimiterWaitEndsWithContext(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(context.Context) (context.Context, context.CancelFunc)
		want error
	}{
		{"cancelled", func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"deadline passed", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithDeadline(ctx, time.Now().Add(-time.Second))
		}, context.DeadlineExceeded},
		// The next slot is a second away: rate refuses at once.
		{"deadline before next slot", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLimiter(1)
			if !l.Allow() {
				t.Fatal("Allow() = false on a fresh limiter")
			}
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()
			if err := l.Wait(ctx); !errors.Is(err, tt.want) {
				t.Errorf("Wait() = %v, want error wrapping %v", err, tt.want)
			}
		})
	}
}

func TestLimiterWaitUnblocksOnCancel(t *testing.T) {
	l := NewLimiter(1)
	if !l.Allow() {
		t.Fatal("Allow() = false on a fresh limiter")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- l.Wait(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Wait() = %v, want error wrapping context.Canceled", err)
	}
}

func TestNewLimiterPanicsOnNonPositive(t *testing.T) {
	for _, cps := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewLimiter(%d) did not panic", cps)
				}
			}()
			NewLimiter(cps)
		}()
	}
}

func TestLimiterShare(t *testing.T) {
	tests := []struct{ cps, nodes, burst int }{
		{100, 1, 100}, {100, 4, 25}, {3, 2, 1}, {1, 3, 1}, {10, 0, 10},
	}
	for _, tt := range tests {
		l := NewLimiter(tt.cps)
		l.Share(tt.nodes)
		if got := l.lim.Burst(); got != tt.burst {
			t.Errorf("cps %d over %d nodes: burst %d, want %d", tt.cps, tt.nodes, got, tt.burst)
		}
		want := float64(tt.cps) / float64(max(tt.nodes, 1))
		if got := float64(l.lim.Limit()); got != want {
			t.Errorf("cps %d over %d nodes: rate %v, want %v", tt.cps, tt.nodes, got, want)
		}
	}
}
