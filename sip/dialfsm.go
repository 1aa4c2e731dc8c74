package sip

import "github.com/emiago/sipgo/sip"

// The INVITE client of an outbound call (Flash, Dial) as a state machine:
// the states, the inputs that move it and the transitions, kept apart
// from the I/O that feeds it and carries out its actions (flash.go), as
// sipgo keeps transaction_client_tx_fsm.go apart from its transaction.
// Every transition is a pure function of the machine and one input, so
// that the whole of a call's logic is tested by tables (dialfsm_test.go).
//
//	calling ──1xx──▶ proceeding ──180/183──▶ ringing (KeepRinging, RingFor)
//	   │                 │                      │ RingFor passed, hang-up, timeout
//	   │                 │ 180/183 (flash), hang-up, timeout
//	   │                 ▼                      ▼
//	   │              cancelling ◀──────────────┘
//	   │                 │ final response, transaction over, 64*T1
//	   └──final, no response, timeout──▶ ended ◀┘
//
// RFC 3261 §9.1 allows a CANCEL only once a provisional response has
// arrived: a hang-up or timeout asked while calling is remembered and
// carried out by the first 1xx. A 401/407 that the trunk has credentials
// for takes the call back to calling with an authorized INVITE.

// dialState is where an outbound INVITE transaction stands.
type dialState uint8

const (
	dialCalling    dialState = iota // INVITE sent, no provisional response yet: no CANCEL allowed
	dialProceeding                  // a provisional response came: a CANCEL may go
	dialRinging                     // 180/183 came and the call rings on (KeepRinging, or for RingFor)
	dialCancelling                  // the CANCEL went: waiting for the INVITE's final response
	dialEnded                       // the call's final event is decided
)

func (s dialState) String() string {
	switch s {
	case dialCalling:
		return "calling"
	case dialProceeding:
		return "proceeding"
	case dialRinging:
		return "ringing"
	case dialCancelling:
		return "cancelling"
	case dialEnded:
		return "ended"
	}
	return "unknown"
}

// dialInputKind is what happened to the call.
type dialInputKind uint8

const (
	inProvisional   dialInputKind = iota // a 1xx to the INVITE (Status)
	inFastRing                           // the read path saw a 180/183 (Status) and sent the armed CANCEL
	inSuccess                            // a 2xx to the INVITE (Status)
	inChallenge                          // a 401 or 407 to the INVITE (Status, Reason)
	inFinal                              // any other final response (Status, Reason)
	inTxEnded                            // the transaction ended with no final response (Reason; TxTimeout if Timer B)
	inNoResponse                         // FlashOptions.NoResponse passed
	inRingFor                            // FlashOptions.RingFor passed since the ring
	inTimeout                            // FlashOptions.Timeout passed
	inHangup                             // the caller's context was cancelled: hang up
	inCancelExpired                      // 64*T1 since the CANCEL and no final response (RFC 3261 §9.1)
)

// dialInput is one input to the machine.
type dialInput struct {
	Kind      dialInputKind
	Status    int
	Reason    string
	TxTimeout bool // inTxEnded: the transaction timed out
}

// dialActions are what a transition asks of the I/O, carried out in the
// order of the bits.
type dialActions uint8

const (
	doCancel        dialActions = 1 << iota // send the CANCEL (the armed one if any) and start 64*T1
	doRingTimer                             // start the RingFor timer
	doReportRinging                         // report EventRinging with RingStatus
	doAuthorize                             // send the INVITE again with credentials for the challenge
	doConfirm                               // ACK the 2xx and keep its dialog: the call is answered (End)
	doAckBye                                // report EventAnswered, ACK and BYE the 2xx: End is EventHungUp
	doEnd                                   // report End and return it: the call is over
)

// dialStep is the outcome of one transition.
type dialStep struct {
	Do         dialActions
	RingStatus int // doReportRinging: the 180 or 183
	// End is the final event's kind, status and reason (doEnd, doConfirm,
	// doAckBye); the I/O stamps the time and trunk, and may turn it into
	// EventFailed (or add a reason) if its own action fails.
	End Event
}

// dialMachine is the state of one outbound INVITE transaction and what it
// has learnt on the way. Its zero value, with the options set, is a call
// whose INVITE has just gone (dialCalling).
type dialMachine struct {
	State dialState

	// The call's options, fixed for its life.
	KeepRinging bool // an ordinary call: no CANCEL on ringing
	RingFor     bool // a flash call that rings for FlashOptions.RingFor before its CANCEL
	Answer      bool // Dial: a 2xx is kept as a dialog
	CanAuth     bool // the trunk has credentials for a digest challenge

	Responded   bool   // any response came (NoResponse no longer applies)
	Rang        bool   // 180/183 came (reported once)
	HangupAsked bool   // inHangup came
	TimedOut    bool   // inTimeout came (and counted)
	AuthTries   int    // digest challenges answered
	Why         string // why the CANCEL went: "rang", "hangup" or "timeout"
}

