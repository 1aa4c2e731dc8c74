package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringproof/ringproof/dialer"
)

// trunkLatencyBuckets span a carrier on the same LAN (a millisecond) to
// one about to be given up on (seconds), in seconds.
var trunkLatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// trunkMetrics exports the dialer's trunks: whether each is up, the calls
// and texts sent over it and moved on from it, the calls no trunk of a
// route could take, and how long each trunk takes to answer an INVITE
// with its first provisional response.
type trunkMetrics struct {
	d       *dialer.Dialer
	latency *prometheus.HistogramVec

	up, attempts, failovers, noRoute *prometheus.Desc
}

func newTrunkMetrics() *trunkMetrics {
	return &trunkMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ringproof_trunk_latency_seconds",
			Help:    "Time from an INVITE sent over the trunk to its first provisional response (100 Trying included).",
			Buckets: trunkLatencyBuckets,
		}, []string{"trunk"}),
		up:        prometheus.NewDesc("ringproof_trunk_up", "1 when the trunk takes calls, 0 when it is down (3 OPTIONS pings missed) or not registered.", []string{"trunk"}, nil),
		attempts:  prometheus.NewDesc("ringproof_trunk_attempts_total", "Calls and texts sent over the trunk (each attempt of a call that moves on counts on its own trunk).", []string{"trunk"}, nil),
		failovers: prometheus.NewDesc("ringproof_trunk_failovers_total", "Calls and texts that failed on the trunk before ringing, as its failover_on names, and moved on to the route's next trunk.", []string{"trunk"}, nil),
		noRoute:   prometheus.NewDesc("ringproof_no_route_total", "Calls and texts that no trunk of their route could take (all down, unregistered or over max_cps), by route (its prefix, or default).", []string{"route"}, nil),
	}
}

// ObserveTrunkLatency implements dialer.Observer.
func (m *trunkMetrics) ObserveTrunkLatency(trunk string, took time.Duration) {
	m.latency.WithLabelValues(trunk).Observe(took.Seconds())
}

// watch starts exporting d's trunks; every trunk's latency histogram
// exists from then on, empty until its first call.
func (m *trunkMetrics) watch(d *dialer.Dialer) {
	m.d = d
	d.Observe(m)
	for _, t := range d.Stats().Trunks {
		m.latency.WithLabelValues(t.Name)
	}
}

// Describe implements prometheus.Collector.
func (m *trunkMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.up, m.attempts, m.failovers, m.noRoute} {
		ch <- d
	}
	m.latency.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *trunkMetrics) Collect(ch chan<- prometheus.Metric) {
	m.latency.Collect(ch)
	if m.d == nil {
		return
	}
	st := m.d.Stats()
	for _, t := range st.Trunks {
		up := 0.0
		if t.State == dialer.TrunkUp {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(m.up, prometheus.GaugeValue, up, t.Name)
		ch <- prometheus.MustNewConstMetric(m.attempts, prometheus.CounterValue, float64(t.Attempts), t.Name)
		ch <- prometheus.MustNewConstMetric(m.failovers, prometheus.CounterValue, float64(t.Failovers), t.Name)
	}
	for route, n := range st.NoRoute {
		ch <- prometheus.MustNewConstMetric(m.noRoute, prometheus.CounterValue, float64(n), route)
	}
}
