package sip

import (
	"context"
	"errors"
	"log/slog"
	"os"
)

// idleCloses lowers to debug the records of sipgo's stream readers that
// ended on their read deadline: an idle connection closed on purpose.
type idleCloses struct{ slog.Handler }

func (h idleCloses) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && idleTimeout(r) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h idleCloses) WithAttrs(as []slog.Attr) slog.Handler {
	return idleCloses{h.Handler.WithAttrs(as)}
}

func (h idleCloses) WithGroup(name string) slog.Handler {
	return idleCloses{h.Handler.WithGroup(name)}
}

// idleTimeout reports whether r carries an error that is a passed
// deadline.
func idleTimeout(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && errors.Is(err, os.ErrDeadlineExceeded) {
			found = true
			return false
		}
		return true
	})
	return found
}
