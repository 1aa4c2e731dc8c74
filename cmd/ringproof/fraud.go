package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/fraud"
)

// Fraud and abuse protection (package fraud): the guard every create and
// check passes, its admin API and its metrics.

// startGuard makes the node's guard and runs it until bg ends; s.guardDone
// closes once it has stopped.
func (s *server) startGuard(bg context.Context, cfg *conf.Config, nodeID string, log *slog.Logger) {
	index := s.vault.Index()
	serviceLimits := map[string]conf.Limits{}
	for _, svc := range cfg.Services {
		if svc.Limits != (conf.Limits{}) {
			serviceLimits[svc.Name] = svc.Limits
		}
	}
	s.guard = fraud.New(s.store, fraud.Config{
		Fraud: cfg.Fraud, Limits: cfg.Limits, Node: nodeID, Index: index.Of,
		Services: serviceLimits,
	}, log)
	s.clients = fraud.NewClients(cfg.TrustedProxies())
	s.guardDone = make(chan struct{})
	go func() {
		defer close(s.guardDone)
		s.guard.Run(bg)
	}()
}

// fraudAPI is /v1/fraud/, for holders of an admin key.
func (s *server) fraudAPI(cfg *conf.Config) http.Handler {
	return api.RequireKey(cfg.HTTP.AdminTokens(), fraud.NewHandler(s.guard, s.log))
}

// fraudMetrics exposes the guard's counters.
type fraudMetrics struct {
	g                              *fraud.Guard
	refusals, suspended, decisions *prometheus.Desc
}

func newFraudMetrics(g *fraud.Guard) *fraudMetrics {
	return &fraudMetrics{
		g: g,
		refusals: prometheus.NewDesc("ringproof_fraud_refusals_total",
			"Requests refused to protect the owner, by reason (country, number_type, per_key, per_ip, global, checks_per_ip, prefix_suspended) and the destination's country (empty when there is none, as for checks).",
			[]string{"reason", "country"}, nil),
		suspended: prometheus.NewDesc("ringproof_fraud_suspended_prefixes",
			"Number prefixes the pumping guard holds suspended now, across the cluster.", nil, nil),
		decisions: prometheus.NewDesc("ringproof_fraud_pumping_decisions_total",
			"The pumping guard's decisions on creates: not_judged (fewer than min_attempts in the window), passed, suspended (this create suspended its prefix), refused (its prefix was suspended), safe (fraud.safe_numbers), off.",
			[]string{"decision"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *fraudMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.refusals
	ch <- m.suspended
	ch <- m.decisions
}

// Collect implements prometheus.Collector. Every reason and decision is
// there from the start, at zero.
func (m *fraudMetrics) Collect(ch chan<- prometheus.Metric) {
	st := m.g.Stats()
	for _, reason := range []string{fraud.ReasonCountry, fraud.ReasonNumberType, fraud.ReasonPerKey, fraud.ReasonPerIP,
		fraud.ReasonGlobal, fraud.ReasonChecksPerIP, fraud.ReasonSuspended} {
		if _, ok := st.Refusals[[2]string{reason, ""}]; !ok {
			st.Refusals[[2]string{reason, ""}] = 0
		}
	}
	for k, n := range st.Refusals {
		ch <- prometheus.MustNewConstMetric(m.refusals, prometheus.CounterValue, float64(n), k[0], k[1])
	}
	for _, d := range []string{fraud.DecisionOff, fraud.DecisionSafe, fraud.DecisionNotJudged, fraud.DecisionPassed,
		fraud.DecisionSuspended, fraud.DecisionRefused} {
		ch <- prometheus.MustNewConstMetric(m.decisions, prometheus.CounterValue, float64(st.Decisions[d]), d)
	}
	ch <- prometheus.MustNewConstMetric(m.suspended, prometheus.GaugeValue, float64(st.Suspended))
}

// stirMetrics counts inbound calls by their STIR/SHAKEN results.
type stirMetrics struct {
	s                    *server
	verstat, attestation *prometheus.Desc
}

func newSTIRMetrics(s *server) *stirMetrics {
	return &stirMetrics{
		s: s,
		verstat: prometheus.NewDesc("ringproof_inbound_verstat_total",
			"Inbound calls by the carrier's STIR/SHAKEN verification of their caller ID (verstat): passed, failed, no_validation, other, none.",
			[]string{"verstat"}, nil),
		attestation: prometheus.NewDesc("ringproof_inbound_attestation_total",
			"Inbound calls by STIR/SHAKEN attestation level (P-Attestation-Indicator or the Identity header): A, B, C, none.",
			[]string{"attestation"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *stirMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.verstat
	ch <- m.attestation
}

// Collect implements prometheus.Collector.
func (m *stirMetrics) Collect(ch chan<- prometheus.Metric) {
	in := m.s.sip.InboundStats()
	for v, n := range in.Verstat {
		ch <- prometheus.MustNewConstMetric(m.verstat, prometheus.CounterValue, float64(n), v)
	}
	for a, n := range in.Attestation {
		ch <- prometheus.MustNewConstMetric(m.attestation, prometheus.CounterValue, float64(n), a)
	}
}
