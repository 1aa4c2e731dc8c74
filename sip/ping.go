package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ErrNoAnswer is returned by Ping and Register when the trunk sent no
// final response in time.
var ErrNoAnswer = errors.New("no answer")

// Ping asks t whether it is there with an OPTIONS request (RFC 3261
// §11), as carriers' own monitors do, and waits up to timeout for the
// final response. It returns the status of any final response (a 401, 404
// or 405 shows that the trunk is there as well as a 200 does), or an error
// wrapping ErrNoAnswer when none came, or why the request could not be
// sent.
func (e *Endpoint) Ping(ctx context.Context, t Trunk, timeout time.Duration) (int, error) {
	req, _, err := t.newRequest(sip.OPTIONS, "")
	if err != nil {
		return 0, err
	}
	req.AppendHeader(&sip.FromHeader{
		Address: sip.Uri{Scheme: "sip", User: "ringproof", Host: e.public.String()},
		Params:  sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}},
	})
	req.AppendHeader(&sip.ToHeader{Address: *req.Recipient.Clone()})
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	req.AppendHeader(sip.NewHeader("User-Agent", e.userAgent))
	if err := e.build(req); err != nil {
		return 0, fmt.Errorf("trunk %q: OPTIONS: %w", t.Name, err)
	}
	res, err := e.final(ctx, req, timeout)
	if err != nil {
		return 0, fmt.Errorf("trunk %q: OPTIONS: %w", t.Name, err)
	}
	return res.StatusCode, nil
}

// final sends req in a client transaction and returns its final response,
// within timeout.
func (e *Endpoint) final(ctx context.Context, req *sip.Request, timeout time.Duration) (*sip.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tx, err := e.client.TransactionRequest(ctx, req, noBuild)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return res, nil
			}
		case <-tx.Done():
			if err := tx.Err(); err != nil && !errors.Is(err, sip.ErrTransactionTimeout) {
				return nil, err
			}
			return nil, ErrNoAnswer
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return nil, ErrNoAnswer
			}
			return nil, ctx.Err()
		}
	}
}
