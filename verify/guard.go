package verify

import (
	"context"
	"time"
)

// Guard protects the server's owner from fraud and abuse before anything
// is dialled, texted or stored (fraud.Guard). Config.Guard nil means no
// guard.
type Guard interface {
	// Admit decides whether a verification of number (E.164) may be
	// created now, for the client ctx carries (none for a fallback link).
	// Refused, it returns an error: one that is api.Refused, or a store error.
	// Admitted, done must be called once with whether the verification
	// was stored.
	Admit(ctx context.Context, number string) (done func(created bool), err error)
	// Check decides whether the client ctx carries may check a code now.
	Check(ctx context.Context) error
	// Verified is told that a verification of number, created at created,
	// was verified.
	Verified(number string, created time.Time)
}

// noGuard admits everything.
type noGuard struct{}

func (noGuard) Admit(context.Context, string) (func(bool), error) { return func(bool) {}, nil }
func (noGuard) Check(context.Context) error                       { return nil }
func (noGuard) Verified(string, time.Time)                        {}
