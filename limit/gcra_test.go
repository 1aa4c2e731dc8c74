package limit

import (
	"testing"
	"time"
)

func TestTake(t *testing.T) {
	const s = int64(time.Second)
	now := 1000 * s
	tests := []struct {
		name    string
		rate    Rate
		tat     int64
		n       int
		upTo    bool // takeUpTo: as many of n as the budget holds
		granted int
		tatNext int64
		wait    time.Duration
	}{
		{"no state is a full budget", PerMinute(3), 0, 1, false, 1, now + 20*s, 0},
		{"a TAT in the past is a full budget", PerMinute(3), now - 500*s, 1, false, 1, now + 20*s, 0},
		{"the whole burst at once", PerMinute(3), 0, 3, false, 3, now + 60*s, 0},
		{"more than is left: none", PerMinute(3), now + 50*s, 2, false, 0, 0, 30 * time.Second},
		{"second of two left", PerMinute(3), now + 20*s, 1, false, 1, now + 40*s, 0},
		{"last one left", PerMinute(3), now + 40*s, 1, false, 1, now + 60*s, 0},
		{"budget spent: wait one interval", PerMinute(3), now + 60*s, 1, false, 0, 0, 20 * time.Second},
		{"budget nearly back", PerMinute(3), now + 41*s, 1, false, 0, 0, time.Second},
		{"one an hour, just taken", PerHour(1), now + 3600*s, 1, false, 0, 0, time.Hour},
		{"one an hour, half way", PerHour(1), now + 1800*s, 1, false, 0, 0, 30 * time.Minute},
		{"one an hour, due now", PerHour(1), now, 1, false, 1, now + 3600*s, 0},
		{"sub-second interval", PerSecond(1000), now + s - int64(time.Millisecond), 1, false, 1, now + s, 0},
		{"sub-second interval spent", PerSecond(1000), now + s, 1, false, 0, 0, time.Millisecond},
		{"batch: full budget, small batch", PerSecond(100), 0, 10, true, 10, now + s/10, 0},
		{"batch: full budget, whole burst", PerSecond(100), 0, 100, true, 100, now + s, 0},
		{"batch: what is left", PerSecond(100), now + 97*s/100, 10, true, 3, now + s, 0},
		{"batch: nothing left", PerSecond(100), now + s, 10, true, 0, 0, 10 * time.Millisecond},
		{"batch: nothing left, a part of an interval to go", PerSecond(100), now + s + 5*s/1000, 10, true, 0, 0, 15 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.rate.take(tt.tat, now, tt.n)
			if tt.upTo {
				d = tt.rate.takeUpTo(tt.tat, now, tt.n)
			}
			if d.granted != tt.granted || d.tat != tt.tatNext || d.wait != tt.wait {
				t.Errorf("take %d (up to: %v) = granted %d, tat now%+v, wait %v; want granted %d, tat now%+v, wait %v",
					tt.n, tt.upTo, d.granted, time.Duration(d.tat-now), d.wait, tt.granted, time.Duration(tt.tatNext-now), tt.wait)
			}
		})
	}
}

// TestTakeSustained checks the algorithm's promise over a long run: a
// subject that asks as often as it likes gets Count events per Period on
// average, a full burst first, and each refusal's wait is exactly the time
// to its next grant.
func TestTakeSustained(t *testing.T) {
	r := PerMinute(6)
	var tat int64
	now := int64(0)
	step := int64(time.Second)
	granted := 0
	var waitUntil int64 = -1
	for ; now <= int64(10*time.Minute); now += step {
		d := r.take(tat, now, 1)
		if d.granted == 0 {
			if waitUntil < 0 {
				waitUntil = now + int64(d.wait)
			}
			continue
		}
		if waitUntil >= 0 && now != waitUntil {
			t.Fatalf("granted at %v, but the refusal said %v", time.Duration(now), time.Duration(waitUntil))
		}
		waitUntil = -1
		tat = d.tat
		granted++
	}
	// 6 at once, then one every 10 s for 10 minutes: 6 + 60.
	if granted != 66 {
		t.Errorf("granted %d in 10 minutes, want 66", granted)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		want int64
	}{
		{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {59*time.Second + 500*time.Millisecond, 60}, {time.Hour, 3600},
	} {
		if got := RetryAfterSeconds(tt.wait); got != tt.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tt.wait, got, tt.want)
		}
	}
}

func TestUnlimited(t *testing.T) {
	for _, r := range []Rate{{}, {Count: 5}, {Period: time.Second}, {Count: -1, Period: time.Second}} {
		if !r.Unlimited() {
			t.Errorf("%#v is a limit, want none", r)
		}
	}
	if PerMinute(1).Unlimited() {
		t.Error("PerMinute(1) is unlimited")
	}
}
