package verify

import (
	"context"
	"fmt"
	"slices"

	"github.com/ringproof/ringproof/api"
)

// Services (services in the configuration) are the applications one
// deployment serves. Each verification belongs to the service of the key
// that created it (record.Service; a fallback link to its chain's), whose
// settings apply to it; a request served for another service (the
// service in its context, api.ServiceFrom) finds it absent: GET, check,
// hang-up, the event stream by API key and listings alike. Work the
// server does by itself, and event streams followed by watch token, carry
// no service and see every verification.

// ServiceSettings are what a service overrides for its verifications;
// zero fields take the service's global settings.
type ServiceSettings struct {
	// CodeLength is the code length when a create asks for none.
	CodeLength int
	// Methods are the methods it may create (fallbacks included); nil:
	// every method.
	Methods []Method
	// SMSText is the sms method's message, {code} standing for the code.
	SMSText string
	// Locale is the language of spoken prompts when a create names none.
	Locale string
	// TestNumbers are its own test numbers, by E.164, with their codes,
	// besides Config.TestNumbers.
	TestNumbers map[string]string
}

// serviceOf names the service ctx serves: the implicit one when none.
func serviceOf(ctx context.Context) string {
	if name, ok := api.ServiceFrom(ctx); ok {
		return name
	}
	return api.DefaultService
}

// settings returns the settings of service name, the global ones filled
// in.
func (s *Service) settings(name string) ServiceSettings {
	out := s.cfg.Services[name]
	if out.CodeLength == 0 {
		out.CodeLength = s.cfg.CodeLength
	}
	if out.SMSText == "" {
		out.SMSText = s.cfg.SMSText
	}
	return out
}

// testCode returns the code of number if it is a test number of service
// name (its own, or a global one).
func (s *Service) testCode(name, number string) (string, bool) {
	if code, ok := s.cfg.Services[name].TestNumbers[number]; ok {
		return code, true
	}
	code, ok := s.cfg.TestNumbers[number]
	return code, ok
}

// allowMethods refuses a create whose method or fallbacks service name
// may not use.
func (s *Service) allowMethods(name string, req CreateRequest) error {
	allowed := s.cfg.Services[name].Methods
	if allowed == nil {
		return nil
	}
	if req.Method != "" && !slices.Contains(allowed, Method(req.Method)) {
		return &MethodError{Field: "method", Message: fmt.Sprintf("the service %s may not create %s verifications; it may create: %s", name, req.Method, joinMethods(allowed))}
	}
	for _, m := range req.Fallback {
		if !slices.Contains(allowed, Method(m)) {
			return &MethodError{Field: "fallback", Message: fmt.Sprintf("the service %s may not fall back to %s; it may use: %s", name, m, joinMethods(allowed))}
		}
	}
	return nil
}

// MethodError is a create refused because its service may not use a
// method it names: 403 method_not_allowed, naming Field.
type MethodError struct {
	Field, Message string
}

func (e *MethodError) Error() string { return e.Message }

// visible reports whether r may be seen by the request ctx carries.
func visible(ctx context.Context, r *record) bool { return api.SameService(ctx, r.Service) }
