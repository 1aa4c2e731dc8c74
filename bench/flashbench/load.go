package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// Failure kinds, each counted once per verification (or per stray call).
const (
	failNotSent      = iota // the harness had -concurrency creates in flight already
	failCreate              // create: transport error or not 201
	failNotCancelled        // created, but SIPp saw no CANCEL by the end of the drain
	failBadCancel           // the CANCEL's Via branch or CSeq differ from the INVITE's
	failWrongStatus         // check answered 200 without "verified" (or create not "pending")
	failCheck               // check: transport error or not 200
	failStray               // SIPp saw a call no verification of this run asked for
	numFails
)

var failNames = [numFails]string{"not sent", "create HTTP", "not cancelled", "bad CANCEL", "wrong status", "check HTTP", "stray call"}

// Numbers called: 200,000 valid UK mobile numbers (+447911000000 to
// +447911199999, all valid for libphonenumber), handed out in turn from a
// random start, so a run of fewer calls never calls one number twice and
// per-number limits never trigger.
const (
	numberBase  = 447911000000
	numberCount = 200000
)

// call is one verification the harness drives.
type call struct {
	step    *step
	number  string
	id      string
	sentAt  time.Time
	created bool
	rec     *sipptest.Record
	check   bool // a check is under way or done
	done    bool
}

// driver sends verifications to one server and matches them with the
// calls SIPp saw.
type driver struct {
	base        string
	client      *http.Client
	concurrency int
	createSem   chan struct{}
	checkSem    chan struct{}

	mu       sync.Mutex
	byNumber map[string][]*call // calls awaiting SIPp's record, FIFO per number
	next     int
	cur      *step // the step strays are counted against
}

func newDriver(base string, concurrency int) *driver {
	tr := &http.Transport{
		MaxIdleConns:        4 * concurrency,
		MaxIdleConnsPerHost: 4 * concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &driver{
		base:        base,
		client:      &http.Client{Transport: tr, Timeout: 30 * time.Second},
		concurrency: concurrency,
		createSem:   make(chan struct{}, concurrency),
		checkSem:    make(chan struct{}, concurrency),
		byNumber:    make(map[string][]*call),
		next:        rand.IntN(numberCount),
	}
}

// step is one stretch of load at one rate, and what came of it.
type step struct {
	rate     int
	duration time.Duration

	mu          sync.Mutex
	start, end  time.Time // scheduling window
	planned     int
	sent        int
	outstanding int
	allDone     chan struct{} // closed when outstanding drops to 0 after scheduling
	scheduled   bool
	calls       []*call

	createLat    []time.Duration // from send to 201
	schedLag     []time.Duration // how late each create was sent
	reaction     []time.Duration // SIPp: 180 sent → CANCEL read
	verified     int
	lastVerified time.Time
	fails        [numFails]int
	why          map[string]int // failure details: HTTP codes, errors
}

func newStep(rate int, d time.Duration) *step {
	return &step{rate: rate, duration: d, allDone: make(chan struct{}), why: map[string]int{}}
}

// resolve ends c, counting it as verified (kind < 0) or as a failure.
// It is called with s.mu held.
func (s *step) resolve(c *call, kind int, detail string) {
	if c.done {
		return
	}
	c.done = true
	if kind < 0 {
		s.verified++
		s.lastVerified = time.Now()
	} else {
		s.fails[kind]++
		if detail != "" && len(s.why) < 20 {
			s.why[failNames[kind]+": "+detail]++
		}
	}
	s.outstanding--
	if s.outstanding == 0 && s.scheduled {
		close(s.allDone)
	}
}

// run offers s.rate verifications a second for s.duration, open-loop:
// each create is sent at its scheduled time whatever the latency of the
// ones before, with at most concurrency creates in flight (beyond that a
// create is not sent and counted). It returns when scheduling ends;
// wait for the calls with drain.
func (d *driver) run(ctx context.Context, s *step) {
	n := int(float64(s.rate) * s.duration.Seconds())
	s.mu.Lock()
	s.planned = n
	s.outstanding = n
	s.start = time.Now()
	s.mu.Unlock()
	d.mu.Lock()
	d.cur = s
	d.mu.Unlock()

	start := s.start
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / float64(s.rate)))
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			s.mu.Lock()
			s.outstanding -= n - i
			s.planned = i
			s.mu.Unlock()
			break
		}
		lag := time.Since(due)
		c := &call{step: s, number: d.nextNumber()}
		s.mu.Lock()
		s.schedLag = append(s.schedLag, lag)
		s.calls = append(s.calls, c)
		s.mu.Unlock()
		select {
		case d.createSem <- struct{}{}:
		default:
			s.mu.Lock()
			s.resolve(c, failNotSent, "")
			s.mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-d.createSem }()
			d.create(ctx, c)
		}()
	}
	s.mu.Lock()
	s.end = time.Now()
	s.scheduled = true
	if s.outstanding == 0 {
		close(s.allDone)
	}
	s.mu.Unlock()
}

