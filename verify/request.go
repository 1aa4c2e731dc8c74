package verify

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/privacy"
)

// CreateRequest is an application's request for a verification.
type CreateRequest struct {
	Number     string `json:"number"`
	Method     string `json:"method"`
	Region     string `json:"region,omitempty"`
	CodeLength int    `json:"code_length,omitempty"`
	Platform   string `json:"platform,omitempty"`
	Reference  string `json:"reference,omitempty"`
	// Locale picks the language of spoken prompts (voice and keypad).
	Locale string `json:"locale,omitempty"`
	// Consent is the consent the application obtained: stored encrypted
	// and exported with the rest of the number's data.
	Consent *privacy.Consent `json:"consent,omitempty"`
	// Fallback are methods to try in turn when this one does not reach
	// the user (fallback.go): flashcall, sms or voice, at most 3.
	Fallback []string `json:"fallback,omitempty"`
}

// newRecord validates req into a fresh record of service.
func (s *Service) newRecord(req CreateRequest, service string) (*record, error) {
	if _, err := lookupMethod(req.Method); err != nil {
		return nil, err
	}
	method := Method(req.Method)
	set := s.settings(service)
	number, testCode, err := s.parseNumber(service, req.Number, req.Region)
	if err != nil {
		return nil, err
	}
	codeLen := set.CodeLength
	if testCode != "" {
		if req.CodeLength != 0 && req.CodeLength != len(testCode) {
			return nil, &api.InputError{Field: "code_length", Code: "out_of_range",
				Message: fmt.Sprintf("this test number's code has %d digits; leave code_length out or give %d", len(testCode), len(testCode))}
		}
		codeLen = len(testCode)
	} else if req.CodeLength != 0 {
		if req.CodeLength < conf.MinCodeLength || req.CodeLength > s.cfg.MaxCodeLength {
			return nil, &api.InputError{Field: "code_length", Code: "out_of_range",
				Message: fmt.Sprintf("code_length must be between %d and %d", conf.MinCodeLength, s.cfg.MaxCodeLength)}
		}
		codeLen = req.CodeLength
	}
	if len(req.Platform) > 32 {
		return nil, &api.InputError{Field: "platform", Code: "too_long", Message: "platform is at most 32 characters"}
	}
	if len(req.Locale) > 16 || strings.ContainsAny(req.Locale, "/\\. ") {
		return nil, &api.InputError{Field: "locale", Code: "invalid", Message: "locale is a language tag such as en or pt-BR"}
	}
	if len(req.Reference) > 128 {
		return nil, &api.InputError{Field: "reference", Code: "too_long", Message: "reference is at most 128 characters"}
	}
	now := s.now().UTC()
	if req.Consent != nil {
		if field, problem := req.Consent.Check(now); field != "" {
			return nil, &api.InputError{Field: field, Code: "invalid", Message: problem}
		}
	}
	fallback, err := checkFallback(method, req.Fallback)
	if err != nil {
		return nil, err
	}
	token := newToken()
	return &record{
		ID:          newID(),
		WatchToken:  token,
		WatchHash:   watchHash(token),
		Method:      method,
		Status:      StatusPending,
		Number:      number,
		NumberKey:   s.index(number),
		CodeLength:  codeLen,
		MaxAttempts: s.cfg.MaxAttempts,
		Platform:    req.Platform,
		Reference:   req.Reference,
		Consent:     req.Consent,
		Locale:      cmp.Or(req.Locale, set.Locale),
		Service:     service,
		Fallback:    fallback,
		Test:        testCode != "",
		Code:        testCode,
		Node:        s.cfg.Node,
		CreatedAt:   now,
		UpdatedAt:   now,
		ExpiresAt:   now.Add(s.cfg.Expiry),
		Events:      []Event{},
	}, nil
}