// canCancel reports whether a CANCEL may go now: a provisional response
// came (RFC 3261 §9.1) and none went yet.
func (m dialMachine) canCancel() bool {
	return m.State == dialProceeding || m.State == dialRinging
}

// cancel sends the CANCEL for why if it may go now.
func (m *dialMachine) cancel(why string, st *dialStep) {
	if !m.canCancel() {
		return
	}
	m.State, m.Why = dialCancelling, why
	st.Do |= doCancel
}

// end decides the call's final event.
func (m *dialMachine) end(st *dialStep, kind EventKind, status int, reason string) {
	m.State = dialEnded
	st.Do |= doEnd
	st.End = Event{Kind: kind, Status: status, Reason: reason}
}

// ring notes a 180/183 and reports it the first time.
func (m *dialMachine) ring(status int, st *dialStep) {
	if m.Rang {
		return
	}
	m.Rang = true
	st.Do |= doReportRinging
	st.RingStatus = status
}

// next returns the machine after in, and what to do about it. An ended
// machine stays ended and asks nothing.
func (m dialMachine) next(in dialInput) (dialMachine, dialStep) {
	var st dialStep
	if m.State == dialEnded {
		return m, st
	}
	switch in.Kind {
	case inProvisional:
		m.Responded = true
		if m.State == dialCalling {
			m.State = dialProceeding
		}
		if in.Status == sip.StatusRinging || in.Status == sip.StatusSessionInProgress {
			if !m.Rang {
				switch {
				case m.KeepRinging:
					m.toRinging()
				case m.RingFor:
					if m.toRinging() {
						st.Do |= doRingTimer
					}
				default:
					m.cancel("rang", &st)
				}
			}
			m.ring(in.Status, &st)
		}
		switch {
		case m.HangupAsked:
			m.cancel("hangup", &st)
		case m.TimedOut:
			m.cancel("timeout", &st)
		}

	case inFastRing:
		if m.State == dialCancelling {
			break // caught up already
		}
		m.Responded = true
		if m.State == dialCalling {
			m.State = dialProceeding
		}
		m.ring(in.Status, &st)
		m.cancel("rang", &st)

	case inSuccess:
		m.Responded = true
		if m.Answer && m.State != dialCancelling && !m.HangupAsked {
			m.State = dialEnded
			st.Do |= doConfirm
			st.End = Event{Kind: EventAnswered, Status: in.Status}
			break
		}
		m.State = dialEnded
		st.Do |= doAckBye
		st.End = Event{Kind: EventHungUp, Status: in.Status}

	case inChallenge:
		m.Responded = true
		if m.CanAuth && m.AuthTries < maxAuthTries && m.State != dialCancelling && !m.HangupAsked && !m.TimedOut {
			m.AuthTries++
			m.State = dialCalling
			st.Do |= doAuthorize
			break
		}
		m.final(in, &st)

	case inFinal:
		m.Responded = true
		m.final(in, &st)

	case inTxEnded:
		switch {
		case m.State == dialCancelling:
			m.end(&st, EventCancelled, 0, m.Why)
		case m.TimedOut || in.TxTimeout:
			m.end(&st, EventTimeout, 0, in.Reason)
		default:
			m.end(&st, EventFailed, 0, in.Reason)
		}

	case inNoResponse:
		if m.State == dialCalling && !m.Responded {
			m.end(&st, EventTimeout, 0, "no response")
		}

	case inRingFor:
		m.cancel("rang", &st)

	case inTimeout:
		if m.Rang && !m.KeepRinging {
			break // a flash call that rang ends by its CANCEL's answer
		}
		m.TimedOut = true
		if m.State == dialCalling {
			// Nothing came back at all: no CANCEL is allowed, so the
			// transaction is abandoned.
			m.end(&st, EventTimeout, 0, "no response")
			break
		}
		m.cancel("timeout", &st)

	case inHangup:
		m.HangupAsked = true
		m.cancel("hangup", &st)

	case inCancelExpired:
		if m.TimedOut {
			m.end(&st, EventTimeout, 0, "no final response to CANCEL")
			break
		}
		m.end(&st, EventCancelled, 0, m.Why)
	}
	return m, st
}

// toRinging moves a call that may still be cancelled to dialRinging and
// reports whether it did (a call cancelled already stays cancelling).
func (m *dialMachine) toRinging() bool {
	if m.State != dialProceeding {
		return false
	}
	m.State = dialRinging
	return true
}

// final ends the call on a final response other than a 2xx.
func (m *dialMachine) final(in dialInput, st *dialStep) {
	switch {
	case m.TimedOut:
		m.end(st, EventTimeout, in.Status, "")
	case m.State == dialCancelling:
		m.end(st, EventCancelled, in.Status, m.Why)
	default:
		m.end(st, EventFailed, in.Status, in.Reason)
	}
}
