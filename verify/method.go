package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ringproof/ringproof/api"
)

// method is one way of verifying a number. Each lives in its own file and
// has one line in methods; whatever the rest of verify treats differently
// from one method to another, it asks the method (traits, and the
// optional leaser and talker), never its name.
type method interface {
	// traits says how the rest of verify treats the method's
	// verifications. It is a constant.
	traits() traits
	// prepare completes a new record before it is stored (makes up its
	// code, checks the method can run); it writes nothing.
	prepare(ctx context.Context, s *Service, r *record) error
	// start begins the method's work once the record is stored (places a
	// call); it must not block.
	start(s *Service, r *record) error
	// code is the code the user must give back, "" if the method has none.
	code(r *record) string
}

// traits are what a method's verifications are, to the rest of verify.
type traits struct {
	// link: a fallback chain may fall back to the method (fallback.go):
	// it reaches the user on its own, and needs nothing shown first.
	link bool
	// showsCode: create returns the code, once, for the web page to show
	// (the user then types it on the call).
	showsCode bool
	// sealsCode: the record keeps the code, sealed with the personal data,
	// for whichever node answers the user's call to speak it; the history
	// never does.
	sealsCode bool
	// delivers says how the code reaches the user, and so how the call's
	// events move the verification along (lifecycle.go) and which calls of
	// a lost node may have delivered it (remote.go).
	delivers delivery
	// inbound says what the user's call to the record's dial number does
	// (inbound.go); with inboundNone the method reaches the user itself.
	inbound inboundRole
}

// delivery is how a method's code reaches the user.
type delivery int

const (
	// byRing: the phone's ringing delivers it (a flash call's caller ID):
	// an answer only raced the CANCEL, and the call's end leaves the
	// verification rang, its code checkable.
	byRing delivery = iota
	// byAnswer: an answered call delivers it (spoken, or typed by the
	// user): the verification is answered, and the call's end leaves its
	// code checkable.
	byAnswer
	// byText: a text delivers it; only a text the carrier did not take
	// fails the verification.
	byText
	// byCallerID: nothing is delivered: the user's own call proves the
	// number.
	byCallerID
)

// inboundRole is what a user's call to a dial number does for a method's
// verifications.
type inboundRole int

const (
	// inboundNone: the method places its own call or text, and may name
	// fallbacks; calls to dial numbers never concern it.
	inboundNone inboundRole = iota
	// inboundVerifies: the call from the verification's number verifies
	// it, rejected unanswered (inbound_missed).
	inboundVerifies
	// inboundAnswers: the call from the verification's number is answered
	// and the method, a talker, talks on it (inbound_voice, keypad_in).
	inboundAnswers
)

// chains reports whether a verification by the method may name
// fallbacks: one that waits for the user's call has none.
func (t traits) chains() bool { return t.inbound == inboundNone }

// dials reports whether the method's node dials a call (Dialer.Flash or
// Dialer.Call), which is closed if the node is lost (remote.go).
func (t traits) dials() bool { return t.inbound == inboundNone && t.delivers != byText }

// lease is something a new record holds for a while, and no other
// record of its number may hold meanwhile (a caller ID, a dial number):
// the store key val is written under, for ttl, in the record's
// transaction, only if the key is absent unless force is set.
type lease struct {
	key   string
	val   []byte
	ttl   time.Duration
	force bool
}

// leaser is a method whose records lease something.
type leaser interface {
	// leases returns the leases to try in turn for r, until one is free.
	// Each call of next sets r's field for the lease it returns
	// (CallerID, DialNumber), or fails once nothing is left to try.
	leases(s *Service, r *record) (next func() (lease, error))
}

// talker is a method that talks with the user on an answered call, the
// one it placed or the user's.
type talker interface {
	// talk speaks or collects the code of verification id on conv,
	// returning when it is done or ctx ends; code is the record's code
	// (empty unless the record keeps it).
	talk(ctx context.Context, s *Service, id, code string, conv Conversation)
}

// methods lists every method by name: a new method is a file and a line
// here.
var methods = map[Method]method{
	MethodFlashCall:     flashCall{},
	MethodInboundMissed: inboundMissed{},
	MethodVoice:         voice{},
	MethodKeypadOut:     keypadOut{},
	MethodInboundVoice:  inboundVoice{},
	MethodKeypadIn:      keypadIn{},
	MethodSMS:           sms{},
}

// traitsOf returns the traits of the method named m, zero for no method.
func traitsOf(m Method) traits {
	if md, ok := methods[m]; ok {
		return md.traits()
	}
	return traits{}
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

// methodsWhere returns the names of the methods whose traits satisfy
// keep, sorted.
func methodsWhere(keep func(traits) bool) []string {
	var names []string
	for name, m := range methods {
		if keep(m.traits()) {
			names = append(names, string(name))
		}
	}
	slices.Sort(names)
	return names
}

func methodNames() string {
	return strings.Join(methodsWhere(func(traits) bool { return true }), ", ")
}

// Methods lists the methods by name, sorted.
func Methods() []string { return methodsWhere(func(traits) bool { return true }) }

// AnsweredMethods lists, sorted, the methods whose code an answered call
// delivers (placed or taken): those that Stats.Answered counts.
func AnsweredMethods() []string {
	return methodsWhere(func(t traits) bool { return t.delivers == byAnswer })
}
