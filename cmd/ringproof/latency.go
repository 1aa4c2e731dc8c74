package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringproof/ringproof/api"
)

// latencyBuckets span a loopback etcd commit (a few hundred µs) to a
// request about to time out (seconds), in seconds.
var latencyBuckets = []float64{.00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// latency holds a node's latency histograms: the HTTP requests it serves
// and the requests it makes to etcd. Both are exported on GET /metrics.
type latency struct {
	http    *prometheus.HistogramVec
	store   *prometheus.HistogramVec
	history *prometheus.HistogramVec
}

func newLatency() *latency {
	l := &latency{
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ringproof_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route (the pattern that served it) and status code. Event streams are not counted.",
			Buckets: latencyBuckets,
		}, []string{"route", "code"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ringproof_store_request_duration_seconds",
			Help:    "Time etcd took to answer a request of this node, by operation (get, put, delete, txn, compact, lease_grant) and result (ok, error).",
			Buckets: latencyBuckets,
		}, []string{"op", "result"}),
		history: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ringproof_history_write_duration_seconds",
			Help:    "Time the history store took to write one batch of history entries, by result (ok, error).",
			Buckets: latencyBuckets,
		}, []string{"result"}),
	}
	for _, op := range storeOps {
		l.store.WithLabelValues(op, "ok")
		l.store.WithLabelValues(op, "error")
	}
	l.history.WithLabelValues("ok")
	l.history.WithLabelValues("error")
	for _, r := range apiRoutes {
		l.http.WithLabelValues(r.route, r.code)
	}
	return l
}

// The series the histograms have from the start, empty, so that
// dashboards and alerts see them before the first request: every store
// operation by result, and the API's main routes by their success code.
var (
	storeOps  = []string{"get", "put", "delete", "txn", "compact", "lease_grant"}
	apiRoutes = []struct{ route, code string }{
		{"POST /v1/verifications", "201"},
		{"POST /v1/verifications/{id}/check", "200"},
		{"GET /v1/verifications/{id}", "200"},
	}
)

// collectors returns the histograms, for registration.
func (l *latency) collectors() []prometheus.Collector {
	return []prometheus.Collector{l.http, l.store, l.history}
}

// ObserveRequest implements store.Observer.
func (l *latency) ObserveRequest(op string, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	l.store.WithLabelValues(op, result).Observe(took.Seconds())
}

// observeHistory is told of each batch the history writer writes.
func (l *latency) observeHistory(took time.Duration, _ int, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	l.history.WithLabelValues(result).Observe(took.Seconds())
}

// timeHTTP wraps h, observing each request's duration once it is served.
// The route label is the pattern of the innermost ServeMux that served the
// request (muxes set it on the request they are given), so it has one
// value per registered pattern and never holds an id or a number.
func (l *latency) timeHTTP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &api.StatusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.Streamed() {
			return // an event stream lasts as long as its client wants
		}
		route := r.Pattern
		if route == "" {
			route = "none"
		}
		l.http.WithLabelValues(route, strconv.Itoa(sw.Status())).Observe(time.Since(start).Seconds())
	})
}
