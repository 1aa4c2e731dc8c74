package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/privacy"
)

// Bulk requests: "export --numbers FILE" and "erase --numbers FILE" run
// one request per number of FILE, show their progress, skip the numbers
// a previous run did (the state file), and end with a summary.

// bulkRequest is one bulk run of a privacy command.
type bulkRequest struct {
	// action names the run and its state file: "export", "erase",
	// "erase-dry-run".
	action string
	// file is the numbers file; state the state file (default beside it).
	file, state string
	region      string
}

// run reads the numbers, opens the state file and does each number with
// do, printing progress on stderr and the summary on stdout. It returns
// the exit code: 0 when every number was done, 1 when one failed or the
// run was stopped (the summary lists them), 2 when the files cannot be
// read.
func (b bulkRequest) run(ctx context.Context, s *privacySession, stdout, stderr io.Writer, do func(ctx context.Context, number string) error) int {
	name := "ringproof privacy " + strings.TrimSuffix(b.action, "-dry-run")
	f, err := os.Open(b.file)
	if err != nil {
		fmt.Fprintf(stderr, "%s: --numbers: %v\n", name, err)
		return 2
	}
	lines, err := privacy.ReadNumbers(f, func(s string) (string, error) { return number.Parse(s, b.region) })
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "%s: --numbers %s: %v\n", name, b.file, err)
		return 2
	}
	state := b.state
	if state == "" {
		state = b.file + "." + b.action + ".state"
	}
	j, err := privacy.OpenJournal(state, b.action)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v (--state names another place)\n", name, err)
		return 2
	}
	defer j.Close()
	bar := newProgress(stderr, b.action)
	run := privacy.Bulk{Action: b.action, Journal: j, Subject: s.vault.Index().Subject, Do: do, Progress: bar.update}
	sum := run.Run(ctx, lines)
	bar.finish()
	if code := writeDoc(stdout, stderr, sum, ""); code != 0 {
		return code
	}
	if len(sum.Failed) == 0 && sum.Left == 0 {
		return 0
	}
	if len(sum.Failed) > 0 {
		fmt.Fprintf(stderr, "%s: %d of %d numbers failed:\n", name, len(sum.Failed), sum.Total)
		for _, f := range sum.Failed {
			fmt.Fprintf(stderr, "  line %d, %s: %s\n", f.Line, f.Number, f.Reason)
		}
	}
	if sum.Left > 0 {
		fmt.Fprintf(stderr, "%s: stopped with %d numbers left; run the same command again to go on (%s lists those done)\n", name, sum.Left, sum.State)
	}
	return 1
}

// progress shows a bulk run's progress: a bar redrawn in place on a
// terminal, else a plain line at each tenth and every 10 seconds.
type progress struct {
	w      io.Writer
	action string
	tty    bool
	width  int
	start  time.Time
	// lastLine and lastTenth are when and at which tenth the last plain
	// line was written.
	lastLine  time.Time
	lastTenth int
	drawn     bool
}

func newProgress(w io.Writer, action string) *progress {
	p := &progress{w: w, action: action, start: time.Now(), lastLine: time.Now(), width: 80}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 40 {
			p.width = width
		}
	}
	return p
}

func (p *progress) update(pr privacy.BulkProgress) {
	n := pr.Done + pr.Skipped + pr.Failed
	if pr.Total == 0 {
		return
	}
	pct := 100 * n / pr.Total
	status := fmt.Sprintf("%d/%d %3d%%", n, pr.Total, pct)
	if pr.Failed > 0 {
		status += fmt.Sprintf(", %d failed", pr.Failed)
	}
	if pr.Skipped > 0 {
		status += fmt.Sprintf(", %d done before", pr.Skipped)
	}
	if p.tty {
		if done := pr.Done + pr.Failed; done > 0 && n < pr.Total {
			left := time.Duration(float64(time.Since(p.start)) / float64(done) * float64(pr.Total-n))
			status += ", " + left.Round(time.Second).String() + " left"
		}
		barWidth := max(p.width-len(p.action)-len(status)-6, 10)
		fill := barWidth * n / pr.Total
		fmt.Fprintf(p.w, "\r%s [%s%s] %s\x1b[K", p.action, strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill), status)
		p.drawn = true
		return
	}
	tenth := 10 * n / pr.Total
	if tenth > p.lastTenth || time.Since(p.lastLine) >= 10*time.Second || n == pr.Total {
		fmt.Fprintf(p.w, "%s: %s\n", p.action, status)
		p.lastTenth, p.lastLine = tenth, time.Now()
	}
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}
