package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

func TestZZSameDirTwice(t *testing.T) {
	c := storetest.Config(t)
	storetest.Open(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	s, err := store.Open(ctx, c, nil)
	t.Logf("second Open after %v: %v", time.Since(start), err)
	if err == nil {
		s.Close()
	}
}
