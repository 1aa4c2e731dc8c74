package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/conf"
)

// TestServeLoggerMasksNumbers logs numbers every way a careless line
// could, through the logger serve builds (newLogger), in both formats,
// and finds none in clear: the redacting handler is what keeps numbers
// out of logs, and without this test nothing would notice it gone.
func TestServeLoggerMasksNumbers(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var out bytes.Buffer
			log := newLogger(conf.Log{Level: "debug", Format: format}, &out)
			log.Info("call to +447911123456 failed", "number", "+447911123456")
			log.Debug("national", "to", "07911123456", "uri", "sip:447911123456@carrier.example;user=phone")
			log.With("caller", "+447911123456").Warn("with")
			log.WithGroup("call").Error("group", "from", "tel:+447911123456", "err", errString("dial +447911123456: 486 Busy Here"))
			log.Info("attr values", slog.Any("numbers", []string{"+447911123456"}))
			got := out.String()
			if strings.Count(got, "\n") != 5 {
				t.Fatalf("want 5 lines, got:\n%s", got)
			}
			for _, f := range numberForms {
				if strings.Contains(got, f) {
					t.Errorf("%q in clear in the %s log:\n%s", f, format, got)
				}
			}
			if !strings.Contains(got, "+44*******456") {
				t.Errorf("no masked number in the %s log:\n%s", format, got)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }
