package verify

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ringproof/ringproof/api"
)

// A made-up method, "test", that verifies with a fixed code and reaches
// nobody. It is here to show that a method is one file (this one) and
// one line in the registry (in useMadeUpMethod): nothing else in verify
// names it, and what verify does with it follows from its traits.

const methodMadeUp Method = "test"

// madeUpCode is the code of every "test" verification, cut to its
// code_length.
const madeUpCode = "424242"

type madeUp struct{}

func (madeUp) traits() traits                                   { return traits{delivers: byText} }
func (madeUp) prepare(context.Context, *Service, *record) error { return nil }
func (madeUp) start(*Service, *record) error                    { return nil }
func (madeUp) code(r *record) string                            { return madeUpCode[:r.CodeLength] }

// useMadeUpMethod registers the method for one test.
func useMadeUpMethod(t *testing.T) {
	methods[methodMadeUp] = madeUp{}
	t.Cleanup(func() { delete(methods, methodMadeUp) })
}

func TestMadeUpMethodIsOneFile(t *testing.T) {
	useMadeUpMethod(t)
	svc, _ := newTestService(t, Config{})
	ctx := context.Background()
	if !slices.Contains(Methods(), string(methodMadeUp)) {
		t.Fatalf("Methods() = %v, without the registered method", Methods())
	}
	v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: string(methodMadeUp), CodeLength: 4})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != StatusPending || v.Code != "" {
		t.Fatalf("created %+v: want pending, its code not shown", v)
	}
	res, err := svc.Check(ctx, v.ID, "0000")
	if err != nil || res.Status != StatusPending || res.AttemptsLeft != 2 {
		t.Fatalf("wrong code: %+v, %v", res, err)
	}
	res, err = svc.Check(ctx, v.ID, "4242")
	if err != nil || res.Status != StatusVerified {
		t.Fatalf("right code: %+v, %v", res, err)
	}
	// Its traits say it cannot be a link of a chain, and may have one.
	var in *api.InputError
	_, err = svc.Create(ctx, CreateRequest{Number: "+447911123457", Method: "flashcall", Fallback: []string{string(methodMadeUp)}})
	if !errors.As(err, &in) || in.Field != "fallback" || in.Code != "unsupported" {
		t.Fatalf("fallback to it: %v, want unsupported fallback", err)
	}
	if _, err := svc.Create(ctx, CreateRequest{Number: "+447911123458", Method: string(methodMadeUp), Fallback: []string{"sms"}}); err != nil {
		t.Fatalf("it names a fallback: %v", err)
	}
}
