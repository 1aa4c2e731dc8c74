package privacy

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, EncryptionKeySize) }

func TestKeyringWrapsPerNumber(t *testing.T) {
	r, err := NewKeyring(key(1))
	if err != nil {
		t.Fatal(err)
	}
	dk := bytes.Repeat([]byte{7}, dataKeySize)
	w := r.wrap("nk1", dk)
	if bytes.Contains(w, dk) || w[0] != wrapVersion {
		t.Fatalf("wrapped key %x", w)
	}
	if bytes.Equal(w, r.wrap("nk1", dk)) {
		t.Fatal("two wraps share a nonce")
	}
	got, current, err := r.unwrap("nk1", w)
	if err != nil || !current || !bytes.Equal(got, dk) {
		t.Fatalf("unwrap: %x %v %v", got, current, err)
	}
	if _, _, err := r.unwrap("nk2", w); !errors.Is(err, ErrBadCiphertext) {
		t.Fatalf("a key moved to another number unwrapped: %v", err)
	}
	w[len(w)-1] ^= 1
	if _, _, err := r.unwrap("nk1", w); !errors.Is(err, ErrBadCiphertext) {
		t.Fatalf("altered key unwrapped: %v", err)
	}
	if _, err := NewKeyring(make([]byte, 16)); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestKeyringRotation(t *testing.T) {
	old, _ := NewKeyring(key(1))
	dk := bytes.Repeat([]byte{7}, dataKeySize)
	w := old.wrap("nk", dk)

	rotated, err := NewKeyring(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	got, current, err := rotated.unwrap("nk", w)
	if err != nil || current || !bytes.Equal(got, dk) {
		t.Fatalf("old key after rotation: %v current=%v", err, current)
	}
	if rotated.KeyID() == old.KeyID() {
		t.Fatal("two keys share an id")
	}
	dropped, _ := NewKeyring(key(2))
	if _, _, err := dropped.unwrap("nk", w); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("without the old key: %v, want ErrUnknownKey", err)
	}
}

func TestSealPersonalIsBoundToTheRecord(t *testing.T) {
	k, err := newKey("nk", bytes.Repeat([]byte{9}, dataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	p := Personal{Number: "+447911123456", Reference: "user-1", Consent: &Consent{Purpose: "sign-up", GivenAt: time.Unix(1e9, 0).UTC()}}
	sealed, err := k.SealPersonal("v1", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"7911123456", "user-1", "sign-up"} {
		if bytes.Contains(sealed, []byte(s)) {
			t.Fatalf("sealed data shows %q", s)
		}
	}
	got, err := k.OpenPersonal("v1", sealed)
	if err != nil || got.Number != p.Number || got.Reference != p.Reference || !got.Consent.GivenAt.Equal(p.Consent.GivenAt) {
		t.Fatalf("open: %+v %v", got, err)
	}
	if _, err := k.OpenPersonal("v2", sealed); !errors.Is(err, ErrBadCiphertext) {
		t.Fatalf("sealed data moved to another record opened: %v", err)
	}
	other, _ := newKey("nk", bytes.Repeat([]byte{8}, dataKeySize))
	if _, err := other.OpenPersonal("v1", sealed); !errors.Is(err, ErrBadCiphertext) {
		t.Fatalf("another data key opened it: %v", err)
	}
}

func TestConsentCheck(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		c     Consent
		field string
	}{
		{Consent{Purpose: "sign-up", GivenAt: now.Add(-time.Hour)}, ""},
		{Consent{Purpose: "sign-up", GivenAt: now.Add(30 * time.Second)}, ""},
		{Consent{Purpose: " ", GivenAt: now}, "consent.purpose"},
		{Consent{Purpose: string(bytes.Repeat([]byte("x"), MaxPurpose+1)), GivenAt: now}, "consent.purpose"},
		{Consent{Purpose: "a\x00b", GivenAt: now}, "consent.purpose"},
		{Consent{Purpose: "sign-up"}, "consent.given_at"},
		{Consent{Purpose: "sign-up", GivenAt: now.Add(time.Hour)}, "consent.given_at"},
	}
	for _, tt := range tests {
		if field, _ := tt.c.Check(now); field != tt.field {
			t.Errorf("Check(%+v) names %q, want %q", tt.c, field, tt.field)
		}
	}
}

func TestSubjectIsNotTheIndexKey(t *testing.T) {
	x, _ := NewIndex(bytes.Repeat([]byte{1}, KeySize))
	n := "+447911123456"
	if x.Subject(n) == x.Of(n) || x.Subject(n) != x.Subject(n) || len(x.Subject(n)) != 32 {
		t.Fatalf("Subject %q, Of %q", x.Subject(n), x.Of(n))
	}
}
