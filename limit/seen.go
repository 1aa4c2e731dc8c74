package limit

import (
	"sync"
	"time"
)

// seenMax bounds how many subjects' states a Limiter remembers.
const seenMax = 8192

// seen remembers the state this node last read or wrote for each subject,
// and when, so that a take can guess the state instead of reading it (the
// compare-and-swap checks the guess). It is bounded: when full, an eighth
// of its entries, picked at random, are forgotten, which costs only a
// wrong guess (one more transaction) for a subject seen again.
type seen struct {
	max int
	mu  sync.Mutex
	m   map[string]seenState
}

type seenState struct {
	val []byte // nil: absent
	at  time.Time
}

func newSeen(max int) *seen { return &seen{max: max, m: make(map[string]seenState)} }

// get returns subject's last seen state (nil when absent or unknown) and
// when it was learned (the zero time when unknown).
func (s *seen) get(subject string) ([]byte, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[subject]
	return e.val, e.at
}

// put records subject's state val (nil: absent) as learned at at.
func (s *seen) put(subject string, val []byte, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[subject]; !ok && len(s.m) >= s.max {
		drop := max(s.max/8, 1)
		for k := range s.m { // map order is random enough
			delete(s.m, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	s.m[subject] = seenState{val: val, at: at}
}

// len returns how many subjects are remembered.
func (s *seen) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
