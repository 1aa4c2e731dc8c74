package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// hist is a Prometheus histogram's cumulative buckets, read from a
// server's /metrics: counts[i] observations were at most les[i] seconds.
type hist struct {
	les    []float64
	counts []float64
}

// Server-side histograms flashbench reads from ringproof's /metrics, and
// from the embedded etcd's. The label sets are as client_golang prints
// them (sorted by name), up to le.
const (
	histCreate     = `ringproof_http_request_duration_seconds_bucket{code="201",route="POST /v1/verifications",le="`
	histStoreTxn   = `ringproof_store_request_duration_seconds_bucket{op="txn",result="ok",le="`
	histLeaseGrant = `ringproof_store_request_duration_seconds_bucket{op="lease_grant",result="ok",le="`

	histWALFsync      = `etcd_disk_wal_fsync_duration_seconds_bucket{le="`
	histBackendCommit = `etcd_disk_backend_commit_duration_seconds_bucket{le="`
)

// scrapeHists reads the histograms whose bucket lines start with the given
// prefixes from the metrics at url; a histogram not found is empty.
func scrapeHists(ctx context.Context, client *http.Client, url string, prefixes ...string) ([]hist, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := make([]hist, len(prefixes))
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for i, p := range prefixes {
			rest, ok := strings.CutPrefix(line, p)
			if !ok {
				continue
			}
			le, val, ok := strings.Cut(rest, `"} `)
			if !ok {
				continue
			}
			l, err1 := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
			v, err2 := strconv.ParseFloat(val, 64)
			if err1 == nil && err2 == nil {
				out[i].les = append(out[i].les, l)
				out[i].counts = append(out[i].counts, v)
			}
		}
	}
	for i := range out {
		sort.Sort(byLe(out[i]))
	}
	return out, sc.Err()
}

type byLe hist

func (h byLe) Len() int           { return len(h.les) }
func (h byLe) Less(i, j int) bool { return h.les[i] < h.les[j] }
func (h byLe) Swap(i, j int) {
	h.les[i], h.les[j] = h.les[j], h.les[i]
	h.counts[i], h.counts[j] = h.counts[j], h.counts[i]
}

// minus returns h's observations since before (same buckets), or h when
// before is empty.
func (h hist) minus(before hist) hist {
	if len(before.les) != len(h.les) {
		return h
	}
	d := hist{les: h.les, counts: make([]float64, len(h.counts))}
	for i := range h.counts {
		d.counts[i] = h.counts[i] - before.counts[i]
	}
	return d
}

func (h hist) total() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// within returns the share of observations at most le seconds (le must be
// a bucket bound), or NaN.
func (h hist) within(le float64) float64 {
	for i, l := range h.les {
		if l == le && h.total() > 0 {
			return h.counts[i] / h.total()
		}
	}
	return math.NaN()
}

// quantileBound returns the upper bound of the bucket holding quantile q.
func (h hist) quantileBound(q float64) float64 {
	n := h.total()
	for i, c := range h.counts {
		if n > 0 && c >= q*n {
			return h.les[i]
		}
	}
	return math.NaN()
}

// String summarizes h: how many, its p50 and p99 as bucket bounds, and the
// share within 1, 2, 4 and 5 ms, those of them that are bucket bounds
// (ringproof's histograms have 1 and 5 ms, etcd's 1, 2 and 4 ms).
func (h hist) String() string {
	if h.total() == 0 {
		return "none observed"
	}
	out := fmt.Sprintf("n=%.0f  p50 ≤ %s  p99 ≤ %s", h.total(), secs(h.quantileBound(.5)), secs(h.quantileBound(.99)))
	for _, ms := range []float64{1, 2, 4, 5} {
		if w := h.within(ms / 1000); !math.IsNaN(w) {
			out += fmt.Sprintf("  within %g ms %.2f%%", ms, 100*w)
		}
	}
	return out
}

func secs(s float64) string {
	if math.IsInf(s, 1) || math.IsNaN(s) {
		return "∞"
	}
	if s < .001 {
		return fmt.Sprintf("%.0f µs", s*1e6)
	}
	return fmt.Sprintf("%g ms", s*1e3)
}
