package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ringproof/ringproof/api"
)

// method is one way of verifying a number. Each lives in its own file.
type method interface {
	// prepare completes a new record before it is stored (makes up its
	// code, checks the method can run); it writes nothing.
	prepare(ctx context.Context, s *Service, r *record) error
	// start begins the method's work once the record is stored (places a
	// call); it must not block.
	start(s *Service, r *record) error
	// code is the code the user must give back, "" if the method has none.
	code(r *record) string
}

// reservation is something a new record holds for a while, and no other
// record of its number may hold meanwhile (a caller ID, a dial number):
// the store key val is written under, for ttl, in the record's
// transaction, only if the key is absent unless force is set.
type reservation struct {
	key   string
	val   []byte
	ttl   time.Duration
	force bool
}

// reserver is a method whose records reserve something.
type reserver interface {
	// reservations returns the reservations to try in turn for r, until
	// one is free. Each call of next sets r's field for the reservation it
	// returns (CallerID, DialNumber), or fails once nothing is left to try.
	reservations(s *Service, r *record) (next func() (reservation, error))
}

// methods lists every method by name.
var methods = map[Method]method{
	MethodFlashCall:     flashCall{},
	MethodInboundMissed: inboundMissed{},
	MethodVoice:         voice{},
	MethodKeypadOut:     keypadOut{},
	MethodInboundVoice:  inboundVoice{},
	MethodKeypadIn:      keypadIn{},
	MethodSMS:           sms{},
}

// lookupMethod returns the named method, or an InputError naming "method".
func lookupMethod(name string) (method, error) {
	if name == "" {
		return nil, &api.InputError{Field: "method", Code: "missing", Message: "method is required (" + methodNames() + ")"}
	}
	m, ok := methods[Method(name)]
	if !ok {
		return nil, &api.InputError{Field: "method", Code: "unsupported",
			Message: fmt.Sprintf("method %q is not supported; supported: %s", name, methodNames())}
	}
	return m, nil
}

func methodNames() string {
	var names []string
	for m := range methods {
		names = append(names, string(m))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
