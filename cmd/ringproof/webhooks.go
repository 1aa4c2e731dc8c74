package main

import (
	"context"
	"encoding/hex"
	"github.com/ringproof/ringproof/verify"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/masking"
	"github.com/ringproof/ringproof/webhook"
)

// webhooks is the node's part of webhook delivery: the deliveries it
// makes (hooks) and the dispatcher that sends the queue's due deliveries,
// which it shares with every node.
type webhooks struct {
	hooks *webhook.Hooks
	disp  *webhook.Dispatcher
	// subs are the top-level subscriptions; byService are the webhooks of
	// services that have their own, which replace subs for their
	// verifications; all are every subscription of the configuration,
	// whose secrets sign the queue's deliveries.
	subs, all []conf.Webhook
	byService map[string][]conf.Webhook
	log       *slog.Logger
	done      chan struct{}
}

// startWebhooks starts the node's webhook dispatcher until ctx ends; owner
// names the node in the queue's leases.
func (s *server) startWebhooks(ctx context.Context, cfg *conf.Config, owner string, log *slog.Logger) {
	index := s.vault.Index()
	w := &webhooks{
		hooks: webhook.NewHooks(func(secret string) string {
			return hex.EncodeToString(index.Keyed("webhook secret", secret)[:16])
		}),
		// Webhooks take a restart to change: the subscriptions are the
		// configuration's as started.
		subs:      cfg.Webhooks,
		all:       allWebhooks(cfg),
		byService: map[string][]conf.Webhook{},
		log:       log,
		done:      make(chan struct{}),
	}
	for _, svc := range cfg.Services {
		if len(svc.Webhooks) > 0 {
			w.byService[svc.Name] = svc.Webhooks
		}
	}
	w.disp = webhook.NewDispatcher(s.hist, w.hooks, owner, func() []conf.Webhook { return w.all }, log)
	// Deliveries of verifications reach the queue with their history
	// entries: look at it as soon as a batch is written.
	s.vault.OnHistoryWrite(func(d time.Duration, entries int, err error) {
		s.lat.observeHistory(d, entries, err)
		if err == nil {
			w.disp.Kick()
		}
	})
	s.webhooks = w
	go func() {
		defer close(w.done)
		w.disp.Run(ctx)
	}()
}

// allWebhooks lists every subscription of cfg: the dispatcher finds the
// secret of each delivery among them, so a list of subscriptions kept
// elsewhere in the configuration (a service's) must be added here.
func allWebhooks(cfg *conf.Config) []conf.Webhook {
	all := slices.Clone(cfg.Webhooks)
	for _, svc := range cfg.Services {
		all = append(all, svc.Webhooks...)
	}
	return all
}

// of returns the webhooks v's events go to: its service's own, or the
// top-level ones.
func (w *webhooks) of(v *verify.Verification) []conf.Webhook {
	if hooks, ok := w.byService[v.Service]; ok {
		return hooks
	}
	return w.subs
}

// callEnded enqueues the masking.call_ended deliveries of e. A masked
// call's end is in no record, so it is enqueued directly, tried again for
// a minute if the history store is unavailable.
func (w *webhooks) callEnded(e masking.CallEnd) {
	ds, err := w.hooks.Deliveries(w.subs, conf.EventMaskingCallEnded, "masking/"+e.CallID, e.EndedAt, e)
	if err != nil || len(ds) == 0 {
		return
	}
	go func() {
		deadline := time.Now().Add(time.Minute)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := w.disp.Enqueue(ctx, ds...)
			cancel()
			if err == nil {
				w.disp.Kick()
				return
			}
			if time.Now().After(deadline) {
				w.log.Error("webhook: masking.call_ended lost: the history store is unavailable", "session", e.SessionID, "err", err)
				return
			}
			time.Sleep(2 * time.Second)
		}
	}()
}

// webhookMetrics exposes the dispatcher's counts.
type webhookMetrics struct {
	w                            *webhooks
	deliveries, queue, oldestAge *prometheus.Desc
}

// webhookOutcomes are the outcomes of ringproof_webhook_deliveries_total.
var webhookOutcomes = []string{"delivered", "retried", "dropped"}

func newWebhookMetrics(w *webhooks) *webhookMetrics {
	return &webhookMetrics{
		w: w,
		deliveries: prometheus.NewDesc("ringproof_webhook_deliveries_total",
			"Webhook delivery attempts by this node, by outcome: delivered (the receiver answered 2xx), retried (it failed and is tried again later), dropped (it failed for the last time, a day after the event).",
			[]string{"outcome"}, nil),
		queue:     prometheus.NewDesc("ringproof_webhook_queue_length", "Webhook deliveries waiting in the queue, across the cluster (counted every few seconds).", nil, nil),
		oldestAge: prometheus.NewDesc("ringproof_webhook_oldest_pending_age_seconds", "How long the oldest webhook delivery still waiting has waited, across the cluster; 0 when none waits.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *webhookMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.deliveries
	ch <- m.queue
	ch <- m.oldestAge
}

// Collect implements prometheus.Collector.
func (m *webhookMetrics) Collect(ch chan<- prometheus.Metric) {
	var st webhook.Stats
	if m.w != nil {
		st = m.w.disp.Stats()
	}
	for i, n := range []int64{st.Delivered, st.Retried, st.Dropped} {
		ch <- prometheus.MustNewConstMetric(m.deliveries, prometheus.CounterValue, float64(n), webhookOutcomes[i])
	}
	ch <- prometheus.MustNewConstMetric(m.queue, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(m.oldestAge, prometheus.GaugeValue, st.OldestAge.Seconds())
}
