package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/sip"
)

// phoneRTPPorts are the ports the handset's calls take RTP on.
var phoneRTPPorts = media.PortRange{Min: 16384, Max: 32767}

// phoneAudio is what an answering handset does with a call's audio.
type phoneAudio struct {
	tone   float64 // Hz to play; 0 sends silence
	silent bool    // send no RTP at all
	record string  // WAV file for what it hears; empty: none
	noSRTP bool    // answer an SRTP offer in clear RTP
}

// phoneCall is the audio of one call the handset answered: it sends a
// tone or silence (or nothing) until the call ends, and hears the caller's
// audio, into a WAV file if asked.
type phoneCall struct {
	s     *media.Session
	neg   media.Negotiated
	audio phoneAudio

	mu    sync.Mutex // guards what follows: the session's receive goroutine writes them
	heard int        // samples
	file  *os.File
	wav   *media.WAVWriter
	err   error // of the recording

	closeOnce sync.Once
}

// newPhoneCall binds the call's RTP on ip and answers the caller's offer.
func newPhoneCall(ctx context.Context, ip netip.Addr, offer []byte, a phoneAudio) (*phoneCall, []byte, error) {
	s, err := media.Listen(ctx, ip, phoneRTPPorts)
	if err != nil {
		return nil, nil, err
	}
	if a.noSRTP {
		offer = bytes.ReplaceAll(offer, []byte("RTP/SAVP"), []byte("RTP/AVP"))
	}
	answer, neg, err := media.Answer(offer, s.LocalAddr())
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	c := &phoneCall{s: s, neg: neg, audio: a}
	if a.record != "" {
		if c.file, err = os.Create(a.record); err == nil {
			c.wav, err = media.NewWAVWriter(c.file)
		}
		if err != nil {
			s.Close()
			if c.file != nil {
				c.file.Close()
			}
			return nil, nil, fmt.Errorf("record: %w", err)
		}
	}
	return c, answer, nil
}

// talk runs the answered call's audio until the caller hangs up (ctx).
func (c *phoneCall) talk(ctx context.Context, _ *sip.Dialog) {
	defer c.close()
	if err := c.s.Start(c.neg, media.WithAudioHandler(c.hear), media.WithNoMediaTimeout(0), media.WithoutInBandDTMF()); err != nil {
		return
	}
	if c.audio.silent {
		select {
		case <-ctx.Done():
		case <-c.s.Done():
		}
		return
	}
	// One second of the tone (a whole number of cycles for whole Hz) or
	// of silence, played again and again.
	pcm := make([]int16, media.SampleRate)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*c.audio.tone*float64(i)/media.SampleRate))
	}
	second := make([]byte, len(pcm))
	c.neg.Codec.Law.Encode(second, pcm)
	for ctx.Err() == nil {
		if err := c.s.Play(ctx, second); err != nil {
			return
		}
	}
}

// hear takes one packet's audio, on the session's receive goroutine.
func (c *phoneCall) hear(_ *rtp.Header, pcm []int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heard += len(pcm)
	if c.wav != nil && c.err == nil {
		c.err = c.wav.Write(pcm)
	}
}

// close ends the call's audio and finishes the recording.
func (c *phoneCall) close() {
	c.closeOnce.Do(func() {
		c.s.Close() // waits for the receive goroutine
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.wav != nil {
			if err := c.wav.Close(); c.err == nil {
				c.err = err
			}
			if err := c.file.Close(); c.err == nil {
				c.err = err
			}
		}
	})
}

// describe says how the call's audio goes: its codec, and SRTP.
func (c *phoneCall) describe() string {
	name := "PCMU"
	if c.neg.Codec.Law == media.ALaw {
		name = "PCMA"
	}
	if c.neg.SRTP != nil {
		name += ", srtp"
	}
	return name
}

// summary says what the phone heard, once the call is over.
func (c *phoneCall) summary() string {
	c.close()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := fmt.Sprintf("heard %v of audio", (time.Duration(c.heard) * time.Second / media.SampleRate).Round(time.Millisecond))
	switch {
	case c.err != nil:
		s += fmt.Sprintf(", recording failed: %v", c.err)
	case c.wav != nil:
		s += ", recorded to " + c.audio.record
	}
	return s
}
