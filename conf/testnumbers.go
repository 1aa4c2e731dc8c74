package conf

import (
	"strconv"
)

// TestNumber is a number developers verify in their own CI
// (test_numbers): a create for it places no call and sends no text, its
// fixed code verifies it, and it counts against no rate limit.
type TestNumber struct {
	// Number is E.164 ("+15005550006"); it need not be a number
	// libphonenumber knows, since nothing is ever dialled.
	Number string `yaml:"number"`
	// Code is the code that verifies it: code_length digits
	// (flashcall.code_length, or its service's code_length).
	Code string `yaml:"code"`
}

// TestCodes returns test numbers as a map from number to code; nil when
// there are none.
func TestCodes(list []TestNumber) map[string]string {
	if len(list) == 0 {
		return nil
	}
	out := make(map[string]string, len(list))
	for _, t := range list {
		out[t.Number] = t.Code
	}
	return out
}

// testNumbers checks list, the value of key path name: each number
// E.164 and listed once, each code codeLength digits (lengthKey being the
// key that sets codeLength).
func (v *validator) testNumbers(name string, list []TestNumber, codeLength int, lengthKey string) {
	seen := map[string]int{}
	for i, t := range list {
		key := name + "[" + strconv.Itoa(i) + "]"
		if _, _, err := parseE164(t.Number); err != nil {
			v.add(key+".number", "%v", err)
		} else if j, dup := seen[t.Number]; dup {
			v.add(key+".number", "%q is also %s[%d].number", t.Number, name, j)
		} else {
			seen[t.Number] = i
		}
		// The code is a test fixture, not a secret: it may be quoted.
		if !allDigits(t.Code) || len(t.Code) != codeLength {
			v.add(key+".code", "%q must be %d digits, as %s says", t.Code, codeLength, lengthKey)
		}
	}
}
