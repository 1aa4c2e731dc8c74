package verify

import (
	"context"
	"errors"
	"time"

	"github.com/ringproof/ringproof/store"
)

// eventWriter records a call's events in the store, in order, off the call's
// own goroutine: the call's loop never waits for etcd (the CANCEL after a 180
// must not queue behind the write of "dialing"). Events that come in a burst
// (within eventLinger of each other), or while a write is in flight, go into
// one write together. Each write starts from the record as the previous one
// left it, so it costs no read.
type eventWriter struct {
	s    *Service
	id   string
	ch   chan CallEvent
	done chan struct{}
	cur  []byte // the record as last written, at store revision rev
	rev  int64
}

// eventQueue is more than the events a flash call ever has.
const eventQueue = 32

// eventLinger is how long a call's event waits for the next one before it
// is written alone: short enough that a watcher sees no delay, long enough
// to gather the events of one round trip (ringing, then cancelled).
const eventLinger = 20 * time.Millisecond

// eventPatience is how long a write of call events may wait to go in one
// store transaction with other writes (store.Patient): under load, in that
// of the next create or check, or with other calls' events; a watcher sees
// the events at most this much later.
const eventPatience = 10 * time.Millisecond

// newEventWriter starts the writer of rec's call events.
func (s *Service) newEventWriter(rec *record) *eventWriter {
	w := &eventWriter{s: s, id: rec.ID, ch: make(chan CallEvent, eventQueue), done: make(chan struct{}),
		cur: rec.stored, rev: rec.rev}
	go w.run()
	return w
}

// report queues ev; it blocks only if the store is far behind.
func (w *eventWriter) report(ev CallEvent) { w.ch <- ev }

// close writes what is queued and returns once it is stored.
func (w *eventWriter) close() {
	close(w.ch)
	<-w.done
}

func (w *eventWriter) run() {
	defer close(w.done)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for ev := range w.ch {
		batch := []CallEvent{ev}
		// A call's events often come in a burst (the 180 and the 487 after
		// the CANCEL are a round trip apart): after an event that is not
		// final, wait up to eventLinger for the next ones, so that the
		// burst is one store write. A final event is written at once.
		if !ev.Kind.Final() {
			linger.Reset(eventLinger)
		wait:
			for !batch[len(batch)-1].Kind.Final() {
				select {
				case next, ok := <-w.ch:
					if !ok {
						break wait
					}
					batch = append(batch, next)
				case <-linger.C:
					break wait
				}
			}
			linger.Stop()
		}
	drain:
		for {
			select {
			case next, ok := <-w.ch:
				if !ok {
					break drain
				}
				batch = append(batch, next)
			default:
				break drain
			}
		}
		w.write(batch)
	}
}

func (w *eventWriter) write(batch []CallEvent) {
	if r := w.s.recordEventsFrom(w.id, w.cur, w.rev, batch); r != nil {
		w.cur, w.rev = r.stored, r.rev
	}
}

// recordEvents stores a call's events on its verification.
func (s *Service) recordEvents(id string, batch []CallEvent) { s.recordEventsFrom(id, nil, 0, batch) }

// recordEventsFrom stores a call's events on its verification, starting
// from the record cur at revision rev if the caller has it (0: read it),
// and returns the record written, or nil if it could not be. The events
// are the call's only record, so a store that is briefly unavailable (a
// leader election) is retried for up to a minute; an attempt that timed
// out may have been applied after all, so events already recorded are
// skipped.
func (s *Service) recordEventsFrom(id string, cur []byte, rev int64, batch []CallEvent) *record {
	deadline := time.Now().Add(time.Minute)
	retry := time.NewTicker(200 * time.Millisecond)
	defer retry.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 5*time.Second)
		ctx = store.Patient(ctx, eventPatience)
		r, err := s.updateFrom(ctx, id, cur, rev, func(r *record) error {
			for _, ev := range batch {
				if !r.hasEvent(ev) {
					r.applyCallEvent(ev)
					r.noteChange(ev.At)
				}
			}
			return nil
		})
		cancel()
		if err == nil {
			return r
		}
		if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			s.log.Warn("cannot record call events", "id", id, "events", len(batch), "err", err)
			return nil
		}
		<-retry.C
	}
}

// hasEvent reports whether r already holds ev (same type, same time).
func (r *record) hasEvent(ev CallEvent) bool {
	for _, e := range r.Events {
		if e.Type == string(ev.Kind) && e.At.Equal(ev.At) {
			return true
		}
	}
	return false
}
