package media

import (
	"context"
	"fmt"
	"time"
)

const (
	frameDuration = FrameDurationMs * time.Millisecond
	// nsPerSample converts clock time to RTP timestamp units exactly.
	nsPerSample = int64(time.Second / SampleRate)
	// talkspurtSlack is how late a Play may start after the previous
	// one's next slot and still continue its talkspurt: a gap shorter
	// than this is the scheduler's, not a silence the caller meant.
	talkspurtSlack = 5 * frameDuration
)

// play sends audio paced from its start slot. The caller holds sendSem.
func (s *Session) play(ctx context.Context, audio []byte) error {
	if len(audio) == 0 {
		return nil
	}
	snd := &s.sender
	// Continue the talkspurt if the previous Play's next slot is still
	// ahead, or passed by less than talkspurtSlack (a Play that follows
	// another at once, on a scheduler that ran it late: its first frames
	// leave at once and the pacing catches up); otherwise begin a new one
	// now, with the marker bit.
	now := time.Now()
	start, marker := snd.next, false
	if snd.next.IsZero() || snd.next.Add(talkspurtSlack).Before(now) {
		start, marker = now, true
	}
	// The timestamp follows the clock from the stream's epoch, so a silence
	// between talkspurts advances it by its length (RFC 3550 §5.1).
	ts0 := snd.tsBase + uint32(start.Sub(snd.epoch).Nanoseconds()/nsPerSample)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	frames := (len(audio) + FrameSamples - 1) / FrameSamples
	for i := range frames {
		target := start.Add(time.Duration(i) * frameDuration)
		if wait := time.Until(target); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return ctx.Err()
			case <-s.done:
				return s.Err()
			}
		} else {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-s.done:
				return s.Err()
			default:
			}
		}
		if s.opts.lateness != nil {
			s.opts.lateness(time.Since(target))
		}
		payload := audio[i*FrameSamples : min(len(audio), (i+1)*FrameSamples)]
		if len(payload) < FrameSamples {
			n := copy(snd.pad, payload)
			for j := n; j < len(snd.pad); j++ {
				snd.pad[j] = snd.law.Silence()
			}
			payload = snd.pad
		}
		err := s.send(payload, marker && i == 0, ts0+uint32(i*FrameSamples))
		snd.next = target.Add(frameDuration)
		if err != nil {
			return err
		}
	}
	return nil
}

// send marshals one packet into the reused buffer and writes it to the
// current remote address. It allocates nothing.
func (s *Session) send(payload []byte, marker bool, ts uint32) error {
	snd := &s.sender
	snd.hdr.Marker = marker
	snd.hdr.Timestamp = ts
	n, err := snd.hdr.MarshalTo(snd.buf)
	if err != nil {
		return fmt.Errorf("media: marshal RTP: %w", err)
	}
	n += copy(snd.buf[n:], payload)
	snd.hdr.SequenceNumber++
	dst := s.RemoteAddr()
	if !dst.IsValid() || dst.Addr().IsUnspecified() || dst.Port() == 0 {
		return nil // not known yet: wait for the peer's packets
	}
	pkt := snd.buf[:n]
	if s.srtp != nil {
		var err error
		if s.srtp.out, err = s.srtp.enc.EncryptRTP(s.srtp.out[:0], pkt, nil); err != nil {
			return fmt.Errorf("media: SRTP: %w", err)
		}
		pkt = s.srtp.out
	}
	if _, err := s.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
		return fmt.Errorf("media: send RTP to %v: %w", dst, err)
	}
	return nil
}
