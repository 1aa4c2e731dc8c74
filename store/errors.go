package store

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors. Operations wrap them with the operation and key, so test
// for them with errors.Is.
var (
	// ErrNotFound means the key does not exist (or has expired).
	ErrNotFound = errors.New("key not found")
	// ErrExists means Create found the key already present.
	ErrExists = errors.New("key already exists")
	// ErrConflict means an optimistic update lost the race too many times
	// in a row; the key is too hot for read-modify-write.
	ErrConflict = errors.New("too many conflicting updates")
	// ErrUnavailable is wrapped, beside the underlying etcd or context error,
	// when the store did not answer in time or has no leader: the request
	// may succeed later, and an HTTP layer should answer 503.
	ErrUnavailable = errors.New("store unavailable")
	// ErrFull means etcd refused a write because its space quota is
	// reached (its NOSPACE alarm): not transient, an operator must free
	// space (compact and defragment, or raise the quota).
	ErrFull = errors.New("store full: etcd's space quota is reached")
	// ErrInUse means another Store (often another process) holds the
	// embedded data dir; Attach reaches it as a client instead.
	ErrInUse = errors.New("in use by another store")
)

// FullAdvice is what to log when a request fails with ErrFull: what the
// store does by itself, and what an operator does.
const FullAdvice = "the state store is full (etcd's space quota; its NOSPACE alarm is raised). " +
	"The embedded store recovers by itself once space is back: it compacts, defragments and disarms the alarm. " +
	"To make room: raise store.quota_bytes and restart, or lower verification.grace_s. " +
	"An external cluster needs its operator: etcdctl compact, etcdctl defrag, then etcdctl alarm disarm"

// opError is what every operation returns on failure: it names the
// operation and the key (relative to the store prefix; keys hold opaque ids,
// never personal data) and unwraps to the cause and, where it applies, to
// ErrUnavailable.
type opError struct {
	op, key     string
	err         error
	unavailable bool
	full        bool
}

func (e *opError) Error() string {
	return fmt.Sprintf("store: %s %q: %v", e.op, e.key, e.err)
}

func (e *opError) Unwrap() []error {
	switch {
	case e.unavailable:
		return []error{e.err, ErrUnavailable}
	case e.full:
		return []error{e.err, ErrFull}
	}
	return []error{e.err}
}

// wrapErr wraps err, if not nil, with op and key.
func wrapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, key: key, err: err, unavailable: isUnavailable(err), full: isFull(err)}
}

// isFull reports whether err is etcd refusing a write for lack of space.
func isFull(err error) bool {
	return errors.Is(err, rpctypes.ErrNoSpace) || errors.Is(err, rpctypes.ErrGRPCNoSpace)
}

// isUnavailable reports whether err means etcd could not serve the request
// now (timeout, no leader, overload, no endpoint) rather than refused it.
// A caller's own cancellation is not unavailability.
func isUnavailable(err error) bool {
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, clientv3.ErrNoAvailableEndpoints),
		errors.Is(err, rpctypes.ErrTooManyRequests):
		return true
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Code() == codes.Unavailable || ee.Code() == codes.DeadlineExceeded
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

// unavailableError carries a full message and unwraps to its cause and
// ErrUnavailable, for failures outside a single-key operation.
type unavailableError struct {
	msg string
	err error
}

func (e *unavailableError) Error() string   { return e.msg }
func (e *unavailableError) Unwrap() []error { return []error{e.err, ErrUnavailable} }

// unavailablef formats a message ending in ": " + err and returns an error
// that wraps err and ErrUnavailable.
func unavailablef(err error, format string, args ...any) error {
	return &unavailableError{msg: fmt.Sprintf(format, args...) + ": " + err.Error(), err: err}
}
