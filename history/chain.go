package history

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// The audit chain. Each record's Hash is SHA-256 over, in order:
//
//	"ringproof audit chain v1" and a zero byte
//	Prev (32 bytes)
//	Seq, At and ExpiresAt (Unix milliseconds; 0 for none), 8 bytes each, big-endian
//	ID, Subject and Body, each as its length (4 bytes, big-endian) then its bytes
//
// so that anyone holding the database can recompute it. The first record
// ever has 32 zero bytes as Prev; after retention removed the start of the
// chain, the first record left has the anchor's hash (AuditAnchor).

// chainHashSize is the size of a link's hash.
const chainHashSize = sha256.Size

// genesis is the Prev of the first record of a chain.
var genesis = make([]byte, chainHashSize)

// AuditHash returns the hash r's place in the chain must hold: over its
// Prev, Seq, times, id, subject and body (not its Hash or Seal).
func AuditHash(r AuditRecord) []byte {
	h := sha256.New()
	h.Write([]byte("ringproof audit chain v1\x00"))
	h.Write(r.Prev)
	var n [8]byte
	for _, v := range []int64{r.Seq, ms(r.At), msOrZero(r.ExpiresAt)} {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	for _, s := range [][]byte{[]byte(r.ID), []byte(r.Subject), r.Body} {
		binary.BigEndian.PutUint32(n[:4], uint32(len(s)))
		h.Write(n[:4])
		h.Write(s)
	}
	return h.Sum(nil)
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// ChainCheck is what CheckAuditChain found.
type ChainCheck struct {
	// Anchor is where the retained chain starts (Seq 0: at the
	// beginning, nothing removed).
	Anchor AuditAnchor
	// Entries counts the records walked, First and Last their places (0
	// when there are none).
	Entries     int64
	First, Last int64
	// Head is the last record's hash: written down elsewhere, it lets a
	// later check tell that nothing was cut off the end, which the chain
	// alone cannot.
	Head []byte
	// Unsealed counts the records at the start written without a seal
	// (before seals existed). A record without a seal after a sealed one
	// is a broken link.
	Unsealed int64
	// Broken is the first broken link; nil if the chain holds.
	Broken *BrokenLink
}

// BrokenLink is a place where the audit chain does not hold.
type BrokenLink struct {
	// Seq is the place of the first record that fails, ID and At its id
	// and time (when it exists).
	Seq     int64
	ID      string
	At      time.Time
	Problem string
}

// chainPage is how many records CheckAuditChain reads at a time.
const chainPage = 1000

// CheckAuditChain walks s's audit chain from its anchor to its end and
// reports the first broken link: a record whose content does not match its
// hash (edited), whose Prev is not the hash of the record before it (one
// before it removed, replaced or slipped in), a gap in the places
// (records removed), or a seal that checkSeal refuses (a hash rewritten by
// someone without the key). checkSeal may be nil: seals are not checked.
// It stops at the first broken link; the error is for a store that could
// not be read.
func CheckAuditChain(ctx context.Context, s Store, checkSeal func(r AuditRecord) error) (ChainCheck, error) {
	var c ChainCheck
	var err error
	if c.Anchor, err = s.AuditAnchor(ctx); err != nil {
		return c, err
	}
	prevSeq, prevHash := c.Anchor.Seq, c.Anchor.Hash
	sealed := false
	for {
		page, err := s.AuditChain(ctx, prevSeq, chainPage)
		if err != nil {
			return c, err
		}
		for _, r := range page {
			link := func(format string, args ...any) (ChainCheck, error) {
				c.Broken = &BrokenLink{Seq: r.Seq, ID: r.ID, At: r.At, Problem: fmt.Sprintf(format, args...)}
				return c, nil
			}
			switch {
			case r.Seq != prevSeq+1:
				c.Broken = &BrokenLink{Seq: prevSeq + 1, Problem: fmt.Sprintf("entries #%d to #%d are missing: the chain goes from #%d to #%d", prevSeq+1, r.Seq-1, prevSeq, r.Seq)}
				return c, nil
			case !bytes.Equal(AuditHash(r), r.Hash):
				return link("its content does not match its hash: the entry was edited")
			case !bytes.Equal(r.Prev, prevHash):
				return link("its link to entry #%d does not match that entry's hash: an entry before it was replaced, removed or slipped in", prevSeq)
			case len(r.Seal) == 0 && sealed:
				return link("it carries no seal, unlike the entries before it: its hash was rewritten")
			case len(r.Seal) == 0:
				c.Unsealed++
			default:
				sealed = true
				if checkSeal != nil {
					if err := checkSeal(r); err != nil {
						return link("its seal does not verify (%v): its hash was rewritten without the signing key", err)
					}
				}
			}
			if c.Entries == 0 {
				c.First = r.Seq
			}
			c.Entries++
			c.Last, c.Head = r.Seq, r.Hash
			prevSeq, prevHash = r.Seq, r.Hash
		}
		if len(page) < chainPage {
			return c, nil
		}
	}
}
