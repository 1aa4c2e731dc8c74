package webhook

import (
	"errors"
	"testing"
	"time"
)

// The fixture was computed apart, with Python's hmac module.
const (
	fixtureSecret = "whsec_0123456789abcdef"
	fixtureBody   = `{"id":"evt_1"}`
	fixtureHeader = "t=1767225600,v1=ffc78581be44d2a6839318f4bc2a763bd44c8b0acf595e90f290be114a84a5f0"
)

var fixtureTime = time.Unix(1767225600, 0)

func TestSignMatchesFixture(t *testing.T) {
	if got := Sign([]byte(fixtureSecret), fixtureTime, []byte(fixtureBody)); got != fixtureHeader {
		t.Fatalf("Sign = %s\nwant   %s", got, fixtureHeader)
	}
}

func TestVerify(t *testing.T) {
	secret, body := []byte(fixtureSecret), []byte(fixtureBody)
	for _, c := range []struct {
		name   string
		secret []byte
		header string
		body   string
		now    time.Time
		want   error
	}{
		{"good", secret, fixtureHeader, fixtureBody, fixtureTime.Add(time.Minute), nil},
		{"a rotated secret listed second", secret, "t=1767225600,v1=00ff,v1=ffc78581be44d2a6839318f4bc2a763bd44c8b0acf595e90f290be114a84a5f0", fixtureBody, fixtureTime, nil},
		{"body changed", secret, fixtureHeader, `{"id":"evt_2"}`, fixtureTime, ErrSignature},
		{"another secret", []byte("whsec_other_secret_"), fixtureHeader, fixtureBody, fixtureTime, ErrSignature},
		{"time changed", secret, "t=1767225601,v1=ffc78581be44d2a6839318f4bc2a763bd44c8b0acf595e90f290be114a84a5f0", fixtureBody, fixtureTime, ErrSignature},
		{"too old", secret, fixtureHeader, fixtureBody, fixtureTime.Add(6 * time.Minute), ErrTooOld},
		{"from the future", secret, fixtureHeader, fixtureBody, fixtureTime.Add(-6 * time.Minute), ErrTooOld},
		{"no v1", secret, "t=1767225600", fixtureBody, fixtureTime, ErrNoSignature},
		{"no t", secret, "v1=ffc78581be44d2a6839318f4bc2a763bd44c8b0acf595e90f290be114a84a5f0", fixtureBody, fixtureTime, ErrNoSignature},
		{"empty", secret, "", fixtureBody, fixtureTime, ErrNoSignature},
	} {
		_ = body
		if err := Verify(c.secret, c.header, []byte(c.body), c.now, 5*time.Minute); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

// TestBackoffSchedule: the first retry comes within 10 s, each wait
// doubles up to an hour, and a delivery that always fails is tried for at
// least 24 hours, then dropped.
func TestBackoffSchedule(t *testing.T) {
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}
	for i, w := range want {
		if got := Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := Backoff(30); got != time.Hour {
		t.Errorf("Backoff(30) = %v, want the cap, 1h", got)
	}
	for range 1000 {
		if d := jitter(Backoff(1)); d > 10*time.Second || d < 4*time.Second {
			t.Fatalf("first retry after %v", d)
		}
	}
	created := fixtureTime
	now, attempts := created, 0
	for {
		attempts++
		at, retry := next(created, now, attempts)
		if !retry {
			break
		}
		if at.Sub(now) <= 0 {
			t.Fatalf("attempt %d: retry at %v, not after %v", attempts, at, now)
		}
		now = at
		if attempts > 100 {
			t.Fatal("never dropped")
		}
	}
	if tried := now.Sub(created); tried < 24*time.Hour || tried > 26*time.Hour {
		t.Fatalf("last attempt %v after the first", tried)
	}
	if attempts < 20 || attempts > 40 {
		t.Fatalf("%d attempts in a day", attempts)
	}
}