// drain waits until every call of s is resolved or the wait ends, then
// resolves the rest: no SIPp record means the call was not cancelled.
func (d *driver) drain(s *step, wait time.Duration) {
	select {
	case <-s.allDone:
	case <-time.After(wait):
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.done {
			continue
		}
		switch {
		case c.rec == nil:
			s.resolve(c, failNotCancelled, "")
			d.forget(c)
		case !c.created:
			s.resolve(c, failCreate, "no answer by end of drain")
		default:
			s.resolve(c, failCheck, "no answer by end of drain")
		}
	}
	s.calls = nil
}

func (d *driver) nextNumber() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := numberBase + d.next%numberCount
	d.next++
	return fmt.Sprintf("+%d", n)
}

// forget removes c from the calls awaiting a SIPp record. d.mu is held.
func (d *driver) forget(c *call) {
	q := d.byNumber[c.number]
	for i, x := range q {
		if x == c {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(d.byNumber, c.number)
	} else {
		d.byNumber[c.number] = q
	}
}

// create sends POST /v1/verifications for c. c awaits its SIPp record
// from before the request leaves, since SIPp may see the call before the
// answer arrives.
func (d *driver) create(ctx context.Context, c *call) {
	s := c.step
	d.mu.Lock()
	d.byNumber[c.number] = append(d.byNumber[c.number], c)
	d.mu.Unlock()

	body := `{"number":"` + c.number + `","method":"flashcall"}`
	c.sentAt = time.Now()
	var v struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	status, err := d.post(ctx, "/v1/verifications", body, &v)
	lat := time.Since(c.sentAt)

	d.mu.Lock()
	defer d.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || status != http.StatusCreated || v.ID == "" {
		if c.rec == nil {
			d.forget(c)
		}
		s.resolve(c, failCreate, httpDetail(status, err))
		return
	}
	s.createLat = append(s.createLat, lat)
	c.id, c.created = v.ID, true
	if v.Status != "pending" {
		s.resolve(c, failWrongStatus, "create answered status "+v.Status)
		return
	}
	if c.rec != nil && !c.check && !c.done {
		c.check = true
		go d.checkCode(ctx, c)
	}
}

// onRecord matches one call SIPp saw with the verification that asked for
// its number, and checks the code once both are known.
func (d *driver) onRecord(ctx context.Context, r sipptest.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.byNumber[r.To]
	if len(q) == 0 {
		if s := d.cur; s != nil {
			s.mu.Lock()
			s.fails[failStray]++
			s.mu.Unlock()
		}
		return
	}
	c := q[0]
	if len(q) == 1 {
		delete(d.byNumber, r.To)
	} else {
		d.byNumber[r.To] = q[1:]
	}
	s := c.step
	s.mu.Lock()
	defer s.mu.Unlock()
	c.rec = &r
	if rt := r.Reaction(); r.Cancelled && !r.ProvAt.IsZero() {
		s.reaction = append(s.reaction, rt)
	}
	switch {
	case c.done:
	case !r.Cancelled:
		s.resolve(c, failNotCancelled, "")
	case !r.BranchMatch || !r.CSeqMatch:
		s.resolve(c, failBadCancel, fmt.Sprintf("branch_match=%v cseq_match=%v", r.BranchMatch, r.CSeqMatch))
	case c.created && !c.check:
		c.check = true
		go d.checkCode(ctx, c)
	}
}

// checkCode sends the caller ID's last four digits as the code.
func (d *driver) checkCode(ctx context.Context, c *call) {
	d.checkSem <- struct{}{}
	defer func() { <-d.checkSem }()
	from := c.rec.From
	code := ""
	if len(from) >= 4 {
		code = from[len(from)-4:]
	}
	var res struct {
		Status string `json:"status"`
	}
	status, err := d.post(ctx, "/v1/verifications/"+c.id+"/check", `{"code":"`+code+`"}`, &res)
	s := c.step
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil || status != http.StatusOK:
		s.resolve(c, failCheck, httpDetail(status, err))
	case res.Status != "verified":
		s.resolve(c, failWrongStatus, "check answered status "+res.Status)
	default:
		s.resolve(c, -1, "")
	}
}

// follow feeds SIPp's call records to onRecord until ctx ends, and
// returns how many lines could not be parsed.
func (d *driver) follow(ctx context.Context, path string) (badLines int) {
	t := &tailer{path: path}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		recs, bad, _ := t.records()
		badLines += bad
		for _, r := range recs {
			d.onRecord(ctx, r)
		}
		select {
		case <-ctx.Done():
			return badLines
		case <-tick.C:
		}
	}
}

// post sends an authenticated JSON POST and decodes a 2xx answer into out.
func (d *driver) post(ctx context.Context, path, body string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", d.base+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		return res.StatusCode, fmt.Errorf("%d %s", res.StatusCode, e.Error.Code)
	}
	return res.StatusCode, json.NewDecoder(bytes.NewReader(data)).Decode(out)
}

// httpDetail names a failed request briefly, for the failure breakdown.
func httpDetail(status int, err error) string {
	if err == nil {
		return fmt.Sprintf("%d", status)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && status == 0 {
		msg = msg[i+2:] // "Post ...: dial tcp ...: connection refused" → "connection refused"
	}
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return msg
}
