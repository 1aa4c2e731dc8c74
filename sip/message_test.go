package sip

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// Text messages (SIP MESSAGE) to SIPp playing the carrier.

func TestSendTextToSIPp(t *testing.T) {
	tests := []struct {
		scenario, transport string
		kind                EventKind
		status              int
	}{
		{"uas_message.xml", "udp", EventSent, 202},
		{"uas_message.xml", "tcp", EventSent, 202},
		{"uas_message_forbidden.xml", "udp", EventFailed, 403},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/"+tt.transport, func(t *testing.T) {
			e := newTestEndpoint(t)
			const texts = 3
			opts := sipptest.Options{Scenario: tt.scenario, Calls: texts}
			if tt.transport == "tcp" {
				opts.Transport = "t1"
			}
			carrier := sipptest.Start(context.Background(), t, opts)
			codes := []string{"1234", "98765", "000111"}
			for i, code := range codes {
				m := Text{Trunk: Trunk{Name: "sipp", Address: carrier.Addr, Transport: tt.transport},
					From: testFrom, To: testTo, Body: "Your code is " + code + "."}
				ev := e.SendText(context.Background(), m, 10*time.Second)
				if ev.Kind != tt.kind || ev.Status != tt.status {
					t.Fatalf("text %d: %+v, want %s %d", i, ev, tt.kind, tt.status)
				}
			}
			waitSIPp(t, carrier)
			records, err := carrier.Log()
			if err != nil {
				t.Fatal(err)
			}
			if len(records) != texts {
				t.Fatalf("SIPp logged %d texts, want %d", len(records), texts)
			}
			for i, r := range records {
				if r.From != testFrom || r.To != testTo || r.Fields["content_type"] != "text/plain" || r.Fields["code"] != codes[i] {
					t.Errorf("text %d reached the carrier as %v, want from %s to %s, text/plain, code %s", i, r.Fields, testFrom, testTo, codes[i])
				}
			}
		})
	}
}

func TestSendTextRefusesBadTexts(t *testing.T) {
	e := newTestEndpoint(t)
	trunk := Trunk{Name: "t", Address: "127.0.0.1:9", Transport: "udp"}
	tests := []struct {
		name string
		m    Text
		want string
	}{
		{"recipient not E.164", Text{Trunk: trunk, From: testFrom, To: "07911123456", Body: "x"}, "E.164"},
		{"sender not E.164", Text{Trunk: trunk, From: "ringproof", To: testTo, Body: "x"}, "E.164"},
		{"empty body", Text{Trunk: trunk, From: testFrom, To: testTo}, "1 to 900 bytes"},
		{"body too long", Text{Trunk: trunk, From: testFrom, To: testTo, Body: strings.Repeat("x", 901)}, "1 to 900 bytes"},
		{"TLS without a listener", Text{Trunk: Trunk{Name: "t", Address: "127.0.0.1:9", Transport: "tls"}, From: testFrom, To: testTo, Body: "x"}, "TLS listener"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := e.SendText(context.Background(), tt.m, time.Second)
			if ev.Kind != EventFailed || !strings.Contains(ev.Reason, tt.want) {
				t.Fatalf("%+v, want failed naming %q", ev, tt.want)
			}
		})
	}
}

func TestSendTextTimesOutWithoutAnAnswer(t *testing.T) {
	e := newTestEndpoint(t)
	silent := newUDPCarrier(t) // reads nothing, answers nothing
	ev := e.SendText(context.Background(), Text{Trunk: Trunk{Name: "t", Address: silent.addr()}, From: testFrom, To: testTo, Body: "1234"}, 300*time.Millisecond)
	if ev.Kind != EventTimeout {
		t.Fatalf("%+v, want a timeout", ev)
	}
}

func TestHandsetTakesTextsAndRingproofRefusesThem(t *testing.T) {
	phone := newTestEndpoint(t)
	got := make(chan TextMessage, 1)
	phone.ServeTexts(func(m TextMessage) { got <- m })
	e := newTestEndpoint(t)
	body := "Your verification code is 4321 – ünïcode kept"
	ev := e.SendText(context.Background(), Text{Trunk: Trunk{Name: "phone", Address: phone.Addr().String()}, From: testFrom, To: testTo, Body: body}, 5*time.Second)
	if ev.Kind != EventSent || ev.Status != 200 {
		t.Fatalf("to the handset: %+v, want sent 200", ev)
	}
	select {
	case m := <-got:
		if m.From != testFrom || m.To != testTo || m.Body != body {
			t.Fatalf("the handset got %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handset never reported the text")
	}
	// An endpoint that does not serve texts (ringproof itself) answers 405.
	ev = e.SendText(context.Background(), Text{Trunk: Trunk{Name: "ringproof", Address: newTestEndpoint(t).Addr().String()}, From: testFrom, To: testTo, Body: "hi"}, 5*time.Second)
	if ev.Kind != EventFailed || ev.Status != 405 {
		t.Fatalf("to an endpoint without texts: %+v, want failed 405", ev)
	}
}

func TestInboundTextsAreCheckedBeforeTheHandler(t *testing.T) {
	e := newTestEndpoint(t)
	got := make(chan string, 4)
	e.ServeInboundTexts([]InboundTrunk{{Name: "t", Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}},
		func(_ context.Context, in *Inbound, body []byte) int {
			got <- in.CallerID + ":" + string(body)
			return 202
		})
	sender := newTestEndpoint(t)
	to := Trunk{Name: "ringproof", Address: e.Addr().String()}
	if ev := sender.SendText(context.Background(), Text{Trunk: to, From: testFrom, To: testTo, Body: "hi 42"}, 5*time.Second); ev.Kind != EventSent || ev.Status != 202 {
		t.Fatalf("a text from a trunk: %+v, want 202", ev)
	}
	if m := <-got; m != testFrom+":hi 42" {
		t.Fatalf("the handler got %q", m)
	}
	// From an address no trunk allows: 403, and the handler never sees it.
	other, err := Listen(context.Background(), Options{Listen: "127.0.0.2:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if ev := other.SendText(context.Background(), Text{Trunk: to, From: testFrom, To: testTo, Body: "hi"}, 5*time.Second); ev.Status != 403 {
		t.Fatalf("a text from outside the trunks: %+v, want 403", ev)
	}
	if len(got) != 0 {
		t.Fatalf("the handler saw %q", <-got)
	}
}
