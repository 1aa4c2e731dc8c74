package privacy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Requests in bulk: data subject requests arrive in batches, as a file of
// numbers. Bulk runs one request per number, and a Journal keeps which
// numbers are done, by keyed hash, so that a run stopped half way (a
// signal, a crash, a store that went away) is resumed by running it again.

// BulkLine is one number of a bulk request file.
type BulkLine struct {
	// Line is its line number in the file, from 1.
	Line int
	// Number is the number in E.164, when the line holds a valid one.
	Number string
	// Err says why the line is not a number.
	Err error
	// text is the line as written (never shown unmasked).
	text string
}

// maxBulkLine bounds a line of a bulk request file.
const maxBulkLine = 1024

// ReadNumbers reads a bulk request file: one number a line, as parse
// accepts it (E.164, or national numbers of parse's region); blank lines
// and lines starting with '#' are skipped. A line parse refuses is kept
// with its error; a number seen on an earlier line is dropped.
func ReadNumbers(r io.Reader, parse func(string) (string, error)) ([]BulkLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxBulkLine)
	var out []BulkLine
	seen := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		l := BulkLine{Line: n, text: text}
		l.Number, l.Err = parse(text)
		if l.Err == nil {
			if seen[l.Number] {
				continue
			}
			seen[l.Number] = true
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("privacy: numbers file: %w", err)
	}
	return out, nil
}

// Journal is the state file of a bulk request: the keyed hashes (audit
// subjects, never numbers) of the numbers done, one a line after a header
// naming the action. Each is written to disk before the next number
// starts.
type Journal struct {
	path   string
	action string
	f      *os.File
	done   map[string]bool
}

// journalHeader starts a journal of action.
func journalHeader(action string) string { return "# ringproof privacy " + action + " journal v1" }

// ErrJournalAction means a state file belongs to another action (an export's
// given to an erasure).
var ErrJournalAction = errors.New("privacy: the state file is another command's")

// OpenJournal opens the journal of action at path, creating it (mode
// 0600) if it does not exist, and reads which numbers it lists as done.
func OpenJournal(path, action string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("privacy: state file: %w", err)
	}
	j := &Journal{path: path, action: action, f: f, done: map[string]bool{}}
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			first = false
			if line != journalHeader(action) {
				f.Close()
				return nil, fmt.Errorf("%w: %s does not start with %q", ErrJournalAction, path, journalHeader(action))
			}
			continue
		}
		if line != "" {
			j.done[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, fmt.Errorf("privacy: state file %s: %w", path, err)
	}
	if first {
		if _, err := f.WriteString(journalHeader(action) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("privacy: state file: %w", err)
		}
	}
	return j, nil
}

// Path is where the journal is.
func (j *Journal) Path() string { return j.path }

// Done reports whether the number of audit subject subject is done.
func (j *Journal) Done(subject string) bool { return j.done[subject] }

// Mark records subject as done, on disk.
func (j *Journal) Mark(subject string) error {
	if _, err := j.f.WriteString(subject + "\n"); err != nil {
		return fmt.Errorf("privacy: state file: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("privacy: state file: %w", err)
	}
	j.done[subject] = true
	return nil
}

// Close closes the journal's file.
func (j *Journal) Close() error { return j.f.Close() }

// BulkFailure is a number a bulk request could not do.
type BulkFailure struct {
	Line int `json:"line"`
	// Number is the number as Mask shows it.
	Number string `json:"number"`
	Reason string `json:"reason"`
}

// BulkSummary says what a bulk request did.
type BulkSummary struct {
	Action string `json:"action"`
	// Total counts the numbers of the file (distinct, and lines that are
	// not numbers); Done those done by this run; Skipped those a previous
	// run had done (the journal lists them).
	Total   int `json:"total"`
	Done    int `json:"done"`
	Skipped int `json:"skipped"`
	// Failed lists the numbers that failed, and why.
	Failed []BulkFailure `json:"failed"`
	// Left counts the numbers not tried because the run was stopped.
	Left int `json:"left,omitempty"`
	// State is the journal's path.
	State string `json:"state"`
}

// BulkProgress is how far a bulk request is.
type BulkProgress struct {
	Total, Done, Skipped, Failed int
}

// Bulk runs a request (export, erasure) for each number of a file.
type Bulk struct {
	// Action names the request: "export", "erase".
	Action string
	// Journal lists the numbers done: they are skipped, and each number
	// done is added.
	Journal *Journal
	// Subject is the keyed hash the journal knows a number by
	// (Index.Subject).
	Subject func(number string) string
	// Do makes the request for one number.
	Do func(ctx context.Context, number string) error
	// Progress, if set, is told after each number.
	Progress func(BulkProgress)
}

// Run makes the request for each line's number in turn, until ctx ends.
// A number that fails is listed with its reason and the run goes on.
func (b *Bulk) Run(ctx context.Context, lines []BulkLine) BulkSummary {
	s := BulkSummary{Action: b.Action, Total: len(lines), Failed: []BulkFailure{}, State: b.Journal.Path()}
	report := func() {
		if b.Progress != nil {
			b.Progress(BulkProgress{Total: s.Total, Done: s.Done, Skipped: s.Skipped, Failed: len(s.Failed)})
		}
	}
	for i, l := range lines {
		if ctx.Err() != nil {
			s.Left = len(lines) - i
			break
		}
		fail := func(reason string) {
			s.Failed = append(s.Failed, BulkFailure{Line: l.Line, Number: Mask(l.text), Reason: reason})
		}
		switch {
		case l.Err != nil:
			fail(l.Err.Error())
		case b.Journal.Done(b.Subject(l.Number)):
			s.Skipped++
		default:
			if err := b.Do(ctx, l.Number); err != nil {
				if ctx.Err() != nil {
					s.Left = len(lines) - i
					report()
					return s
				}
				fail(Redact(err.Error()))
			} else if err := b.Journal.Mark(b.Subject(l.Number)); err != nil {
				fail(err.Error())
			} else {
				s.Done++
			}
		}
		report()
	}
	return s
}
