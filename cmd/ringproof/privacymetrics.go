package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringproof/ringproof/privacy"
)

// holdingsEvery is how often a node counts what it holds, for the
// ringproof_privacy_* gauges: counting is a scan of the history store,
// too heavy for every scrape.
const holdingsEvery = 5 * time.Minute

// holdings keeps the latest holdings report of a node.
type holdings struct {
	latest atomic.Pointer[privacy.Report]
}

// watch counts what the vault holds now and every holdingsEvery until ctx
// ends.
func (h *holdings) watch(ctx context.Context, v *privacy.Vault, log *slog.Logger) {
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		rep, err := v.Report(rctx)
		cancel()
		switch {
		case err == nil:
			h.latest.Store(rep)
		case ctx.Err() == nil:
			log.Warn("privacy: cannot count what is held; the ringproof_privacy_* gauges keep their last values", "err", err)
		}
		t := time.NewTimer(holdingsEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// privacyMetrics exposes the holdings report as gauges, by kind of
// personal data (verification_history, consent, masking_sessions,
// data_keys, audit).
type privacyMetrics struct {
	h                    *holdings
	held, age, retention *prometheus.Desc
}

func newPrivacyMetrics(h *holdings) *privacyMetrics {
	return &privacyMetrics{
		h: h,
		held: prometheus.NewDesc("ringproof_privacy_held",
			"Entries of personal data held in the history store, by kind (counted every 5 minutes).", []string{"kind"}, nil),
		age: prometheus.NewDesc("ringproof_privacy_oldest_age_seconds",
			"Age of the oldest entry held of each kind of personal data; above its ringproof_privacy_retention_seconds, retention is not running.", []string{"kind"}, nil),
		retention: prometheus.NewDesc("ringproof_privacy_retention_seconds",
			"How long each kind of personal data is kept (privacy.retention_days, privacy.audit_retention_days).", []string{"kind"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *privacyMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.held
	ch <- m.age
	ch <- m.retention
}

// Collect implements prometheus.Collector: the last report, nothing before
// the first.
func (m *privacyMetrics) Collect(ch chan<- prometheus.Metric) {
	rep := m.h.latest.Load()
	if rep == nil {
		return
	}
	for _, k := range rep.Holdings {
		ch <- prometheus.MustNewConstMetric(m.held, prometheus.GaugeValue, float64(k.Count), k.Kind)
		ch <- prometheus.MustNewConstMetric(m.retention, prometheus.GaugeValue, float64(k.RetentionDays)*86400, k.Kind)
		age := 0.0
		if k.Count > 0 {
			age = time.Since(k.Oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(m.age, prometheus.GaugeValue, age, k.Kind)
	}
}
