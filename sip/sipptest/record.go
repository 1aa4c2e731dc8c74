package sipptest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// RecordPrefix starts every line the uas_*.xml scenarios write with <log>,
// one line per call:
//
//	sipptest scenario=uas_ring_cancel call=1 call_id=... from=+4420... to=... \
//	  invite_branch=z9hG4bK... invite_cseq=1 prov=180 prov_us=1795447712673086 \
//	  cancel=true cancel_us=1795447712673176 cancel_branch=z9hG4bK... \
//	  branch_match=true cancel_cseq=1 cancel_method=CANCEL cseq_match=true \
//	  ruri_match=true from_match=true to_match=true
//
// Fields are space-separated key=value pairs; which keys appear depends on
// the scenario, and a value may be empty. *_us are Unix times in
// microseconds taken by SIPp: prov_us just after it sent the provisional,
// cancel_us when it read the CANCEL.
const RecordPrefix = "sipptest "

// Record is one call as seen by a uas_*.xml scenario (the carrier side).
// Fields a scenario does not log are left zero.
type Record struct {
	Scenario string // e.g. "uas_ring_cancel"
	Call     int    // SIPp's call number, from 1
	CallID   string
	From     string // user part of the From URI: the caller ID shown
	To       string // user part of the To URI: the number called

	InviteBranch string // Via branch of the INVITE (the authenticated one in uas_auth)
	InviteCSeq   int

	Prov   int       // last provisional sent before the CANCEL: 100, 180 or 183
	ProvAt time.Time // when it was sent

	Final   int       // final response to the INVITE: 200, 403 or 486 (487 is implied by Cancelled)
	FinalAt time.Time // when it was sent (uas_busy, uas_answer)

	Cancelled    bool // a CANCEL arrived
	CancelLate   bool // uas_answer: the CANCEL arrived after the ACK
	CancelAt     time.Time
	CancelBranch string
	BranchMatch  bool // CANCEL's Via branch equals the INVITE's
	CancelCSeq   int
	CancelMethod string
	CSeqMatch    bool // CANCEL's CSeq is the INVITE's number with method CANCEL
	RURIMatch    bool // Request-URI, From and To equal the INVITE's, byte for byte
	FromMatch    bool
	ToMatch      bool

	AckBranch string // uas_busy: Via branch of the ACK for the 486
	AckMatch  bool   // it equals the INVITE's

	Auth     bool   // uas_auth: the Authorization header verified (ringproof/secret)
	AuthUser string // its username

	ByeAt time.Time // uas_answer: when the BYE arrived

	Fields map[string]string // every key=value of the line, as written
}

// Reaction is the carrier-side time from the last provisional (Prov) to
// the CANCEL, or 0 when either is missing.
func (r Record) Reaction() time.Duration {
	if r.ProvAt.IsZero() || r.CancelAt.IsZero() {
		return 0
	}
	return r.CancelAt.Sub(r.ProvAt)
}

// ParseRecord parses one line written by a scenario (see RecordPrefix).
func ParseRecord(line string) (Record, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line)+" ", RecordPrefix)
	if !ok {
		return Record{}, fmt.Errorf("sipptest record %q: no %q prefix", line, strings.TrimSpace(RecordPrefix))
	}
	r := Record{Fields: make(map[string]string)}
	p := fieldParser{f: r.Fields}
	for _, kv := range strings.Fields(rest) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Record{}, fmt.Errorf("sipptest record %q: field %q is not key=value", line, kv)
		}
		r.Fields[k] = v
	}
	r.Scenario = r.Fields["scenario"]
	r.Call = p.int("call")
	r.CallID = r.Fields["call_id"]
	r.From = r.Fields["from"]
	r.To = r.Fields["to"]
	r.InviteBranch = r.Fields["invite_branch"]
	r.InviteCSeq = p.int("invite_cseq")
	r.Prov = p.int("prov")
	r.ProvAt = p.micros("prov_us")
	r.Final = p.int("final")
	r.FinalAt = p.micros("final_us")
	switch c := r.Fields["cancel"]; c {
	case "true":
		r.Cancelled = true
	case "late":
		r.Cancelled, r.CancelLate = true, true
	case "", "false":
	default:
		p.errs = append(p.errs, fmt.Errorf("cancel=%q", c))
	}
	r.CancelAt = p.micros("cancel_us")
	r.CancelBranch = r.Fields["cancel_branch"]
	r.BranchMatch = p.bool("branch_match")
	r.CancelCSeq = p.int("cancel_cseq")
	r.CancelMethod = r.Fields["cancel_method"]
	r.CSeqMatch = p.bool("cseq_match")
	r.RURIMatch = p.bool("ruri_match")
	r.FromMatch = p.bool("from_match")
	r.ToMatch = p.bool("to_match")
	r.AckBranch = r.Fields["ack_branch"]
	r.AckMatch = p.bool("ack_match")
	r.Auth = p.bool("auth")
	r.AuthUser = r.Fields["auth_user"]
	r.ByeAt = p.micros("bye_us")
	if err := errors.Join(p.errs...); err != nil {
		return Record{}, fmt.Errorf("sipptest record %q: %w", line, err)
	}
	return r, nil
}

// fieldParser converts fields, collecting errors; a missing or empty field
// is the zero value.
type fieldParser struct {
	f    map[string]string
	errs []error
}

func (p *fieldParser) int(k string) int {
	v := p.f[k]
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %w", k, err))
	}
	return n
}

func (p *fieldParser) micros(k string) time.Time {
	v := p.f[k]
	if v == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %w", k, err))
		return time.Time{}
	}
	return time.UnixMicro(n)
}

func (p *fieldParser) bool(k string) bool {
	switch v := p.f[k]; v {
	case "true":
		return true
	case "", "false":
		return false
	default:
		p.errs = append(p.errs, fmt.Errorf("%s=%q is not a boolean", k, v))
		return false
	}
}

// parseRecords parses the record lines of a log file, skipping other lines.
func parseRecords(lines []string) ([]Record, error) {
	var recs []Record
	var errs []error
	for _, l := range lines {
		if !strings.HasPrefix(l, RecordPrefix) {
			continue
		}
		r, err := ParseRecord(l)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		recs = append(recs, r)
	}
	return recs, errors.Join(errs...)
}

func readLines(name string) ([]string, error) {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // SIPp creates its log files lazily
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}
