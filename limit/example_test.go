package limit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/store"
)

// ExampleLimiter_Reserve counts a per-number limit inside the transaction
// that creates a record: the record is written only if the number has an
// event left, and the event is taken only if the record is written.
func ExampleLimiter_Reserve() {
	var st *store.Store // an open store
	perNumber := limit.New(st, "ratelimit/number/", limit.PerHour(10))
	create := func(ctx context.Context, numberKey, recordKey string, record []byte) error {
		for range 8 {
			r, err := perNumber.Reserve(ctx, numberKey)
			if err != nil {
				return err
			}
			if !r.OK() {
				return fmt.Errorf("retry in %d s", limit.RetryAfterSeconds(r.RetryAfter()))
			}
			t := store.Txn{
				If:   []store.Cmp{store.IfAbsent(recordKey)},
				Then: []store.Op{store.OpPut(recordKey, record, 10*time.Minute)},
			}
			r.AddTo(&t)
			res, err := st.Apply(ctx, t)
			if err != nil {
				return err
			}
			if r.Settle(res) {
				continue // another node took from the number meanwhile
			}
			if !res.OK {
				return errors.New("the record exists") // nothing was taken
			}
			return nil
		}
		return limit.ErrConflict
	}
	_ = create
}
