package store

import (
	"testing"
	"time"
)

func TestCeilTime(t *testing.T) {
	base := time.Unix(1_800_000_000, 0) // a multiple of 5 s
	tests := []struct {
		in   time.Time
		want time.Time
	}{
		{base, base},
		{base.Add(time.Nanosecond), base.Add(5 * time.Second)},
		{base.Add(4999 * time.Millisecond), base.Add(5 * time.Second)},
		{base.Add(-time.Nanosecond), base},
	}
	for _, tt := range tests {
		if got := ceilTime(tt.in, 5*time.Second); !got.Equal(tt.want) {
			t.Errorf("ceilTime(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestLeaseSeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int64
	}{
		{0, 2},
		{time.Second, 2},
		{2 * time.Second, 2},
		{2*time.Second + time.Nanosecond, 3},
		{time.Minute, 60},
	}
	for _, tt := range tests {
		if got := leaseSeconds(tt.in); got != tt.want {
			t.Errorf("leaseSeconds(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
