package privacy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseE164(s string) (string, error) {
	if !strings.HasPrefix(s, "+") || len(s) < 8 {
		return "", errors.New("not a number")
	}
	return s, nil
}

// TestBulkResumesWhereItStopped stops a bulk run after its first number
// and runs it again: the second run does the rest, skipping what the first
// did, and neither the state file nor the summary holds a number.
func TestBulkResumesWhereItStopped(t *testing.T) {
	file := "# requests of week 48\n+447911123456\n\nnot-a-number\n+447911123457\n+447911123456\n+447911123458\n"
	lines, err := ReadNumbers(strings.NewReader(file), parseE164)
	if err != nil || len(lines) != 4 || lines[0].Line != 2 || lines[1].Err == nil || lines[3].Number != "+447911123458" {
		t.Fatalf("lines: %+v, %v", lines, err)
	}
	state := filepath.Join(t.TempDir(), "numbers.state")
	subject := func(n string) string { return "s" + n[len(n)-3:] }
	var did []string
	run := func(ctx context.Context, stop context.CancelFunc) BulkSummary {
		j, err := OpenJournal(state, "erase")
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		b := Bulk{Action: "erase", Journal: j, Subject: subject, Do: func(ctx context.Context, n string) error {
			did = append(did, n)
			if stop != nil {
				stop()
			}
			if n == "+447911123458" {
				return errors.New("store unreachable for +447911123458")
			}
			return nil
		}}
		return b.Run(ctx, lines)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := run(ctx, stop)
	if s.Done != 1 || s.Left != 3 || len(s.Failed) != 0 {
		t.Fatalf("stopped run: %+v", s)
	}
	s = run(context.Background(), nil)
	if s.Done != 1 || s.Skipped != 1 || s.Left != 0 || len(s.Failed) != 2 || s.Failed[0].Line != 4 || s.Failed[1].Number != "+44*******458" ||
		strings.Contains(s.Failed[1].Reason, "7911123458") {
		t.Fatalf("resumed run: %+v", s)
	}
	if strings.Join(did, " ") != "+447911123456 +447911123457 +447911123458" {
		t.Errorf("done in order %v", did)
	}
	data, _ := os.ReadFile(state)
	if string(data) != "# ringproof privacy erase journal v1\ns456\ns457\n" {
		t.Errorf("state file %q", data)
	}
	if _, err := OpenJournal(state, "export"); !errors.Is(err, ErrJournalAction) {
		t.Errorf("an erasure's state file opened for an export: %v", err)
	}
}
