package main

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ringproof/ringproof/masking"
	"github.com/ringproof/ringproof/verify"
)

// Label values every counter has from the start, at zero, so that rate()
// and alerts work before the first event. A value not listed here still
// appears once it happens.
var (
	checkOutcomes   = []string{"verified", "wrong", "locked_out", "final"}
	flashEnds       = []string{"cancelled", "failed", "timeout", "hungup"}
	textEnds        = []string{"sent", "failed", "timeout"}
	inboundOutcomes = []string{"verified", "answered", "unknown_caller", "anonymous", "not_a_dial_number", "invalid_caller_id", "error"}
	answeredMethods = verify.AnsweredMethods()
	answeredEnds    = []string{"failed", "timeout", "cancelled", "remote_bye", "local", "no_media", "max_duration"}
)

// metrics exposes a node's counters in Prometheus' format on GET /metrics.
// They hold no personal data: counts by method, outcome and event only.
type metrics struct {
	s *server

	created, checks, calls, texts, inbound, answered *prometheus.Desc
	maskSessions, maskCalls, maskTexts               *prometheus.Desc
	forbidden, malformed, nodes, fastCancels, build  *prometheus.Desc
	serviceCreated, serviceChecks                    *prometheus.Desc
}

func newMetrics(s *server) *metrics {
	return &metrics{
		s:         s,
		created:   prometheus.NewDesc("ringproof_verifications_created_total", "Verifications created on this node, by method.", []string{"method"}, nil),
		checks:    prometheus.NewDesc("ringproof_checks_total", "Codes checked on this node, by outcome (verified, wrong, locked_out, final).", []string{"outcome"}, nil),
		calls:     prometheus.NewDesc("ringproof_flash_calls_ended_total", "Flash calls placed by this node, by final event (cancelled, failed, timeout, hungup).", []string{"event"}, nil),
		texts:     prometheus.NewDesc("ringproof_texts_ended_total", "Texts (sms method) sent by this node, by final event (sent, failed, timeout).", []string{"event"}, nil),
		malformed: prometheus.NewDesc("ringproof_sip_malformed_total", "SIP requests refused with 400 for a missing or wrong mandatory header.", nil, nil),
		inbound:   prometheus.NewDesc("ringproof_inbound_calls_total", "Inbound calls to system numbers handled, by outcome (verified, answered, unknown_caller, anonymous, not_a_dial_number, invalid_caller_id, error).", []string{"outcome"}, nil),
		answered: prometheus.NewDesc("ringproof_answered_calls_ended_total",
			"Voice and keypad calls, placed (voice, keypad_out) and taken (inbound_voice, keypad_in), by method and how they ended: the final event of a call never answered (failed, timeout, cancelled), or why an answered one ended (remote_bye, local, no_media, max_duration).",
			[]string{"method", "end"}, nil),
		maskSessions: prometheus.NewDesc("ringproof_masking_sessions_created_total", "Number-masking sessions created on this node.", nil, nil),
		maskCalls: prometheus.NewDesc("ringproof_masked_calls_total",
			"Calls to masking proxy numbers, by outcome (bridged, not_answered, unknown_caller, no_caller_id, invalid_caller_id, peer_erased, error).", []string{"outcome"}, nil),
		maskTexts: prometheus.NewDesc("ringproof_masked_texts_total",
			"Texts to masking proxy numbers, by outcome (sent, refused by the other carrier, or why they could not be passed on: unknown_caller, no_caller_id, invalid_caller_id, peer_erased, error).", []string{"outcome"}, nil),
		forbidden: prometheus.NewDesc("ringproof_sip_inbound_forbidden_total", "INVITEs refused with 403: their source is in no trunk's inbound_cidrs.", nil, nil),
		nodes:     prometheus.NewDesc("ringproof_cluster_nodes", "Live nodes in the cluster, as this node sees it.", nil, nil),
		fastCancels: prometheus.NewDesc("ringproof_sip_fast_cancels_total",
			"Flash-call CANCELs sent over UDP from the socket's read path, the moment the 180 or 183 was read (the rest leave from the call's goroutine).", nil, nil),
		serviceCreated: prometheus.NewDesc("ringproof_service_verifications_created_total",
			"Verifications created on this node, by service (the configured ones and default) and method.", []string{"service", "method"}, nil),
		serviceChecks: prometheus.NewDesc("ringproof_service_checks_total",
			"Codes checked on this node, by service (the configured ones and default) and outcome (verified, wrong, locked_out, final).", []string{"service", "outcome"}, nil),
		build: prometheus.NewDesc("ringproof_build_info", "Always 1; its labels say which ringproof this node runs: module version, VCS commit (empty if unknown), Go version.",
			[]string{"version", "commit", "go"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.created, m.checks, m.calls, m.texts, m.inbound, m.answered,
		m.maskSessions, m.maskCalls, m.maskTexts, m.forbidden, m.malformed, m.nodes, m.fastCancels, m.build,
		m.serviceCreated, m.serviceChecks} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	st := m.s.svc.Stats()
	ms := m.s.mask.Stats()
	for _, c := range []struct {
		desc  *prometheus.Desc
		known []string
		vals  map[string]uint64
	}{
		{m.created, verify.Methods(), st.Created},
		{m.checks, checkOutcomes, st.Checks},
		{m.calls, flashEnds, st.Calls},
		{m.inbound, inboundOutcomes, st.Inbound},
		{m.texts, textEnds, st.Texts},
		{m.maskCalls, masking.CallOutcomes, ms.Calls},
		{m.maskTexts, masking.TextOutcomes, ms.Texts},
	} {
		for label, n := range withZeros(c.vals, c.known) {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), label)
		}
	}
	var known []string
	for _, method := range answeredMethods {
		for _, end := range answeredEnds {
			known = append(known, method+" "+end)
		}
	}
	for key, n := range withZeros(st.Answered, known) {
		method, end, _ := strings.Cut(key, " ")
		ch <- prometheus.MustNewConstMetric(m.answered, prometheus.CounterValue, float64(n), method, end)
	}
	for _, c := range []struct {
		desc   *prometheus.Desc
		second []string
		vals   map[string]uint64
	}{
		{m.serviceCreated, verify.Methods(), st.ServiceCreated},
		{m.serviceChecks, checkOutcomes, st.ServiceChecks},
	} {
		var known []string
		for _, service := range m.s.svc.ServiceNames() {
			for _, v := range c.second {
				known = append(known, service+" "+v)
			}
		}
		for key, n := range withZeros(c.vals, known) {
			service, v, _ := strings.Cut(key, " ")
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), service, v)
		}
	}
	ch <- prometheus.MustNewConstMetric(m.maskSessions, prometheus.CounterValue, float64(ms.Sessions))
	in := m.s.sip.InboundStats()
	ch <- prometheus.MustNewConstMetric(m.forbidden, prometheus.CounterValue, float64(in.Forbidden))
	ch <- prometheus.MustNewConstMetric(m.malformed, prometheus.CounterValue, float64(in.Malformed))
	ch <- prometheus.MustNewConstMetric(m.nodes, prometheus.GaugeValue, float64(len(m.s.nodes.Nodes())))
	ch <- prometheus.MustNewConstMetric(m.fastCancels, prometheus.CounterValue, float64(m.s.sip.FastCancels()))
	b := readBuild()
	ch <- prometheus.MustNewConstMetric(m.build, prometheus.GaugeValue, 1, b.Version, b.Commit, b.Go)
}

// withZeros returns counts with every label of known present, at zero if
// it has not happened.
func withZeros(counts map[string]uint64, known []string) map[string]uint64 {
	out := make(map[string]uint64, len(counts)+len(known))
	for _, k := range known {
		out[k] = 0
	}
	for k, n := range counts {
		out[k] = n
	}
	return out
}

// metricsHandler serves this node's metrics (counters, and the latency
// histograms of latency.go) and the Go runtime's.
func (s *server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newMetrics(s), newStoreMetrics(s), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(s.lat.collectors()...)
	reg.MustRegister(s.trunk)
	reg.MustRegister(newFraudMetrics(s.guard), newSTIRMetrics(s))
	reg.MustRegister(newPrivacyMetrics(&s.holdings))
	reg.MustRegister(newWebhookMetrics(s.webhooks))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
