package sipptest

import (
	"strings"
	"testing"
)

func TestInSocketTable(t *testing.T) {
	const udp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  783: 0100007F:3AFC 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123 2 0000000000000000 0
`
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:3AFC 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0 20 4 30 10 -1
   1: 0100007F:3AFE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
`
	tests := []struct {
		table string
		port  int
		tcp   bool
		want  string
	}{
		{udp, 0x3AFC, false, "123"},
		{udp, 0x3AFD, false, ""},
		{tcp, 0x3AFC, true, ""}, // established, not listening
		{tcp, 0x3AFE, true, "2"},
	}
	for _, tt := range tests {
		got, err := inSocketTable(strings.NewReader(tt.table), tt.port, tt.tcp)
		if err != nil || strings.Join(got, ",") != tt.want {
			t.Errorf("inSocketTable(port %d, tcp %v) = %q, %v; want %q", tt.port, tt.tcp, got, err, tt.want)
		}
	}
}
