package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storeMetrics exposes the size of the state store and the progress of the
// history writer: what an operator watches to see that state stays
// bounded (etcd holds live state only) and that history reaches the
// history store.
type storeMetrics struct {
	s *server

	keys, dbBytes, outbox, queued, writes, joined, joins *prometheus.Desc
}

func newStoreMetrics(s *server) *storeMetrics {
	return &storeMetrics{
		s:       s,
		keys:    prometheus.NewDesc("ringproof_store_keys", "Keys under store.prefix in etcd: live state only, set by the rate of verifications times their live window.", nil, nil),
		dbBytes: prometheus.NewDesc("ringproof_store_db_bytes", "Size of the etcd member's database file (what counts against its space quota).", nil, nil),
		outbox:  prometheus.NewDesc("ringproof_history_pending", "History entries waiting in the state store's outbox for the history store, cluster-wide.", nil, nil),
		queued:  prometheus.NewDesc("ringproof_history_queued", "History entries this node holds to write to the history store.", nil, nil),
		writes: prometheus.NewDesc("ringproof_history_writes_total",
			"History entries written to the history store by this node, by result: written, refused (their number was erased meanwhile); failed counts failed batches.", []string{"result"}, nil),
		joined: prometheus.NewDesc("ringproof_store_txn_joined_total",
			"State-store transactions of this node committed together with others in one etcd transaction (group commit: those that arrived while one was in flight).", nil, nil),
		joins: prometheus.NewDesc("ringproof_store_txn_joins_total",
			"etcd transactions that carried several of this node's transactions together; joined/joins is the mean group size.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *storeMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.keys, m.dbBytes, m.outbox, m.queued, m.writes, m.joined, m.joins} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. The store's figures are read
// from etcd at each scrape (counts only, no values); a store that does not
// answer within 2 s leaves them out.
func (m *storeMetrics) Collect(ch chan<- prometheus.Metric) {
	ws := m.s.vault.WriterStats()
	ch <- prometheus.MustNewConstMetric(m.queued, prometheus.GaugeValue, float64(ws.Queued))
	ch <- prometheus.MustNewConstMetric(m.writes, prometheus.CounterValue, float64(ws.Written), "written")
	ch <- prometheus.MustNewConstMetric(m.writes, prometheus.CounterValue, float64(ws.Refused), "refused")
	ch <- prometheus.MustNewConstMetric(m.writes, prometheus.CounterValue, float64(ws.Failed), "failed")
	joined, joins := m.s.store.JoinStats()
	ch <- prometheus.MustNewConstMetric(m.joined, prometheus.CounterValue, float64(joined))
	ch <- prometheus.MustNewConstMetric(m.joins, prometheus.CounterValue, float64(joins))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := m.s.store.Count(ctx, ""); err == nil {
		ch <- prometheus.MustNewConstMetric(m.keys, prometheus.GaugeValue, float64(n))
	}
	if n, err := m.s.store.DBSize(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(m.dbBytes, prometheus.GaugeValue, float64(n))
	}
	if n, err := m.s.vault.OutboxLen(ctx, m.s.store.Count); err == nil {
		ch <- prometheus.MustNewConstMetric(m.outbox, prometheus.GaugeValue, float64(n))
	}
}
