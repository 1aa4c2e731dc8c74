package sip

import (
	"strings"
	"testing"
)

// String names the actions, in the order they are carried out.
func (a dialActions) String() string {
	names := []string{"cancel", "ring-timer", "report-ringing", "authorize", "confirm", "ack-bye", "end"}
	var out []string
	for i, n := range names {
		if a&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, "+")
}

// Inputs for the tables.
var (
	onTrying     = dialInput{Kind: inProvisional, Status: 100}
	onRinging    = dialInput{Kind: inProvisional, Status: 180}
	onProgress   = dialInput{Kind: inProvisional, Status: 183}
	onFastRing   = dialInput{Kind: inFastRing, Status: 180}
	onOk         = dialInput{Kind: inSuccess, Status: 200}
	onChallenge  = dialInput{Kind: inChallenge, Status: 407, Reason: "Proxy Authentication Required"}
	onBusy       = dialInput{Kind: inFinal, Status: 486, Reason: "Busy Here"}
	onTerminated = dialInput{Kind: inFinal, Status: 487, Reason: "Request Terminated"}
	onTxEnded    = dialInput{Kind: inTxEnded, Reason: "transport closed"}
	onTimerB     = dialInput{Kind: inTxEnded, Reason: "transaction timeout", TxTimeout: true}
	onNoResponse = dialInput{Kind: inNoResponse}
	onRingFor    = dialInput{Kind: inRingFor}
	onTimeout    = dialInput{Kind: inTimeout}
	onHangup     = dialInput{Kind: inHangup}
	onCancelGone = dialInput{Kind: inCancelExpired}
)

