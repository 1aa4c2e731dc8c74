package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/history"
)

// Queue is what the dispatcher needs of the history store.
type Queue interface {
	Enqueue(ctx context.Context, ds ...history.Delivery) (int, error)
	ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]history.Delivery, error)
	SettleDelivery(ctx context.Context, id, owner string, s history.Settlement) (bool, error)
	DeliveryStats(ctx context.Context, now time.Time) (history.KindStats, error)
}

// Dispatcher sends the queue's due deliveries. Every node runs one; they
// share the queue.
type Dispatcher struct {
	q     Queue
	hooks *Hooks
	owner string
	subs  func() []conf.Webhook
	log   *slog.Logger
	// Client sends the deliveries; it must not follow redirects.
	client *http.Client
	now    func() time.Time
	kick   chan struct{}

	delivered, retried, dropped atomic.Int64
	mu                          sync.Mutex
	pending                     history.KindStats
	statsAt                     time.Time
}

// Tuning of the dispatcher.
const (
	// pollEvery is how often the queue is asked for due deliveries when
	// nothing kicks the dispatcher.
	pollEvery = time.Second
	// lease is how long a claimed delivery is this node's alone: well
	// beyond a batch's attempts, each bounded by attemptTimeout.
	lease = 30 * time.Second
	// attemptTimeout bounds one POST.
	attemptTimeout = 10 * time.Second
	// batch is how many deliveries one claim takes; they are sent at once.
	batch = 16
	// statsEvery is how often the queue's length and oldest delivery are
	// counted.
	statsEvery = 5 * time.Second
)

// NewDispatcher returns the dispatcher of node owner over q: it signs
// with the secrets of subs' subscriptions (asked at each delivery, so
// that a reload's secrets apply), found by hooks' secret ids.
func NewDispatcher(q Queue, hooks *Hooks, owner string, subs func() []conf.Webhook, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{
		q: q, hooks: hooks, owner: owner, subs: subs, log: log, now: time.Now, kick: make(chan struct{}, 1),
		client: &http.Client{
			Timeout:       attemptTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Kick has the dispatcher look at the queue now (something was enqueued).
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run sends due deliveries until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	for {
		d.countQueue(ctx)
		for d.round(ctx) == batch {
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-d.kick:
		}
	}
}

// round claims due deliveries, sends them at once and settles each; it
// returns how many it claimed.
func (d *Dispatcher) round(ctx context.Context) int {
	ds, err := d.q.ClaimDeliveries(ctx, d.owner, d.now(), lease, batch)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("webhook: cannot read the queue", "err", err)
		}
		return 0
	}
	var wg sync.WaitGroup
	for _, dl := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, dl)
		}()
	}
	wg.Wait()
	return len(ds)
}

// deliver makes one attempt at dl and settles it.
func (d *Dispatcher) deliver(ctx context.Context, dl history.Delivery) {
	n := dl.Attempts + 1
	err := d.attempt(ctx, dl, n)
	if ctx.Err() != nil {
		return // shutting down: the lease ends and a node sends it again
	}
	st := history.Settlement{State: history.DeliveryDelivered, Attempts: n}
	switch at, retry := next(dl.CreatedAt, d.now(), n); {
	case err == nil:
		d.delivered.Add(1)
	case retry:
		st = history.Settlement{State: history.DeliveryPending, NextAt: at, Attempts: n, LastError: err.Error()}
		d.retried.Add(1)
		d.log.Info("webhook: attempt failed; retried later", "id", dl.ID, "event", dl.Event, "host", host(dl.URL), "attempt", n, "retry_in", at.Sub(d.now()).Round(time.Second), "err", err)
	default:
		st = history.Settlement{State: history.DeliveryDropped, Attempts: n, LastError: err.Error()}
		d.dropped.Add(1)
		d.log.Warn("webhook: delivery dropped: it failed for "+RetryFor.String(), "id", dl.ID, "event", dl.Event, "host", host(dl.URL), "attempts", n, "err", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ok, err := d.q.SettleDelivery(sctx, dl.ID, d.owner, st); err != nil {
		d.log.Warn("webhook: cannot record a delivery's outcome; it may be sent again", "id", dl.ID, "err", err)
	} else if !ok {
		d.log.Info("webhook: delivery was taken over by another node (lease ended)", "id", dl.ID)
	}
}

// errNoSecret means no subscription of the configuration has the
// delivery's URL any more.
var errNoSecret = errors.New("no webhook of the configuration has this URL any more")

// attempt POSTs dl once: nil if the receiver answered 2xx.
func (d *Dispatcher) attempt(ctx context.Context, dl history.Delivery, n int) error {
	secret, ok := d.secret(dl)
	if !ok {
		return errNoSecret
	}
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ringproof-webhook")
	req.Header.Set(IDHeader, dl.ID)
	req.Header.Set(EventHeader, dl.Event)
	req.Header.Set(AttemptHeader, strconv.Itoa(n))
	req.Header.Set(SignatureHeader, Sign([]byte(secret), d.now(), dl.Body))
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold a token: never in logs
		}
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return nil
}

// secret finds the secret that signs dl: its subscription's, or, if that
// secret was replaced since, the current one of its URL.
func (d *Dispatcher) secret(dl history.Delivery) (string, bool) {
	subs := d.subs()
	for _, s := range subs {
		if s.URL == dl.URL && d.hooks.secretID(s.Secret) == dl.SecretID {
			return s.Secret, true
		}
	}
	for _, s := range subs {
		if s.URL == dl.URL {
			return s.Secret, true
		}
	}
	return "", false
}

func host(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

// countQueue counts the pending deliveries, at most every statsEvery.
func (d *Dispatcher) countQueue(ctx context.Context) {
	d.mu.Lock()
	due := d.now().Sub(d.statsAt) >= statsEvery
	d.mu.Unlock()
	if !due {
		return
	}
	st, err := d.q.DeliveryStats(ctx, d.now())
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("webhook: cannot count the queue", "err", err)
		}
		return
	}
	d.mu.Lock()
	d.pending, d.statsAt = st, d.now()
	d.mu.Unlock()
}

// Stats are a dispatcher's counts.
type Stats struct {
	// Delivered, Retried and Dropped count this node's attempts since
	// start, by outcome: delivered; failed, to be tried again; failed
	// for the last time.
	Delivered, Retried, Dropped int64
	// Pending counts the deliveries waiting in the queue, cluster-wide,
	// and OldestAge is how long the oldest of them has waited (0 when
	// none), as of the last count (every few seconds).
	Pending   int64
	OldestAge time.Duration
}

// Stats reports the dispatcher's counts.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	p := d.pending
	d.mu.Unlock()
	s := Stats{Delivered: d.delivered.Load(), Retried: d.retried.Load(), Dropped: d.dropped.Load(), Pending: p.Count}
	if p.Count > 0 {
		s.OldestAge = max(d.now().Sub(p.Oldest), 0)
	}
	return s
}

// Enqueue adds deliveries made outside any record's write (a masked
// call's end) to the queue.
func (d *Dispatcher) Enqueue(ctx context.Context, ds ...history.Delivery) (int, error) {
	return d.q.Enqueue(ctx, ds...)
}
