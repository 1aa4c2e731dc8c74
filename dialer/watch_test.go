package dialer

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip"
)

// fakeProber answers pings and registrations as told; the same paths run
// against SIPp in cmd/ringproof/trunkstate_test.go.
type fakeProber struct {
	answer     atomic.Bool // pings answered
	register   atomic.Bool // registrations granted
	mu         sync.Mutex
	registered []time.Duration // what each REGISTER asked for
	unregister int
}

func (p *fakeProber) Ping(ctx context.Context, t sip.Trunk, timeout time.Duration) (int, error) {
	if p.answer.Load() {
		return 200, nil
	}
	return 0, sip.ErrNoAnswer
}

func (p *fakeProber) Register(ctx context.Context, r *sip.Registration, timeout time.Duration) (sip.Registered, error) {
	p.mu.Lock()
	p.registered = append(p.registered, r.Expires)
	p.mu.Unlock()
	if !p.register.Load() {
		return sip.Registered{}, errors.New("403 Forbidden")
	}
	return sip.Registered{Expires: 1200 * time.Millisecond, Registrar: netip.MustParseAddrPort("192.0.2.7:5060")}, nil
}

func (p *fakeProber) Unregister(ctx context.Context, r *sip.Registration, timeout time.Duration) error {
	p.mu.Lock()
	p.unregister++
	p.mu.Unlock()
	return nil
}

// waitState waits until t is in state.
func waitState(t *testing.T, tr *trunk, want TrunkState) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tr.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("trunk %s is %s, want %s", tr.Name, tr.State(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchPings(t *testing.T) {
	d, _ := newScripted(t, routedConfig(), nil)
	a := d.trunks[0]
	a.pingEvery = 10 * time.Millisecond
	p := &fakeProber{}
	p.answer.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Watch(ctx, p); close(done) }()
	defer func() { cancel(); <-done }()

	waitState(t, a, TrunkUp)
	p.answer.Store(false)
	waitState(t, a, TrunkDown)
	if !d.Routable() {
		t.Error("with b and uk up, Routable() = false")
	}
	p.answer.Store(true)
	waitState(t, a, TrunkUp)
}

func TestWatchRegisters(t *testing.T) {
	d, _ := newScripted(t, routedConfig(), nil)
	a := d.trunks[0]
	a.register, a.registerExpires = true, time.Hour
	a.setState(TrunkUnregistered)
	p := &fakeProber{}
	p.register.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Watch(ctx, p); close(done) }()

	waitState(t, a, TrunkUp)
	if !d.FromRegistrar("a", netip.MustParseAddr("192.0.2.7")) || d.FromRegistrar("a", netip.MustParseAddr("192.0.2.8")) || d.FromRegistrar("b", netip.MustParseAddr("192.0.2.7")) {
		t.Error("FromRegistrar does not name the registrar of a alone")
	}
	// Refused from now on: the 1.2 s binding lapses and a is unregistered.
	p.register.Store(false)
	waitState(t, a, TrunkUnregistered)
	if d.FromRegistrar("a", netip.MustParseAddr("192.0.2.7")) {
		t.Error("the registrar's address is still a's after the binding lapsed")
	}
	p.register.Store(true)
	waitState(t, a, TrunkUp)
	cancel()
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unregister != 1 || p.registered[0] != time.Hour {
		t.Errorf("asked for %v, unregistered %d times; want an hour, once", p.registered, p.unregister)
	}
}