func TestDialTransitions(t *testing.T) {
	flash := dialMachine{}
	ringsFor := dialMachine{RingFor: true}
	ordinary := dialMachine{KeepRinging: true}
	place := dialMachine{KeepRinging: true, Answer: true}
	authed := dialMachine{CanAuth: true}
	tests := []struct {
		name    string
		m       dialMachine
		inputs  []dialInput
		actions []string // per input
		state   dialState
		end     Event // Kind, Status, Reason of the last step
	}{
		{"flash: cancel on the first ring, before reporting it", flash,
			[]dialInput{onTrying, onRinging, onTerminated},
			[]string{"-", "cancel+report-ringing", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "rang"}},
		{"flash: 183 rings too", flash,
			[]dialInput{onProgress, onTerminated},
			[]string{"cancel+report-ringing", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "rang"}},
		{"flash: a second ring is not reported", flash,
			[]dialInput{onRinging, onRinging, onTerminated},
			[]string{"cancel+report-ringing", "-", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "rang"}},
		{"flash: the read path rang, the 487 overtook the 180", flash,
			[]dialInput{onFastRing, onTerminated, onRinging},
			[]string{"cancel+report-ringing", "end", "-"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "rang"}},
		{"flash: the read path rang, then the 180 came up", flash,
			[]dialInput{onFastRing, onRinging, onTerminated},
			[]string{"cancel+report-ringing", "-", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "rang"}},
		{"flash: a 200 raced the CANCEL", flash,
			[]dialInput{onRinging, onOk},
			[]string{"cancel+report-ringing", "ack-bye"}, dialEnded,
			Event{Kind: EventHungUp, Status: 200}},
		{"flash: busy", flash,
			[]dialInput{onTrying, onBusy},
			[]string{"-", "end"}, dialEnded,
			Event{Kind: EventFailed, Status: 486, Reason: "Busy Here"}},
		{"flash: the CANCEL is never answered", flash,
			[]dialInput{onRinging, onCancelGone},
			[]string{"cancel+report-ringing", "end"}, dialEnded,
			Event{Kind: EventCancelled, Reason: "rang"}},
		{"flash: the transaction ends after the CANCEL", flash,
			[]dialInput{onRinging, onTxEnded},
			[]string{"cancel+report-ringing", "end"}, dialEnded,
			Event{Kind: EventCancelled, Reason: "rang"}},
		{"flash: the timeout after a ring waits for the CANCEL's answer", flash,
			[]dialInput{onRinging, onTimeout, onTerminated},
			[]string{"cancel+report-ringing", "-", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "rang"}},
		{"no response at all", flash,
			[]dialInput{onNoResponse},
			[]string{"end"}, dialEnded,
			Event{Kind: EventTimeout, Reason: "no response"}},
		{"a 100 Trying answers NoResponse", flash,
			[]dialInput{onTrying, onNoResponse},
			[]string{"-", "-"}, dialProceeding, Event{}},
		{"a ring the read path saw answers NoResponse", flash,
			[]dialInput{onFastRing, onNoResponse},
			[]string{"cancel+report-ringing", "-"}, dialCancelling, Event{}},
		{"timeout with nothing back abandons the call (no CANCEL allowed)", flash,
			[]dialInput{onTimeout},
			[]string{"end"}, dialEnded,
			Event{Kind: EventTimeout, Reason: "no response"}},
		{"timeout after a 100 cancels", flash,
			[]dialInput{onTrying, onTimeout, onTerminated},
			[]string{"-", "cancel", "end"}, dialEnded,
			Event{Kind: EventTimeout, Status: 487}},
		{"timeout, CANCEL unanswered", flash,
			[]dialInput{onTrying, onTimeout, onCancelGone},
			[]string{"-", "cancel", "end"}, dialEnded,
			Event{Kind: EventTimeout, Reason: "no final response to CANCEL"}},
		{"Timer B", flash,
			[]dialInput{onTimerB},
			[]string{"end"}, dialEnded,
			Event{Kind: EventTimeout, Reason: "transaction timeout"}},
		{"transport error", flash,
			[]dialInput{onTxEnded},
			[]string{"end"}, dialEnded,
			Event{Kind: EventFailed, Reason: "transport closed"}},
		{"hang-up while calling waits for a 1xx to cancel", flash,
			[]dialInput{onHangup, onTrying, onTerminated},
			[]string{"-", "cancel", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "hangup"}},
		{"hang-up while calling, then the ring cancels for it", flash,
			[]dialInput{onHangup, onRinging, onTerminated},
			[]string{"-", "cancel+report-ringing", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "rang"}},
		{"hang-up after a 100", flash,
			[]dialInput{onTrying, onHangup, onRinging, onTerminated},
			[]string{"-", "cancel", "report-ringing", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "hangup"}},
		{"timeout while calling after a hang-up abandons", flash,
			[]dialInput{onHangup, onTimeout},
			[]string{"-", "end"}, dialEnded,
			Event{Kind: EventTimeout, Reason: "no response"}},
		{"ring for: the timer, then the CANCEL", ringsFor,
			[]dialInput{onTrying, onRinging, onRingFor, onTerminated},
			[]string{"-", "ring-timer+report-ringing", "cancel", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "rang"}},
		{"ring for: a hang-up before the timer", ringsFor,
			[]dialInput{onRinging, onHangup, onRingFor, onTerminated},
			[]string{"ring-timer+report-ringing", "cancel", "-", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "hangup"}},
		{"ring for: no timer once cancelled", ringsFor,
			[]dialInput{onTrying, onHangup, onRinging, onTerminated},
			[]string{"-", "cancel", "report-ringing", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "hangup"}},
		{"ordinary call: rings on, answered, torn down", ordinary,
			[]dialInput{onRinging, onOk},
			[]string{"report-ringing", "ack-bye"}, dialEnded,
			Event{Kind: EventHungUp, Status: 200}},
		{"ordinary call: the timeout cancels a ringing call", ordinary,
			[]dialInput{onRinging, onTimeout, onTerminated},
			[]string{"report-ringing", "cancel", "end"}, dialEnded,
			Event{Kind: EventTimeout, Status: 487}},
		{"place: answered", place,
			[]dialInput{onTrying, onRinging, onOk},
			[]string{"-", "report-ringing", "confirm"}, dialEnded,
			Event{Kind: EventAnswered, Status: 200}},
		{"place: a 200 after a hang-up is torn down", place,
			[]dialInput{onRinging, onHangup, onOk},
			[]string{"report-ringing", "cancel", "ack-bye"}, dialEnded,
			Event{Kind: EventHungUp, Status: 200}},
		{"place: a hang-up asked while calling, answered at once", place,
			[]dialInput{onHangup, onOk},
			[]string{"-", "ack-bye"}, dialEnded,
			Event{Kind: EventHungUp, Status: 200}},
		{"place: declined", place,
			[]dialInput{onRinging, dialInput{Kind: inFinal, Status: 603, Reason: "Decline"}},
			[]string{"report-ringing", "end"}, dialEnded,
			Event{Kind: EventFailed, Status: 603, Reason: "Decline"}},
		{"challenge answered, then rings", authed,
			[]dialInput{onTrying, onChallenge, onTrying, onRinging, onTerminated},
			[]string{"-", "authorize", "-", "cancel+report-ringing", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 487, Reason: "rang"}},
		{"a challenge takes the call back to calling: no CANCEL before a 1xx", authed,
			[]dialInput{onTrying, onChallenge, onTimeout},
			[]string{"-", "authorize", "end"}, dialEnded,
			Event{Kind: EventTimeout, Reason: "no response"}},
		{"a challenge after the challenge answered", authed,
			[]dialInput{onChallenge, onChallenge},
			[]string{"authorize", "authorize"}, dialCalling, Event{}},
		{"challenges are bounded", authed,
			[]dialInput{onChallenge, onChallenge, onChallenge},
			[]string{"authorize", "authorize", "end"}, dialEnded,
			Event{Kind: EventFailed, Status: 407, Reason: "Proxy Authentication Required"}},
		{"no credentials: a challenge fails the call", flash,
			[]dialInput{onChallenge},
			[]string{"end"}, dialEnded,
			Event{Kind: EventFailed, Status: 407, Reason: "Proxy Authentication Required"}},
		{"no challenge answered after a hang-up", authed,
			[]dialInput{onTrying, onHangup, onChallenge},
			[]string{"-", "cancel", "end"}, dialEnded,
			Event{Kind: EventCancelled, Status: 407, Reason: "hangup"}},
		{"an ended call stays ended", flash,
			[]dialInput{onBusy, onRinging, onOk, onHangup, onTimeout},
			[]string{"end", "-", "-", "-", "-"}, dialEnded,
			Event{Kind: EventFailed, Status: 486, Reason: "Busy Here"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.actions) != len(tt.inputs) {
				t.Fatalf("bad table: %d inputs, %d actions", len(tt.inputs), len(tt.actions))
			}
			m := tt.m
			var end Event
			for i, in := range tt.inputs {
				before := m.State
				var st dialStep
				m, st = m.next(in)
				if got := st.Do.String(); got != tt.actions[i] {
					t.Fatalf("input %d (%+v) in %s: did %s, want %s", i, in, before, got, tt.actions[i])
				}
				if st.Do&(doEnd|doConfirm|doAckBye) != 0 {
					if end.Kind != "" {
						t.Fatalf("input %d (%+v) ended the call again", i, in)
					}
					end = st.End
				}
			}
			if m.State != tt.state {
				t.Errorf("state %s, want %s", m.State, tt.state)
			}
			if got := end; got != tt.end {
				t.Errorf("end %+v, want %+v", got, tt.end)
			}
		})
	}
}

// TestDialNextIsPure checks that next leaves the machine it is given
// alone, so that a step can be replayed.
func TestDialNextIsPure(t *testing.T) {
	m := dialMachine{RingFor: true}
	m, _ = m.next(onTrying)
	before := m
	_, st1 := m.next(onRinging)
	_, st2 := m.next(onRinging)
	if m != before || st1 != st2 {
		t.Fatalf("next changed its machine (%+v, was %+v) or stepped differently (%+v, %+v)", m, before, st1, st2)
	}
}

// BenchmarkDialMachine steps a flash call through the machine: a 100
// Trying, the 180 that sends the CANCEL, and the 487. It is what the
// state machine adds to a call's goroutine; it allocates nothing.
func BenchmarkDialMachine(b *testing.B) {
	inputs := []dialInput{onTrying, onRinging, onTerminated}
	b.ReportAllocs()
	for range b.N {
		m := dialMachine{}
		for _, in := range inputs {
			m, _ = m.next(in)
		}
		if m.State != dialEnded {
			b.Fatalf("state %s", m.State)
		}
	}
}
