package verify

import (
	"crypto/rand"
	"math/big"
)

// newCode returns n random decimal digits from crypto/rand, every code
// equally likely.
func newCode(n int) string {
	b := make([]byte, n)
	ten := big.NewInt(10)
	for i := range b {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			panic("verify: crypto/rand failed: " + err.Error())
		}
		b[i] = byte('0' + d.Int64())
	}
	return string(b)
}

// generatedCode is the code part of the methods whose code ringproof makes
// up (voice and keypad): a random code of code_length digits, kept in the
// record.
type generatedCode struct{}

func (generatedCode) code(r *record) string { return r.Code }

// digitsOf returns the prompt names that speak code: one per digit.
func digitsOf(code string) []string {
	out := make([]string, len(code))
	for i := range code {
		out[i] = code[i : i+1]
	}
	return out
}
