package media

import (
	"errors"
	"testing"
)

func TestParseDTMFInfo(t *testing.T) {
	tests := []struct {
		contentType, body string
		want              Digit
		err               error
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', nil},
		{"application/dtmf-relay", "Signal=#\r\nDuration=250", '#', nil},
		{"Application/DTMF-Relay; charset=utf-8", "signal = *\nduration=100\n", '*', nil},
		{"application/dtmf-relay", "Duration=160\r\nSignal=d\r\n", 'D', nil},
		{"application/dtmf-relay", "Signal=11\r\nDuration=160", '#', nil},
		{"application/dtmf-relay", "Signal=10", '*', nil},
		{"application/dtmf", "5", '5', nil},
		{"application/dtmf", " 0\r\n", '0', nil},
		{"application/dtmf", "A", 'A', nil},
		{"application/dtmf-relay", "Duration=160", 0, ErrDTMFInfoBody},
		{"application/dtmf-relay", "Signal=\r\n", 0, ErrDTMFInfoBody},
		{"application/dtmf-relay", "Signal=16", 0, ErrDTMFInfoBody},
		{"application/dtmf-relay", "Signal=55", 0, ErrDTMFInfoBody},
		{"application/dtmf", "", 0, ErrDTMFInfoBody},
		{"application/dtmf", "x", 0, ErrDTMFInfoBody},
		{"application/sdp", "v=0", 0, ErrDTMFInfoType},
		{"", "5", 0, ErrDTMFInfoType},
		{"application/media_control+xml", "<x/>", 0, ErrDTMFInfoType},
	}
	for _, tt := range tests {
		got, err := ParseDTMFInfo(tt.contentType, []byte(tt.body))
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseDTMFInfo(%q, %q) = %v, %v; want %v, %v", tt.contentType, tt.body, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseDTMFInfo(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160"))
	f.Add("application/dtmf", []byte("#"))
	// As SIPp sends them (testdata/sipp/uac_call_info.xml), and as
	// gateways do: spaces after '=', LF line ends, event codes for * and #,
	// lower-case letters, a charset parameter.
	f.Add("application/dtmf-relay", []byte("Signal=#\r\nDuration=160\r\n"))
	f.Add("application/dtmf-relay", []byte("Signal= 1\nDuration= 250\n"))
	f.Add("application/dtmf-relay", []byte("Signal=10\r\nDuration=100\r\n"))
	f.Add("Application/DTMF-Relay; charset=utf-8", []byte("signal=d\r\n"))
	f.Add("application/dtmf-relay", []byte("Duration=160\r\n"))
	f.Add("application/dtmf", []byte(" 11 \r\n"))
	f.Add("application/media_control+xml", []byte("<media_control><vc_primitive><to_encoder><picture_fast_update/></to_encoder></vc_primitive></media_control>"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		d, err := ParseDTMFInfo(ct, body)
		if err == nil && !d.Valid() {
			t.Fatalf("invalid key %v without error", d)
		}
	})
}
