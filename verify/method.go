package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// method is one way of verifying a number. Each lives in its own file.
type method interface {
	// prepare reserves what the method needs for a new record (a caller
	// ID, a dial number...) before it is stored.
	prepare(ctx context.Context, s *Service, r *record) error
	// start begins the method's work once the record is stored (places a
	// call); it must not block.
	start(s *Service, r *record) error
	// code is the code the user must give back, "" if the method has none.
	code(r *record) string
}

// methods lists every method by name.
var methods = map[Method]method{
	MethodFlashCall:     flashCall{},
	MethodInboundMissed: inboundMissed{},
	MethodVoice:         voice{},
	MethodKeypadOut:     keypadOut{},
	MethodInboundVoice:  inboundVoice{},
	MethodKeypadIn:      keypadIn{},
}

// lookupMethod returns the named method, or an InputError naming "method".
func lookupMethod(name string) (method, error) {
	if name == "" {
		return nil, &InputError{Field: "method", Code: "missing", Message: "method is required (" + methodNames() + ")"}
	}
	m, ok := methods[Method(name)]
	if !ok {
		return nil, &InputError{Field: "method", Code: "unsupported",
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
