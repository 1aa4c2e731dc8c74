package sip

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestIdleClosesAreLoggedAtDebug(t *testing.T) {
	tests := []struct {
		name  string
		level slog.Level // the logger's
		err   error
		want  string // "" for nothing
	}{
		{"timeout, debug on", slog.LevelDebug, fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded), "level=DEBUG"},
		{"timeout, debug off", slog.LevelInfo, fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded), ""},
		{"other error", slog.LevelInfo, errors.New("connection reset by peer"), "level=ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(idleCloses{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level})}).With("caller", "Transport<TCP>")
			l.Error("Read error", "error", tt.err)
			got := buf.String()
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("logged %q, want %q", got, tt.want)
			}
		})
	}
}
