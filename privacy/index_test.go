package privacy

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestIndexIsKeyedAndStable(t *testing.T) {
	a, err := NewIndex(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewIndex(bytes.Repeat([]byte{2}, KeySize))
	n := "+447911123456"
	if a.Of(n) != a.Of(n) {
		t.Fatal("index not deterministic")
	}
	if a.Of(n) == b.Of(n) {
		t.Fatal("index does not depend on the key")
	}
	if a.Of(n) == a.Of("+447911123457") {
		t.Fatal("two numbers share an index")
	}
	if got := a.Of(n); len(got) != 32 || strings.Contains(got, "7911123456") {
		t.Fatalf("index %q: want 32 hex digits that hide the number", got)
	}
	if _, err := NewIndex(make([]byte, 8)); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestLoadOrCreateKeyPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "index.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("first call: %v created=%v len=%d", err, created, len(k1))
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second call: %v created=%v same=%v", err, created, bytes.Equal(k1, k2))
	}
}
