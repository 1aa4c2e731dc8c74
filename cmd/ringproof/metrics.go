package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics exposes a node's counters in Prometheus' format on GET /metrics.
// They hold no personal data: counts by method, outcome and event only.
type metrics struct {
	s *server

	created, checks, calls, texts, inbound   *prometheus.Desc
	forbidden, malformed, nodes, fastCancels *prometheus.Desc
}

func newMetrics(s *server) *metrics {
	return &metrics{
		s:         s,
		created:   prometheus.NewDesc("ringproof_verifications_created_total", "Verifications created on this node, by method.", []string{"method"}, nil),
		checks:    prometheus.NewDesc("ringproof_checks_total", "Codes checked on this node, by outcome (verified, wrong, locked_out, final).", []string{"outcome"}, nil),
		calls:     prometheus.NewDesc("ringproof_flash_calls_ended_total", "Flash calls placed by this node, by final event (cancelled, failed, timeout, hungup).", []string{"event"}, nil),
		texts:     prometheus.NewDesc("ringproof_texts_ended_total", "Texts (sms method) sent by this node, by final event (sent, failed, timeout).", []string{"event"}, nil),
		malformed: prometheus.NewDesc("ringproof_sip_malformed_total", "SIP requests refused with 400 for a missing or wrong mandatory header.", nil, nil),
		inbound:   prometheus.NewDesc("ringproof_inbound_calls_total", "Inbound calls handled, by outcome (verified, answered, unknown_caller, anonymous, ...).", []string{"outcome"}, nil),
		forbidden: prometheus.NewDesc("ringproof_sip_inbound_forbidden_total", "INVITEs refused with 403: their source is in no trunk's inbound_cidrs.", nil, nil),
		nodes:     prometheus.NewDesc("ringproof_cluster_nodes", "Live nodes in the cluster, as this node sees it.", nil, nil),
		fastCancels: prometheus.NewDesc("ringproof_sip_fast_cancels_total",
			"Flash-call CANCELs sent over UDP from the socket's read path, the moment the 180 or 183 was read (the rest leave from the call's goroutine).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.created, m.checks, m.calls, m.texts, m.inbound, m.forbidden, m.malformed, m.nodes, m.fastCancels} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	st := m.s.svc.Stats()
	for _, c := range []struct {
		desc *prometheus.Desc
		vals map[string]uint64
	}{{m.created, st.Created}, {m.checks, st.Checks}, {m.calls, st.Calls}, {m.inbound, st.Inbound}, {m.texts, st.Texts}} {
		for label, n := range c.vals {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), label)
		}
	}
	in := m.s.sip.InboundStats()
	ch <- prometheus.MustNewConstMetric(m.forbidden, prometheus.CounterValue, float64(in.Forbidden))
	ch <- prometheus.MustNewConstMetric(m.malformed, prometheus.CounterValue, float64(in.Malformed))
	ch <- prometheus.MustNewConstMetric(m.nodes, prometheus.GaugeValue, float64(len(m.s.nodes.Nodes())))
	ch <- prometheus.MustNewConstMetric(m.fastCancels, prometheus.CounterValue, float64(m.s.sip.FastCancels()))
}

// metricsHandler serves this node's metrics (counters, and the latency
// histograms of latency.go) and the Go runtime's.
func (s *server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newMetrics(s), newStoreMetrics(s), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(s.lat.collectors()...)
	reg.MustRegister(s.trunk)
	reg.MustRegister(newFraudMetrics(s.guard), newSTIRMetrics(s))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
