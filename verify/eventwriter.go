package verify

import (
	"context"
	"time"

	"github.com/ringproof/ringproof/sip"
)

// eventWriter records a call's events in the store, in order, off the call's
// own goroutine: the SIP loop never waits for etcd (the CANCEL after a 180
// must not queue behind the write of "dialing"). Events that arrive while a
// write is in flight go into the next write together.
type eventWriter struct {
	s    *Service
	id   string
	ch   chan sip.Event
	done chan struct{}
}

// eventQueue is more than the events a flash call ever has.
const eventQueue = 32

func (s *Service) newEventWriter(id string) *eventWriter {
	w := &eventWriter{s: s, id: id, ch: make(chan sip.Event, eventQueue), done: make(chan struct{})}
	go w.run()
	return w
}

// report queues ev; it blocks only if the store is far behind.
func (w *eventWriter) report(ev sip.Event) { w.ch <- ev }

// close writes what is queued and returns once it is stored.
func (w *eventWriter) close() {
	close(w.ch)
	<-w.done
}

func (w *eventWriter) run() {
	defer close(w.done)
	for ev := range w.ch {
		batch := []sip.Event{ev}
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

func (w *eventWriter) write(batch []sip.Event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.s.ctx), 5*time.Second)
	defer cancel()
	_, err := w.s.update(ctx, w.id, func(r *record) error {
		for _, ev := range batch {
			r.applyCallEvent(ev)
		}
		return nil
	})
	if err != nil {
		w.s.log.Warn("cannot record call events", "id", w.id, "events", len(batch), "err", err)
	}
}
