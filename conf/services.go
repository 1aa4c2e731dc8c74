package conf

import (
	"slices"
	"strconv"
	"strings"
)

// Service is one application served by the deployment (services), as
// Twilio's Verify Services are: its API keys, and the settings that
// override the global ones for its requests. Its verifications, listings,
// webhooks and metrics are its own, and its keys never see another
// service's verifications.
type Service struct {
	// Name names the service in records, listings, metrics and errors:
	// letters, digits, - and _, at most 64, unique; "default" is the
	// implicit service of http.api_keys. Required.
	Name string `yaml:"name"`
	// APIKeys are the service's bearer tokens; each belongs to one
	// service and is no http.api_keys or admin key. At least one.
	APIKeys []string `yaml:"api_keys"`
	// CodeLength overrides flashcall.code_length. Default 0: that one.
	CodeLength int `yaml:"code_length"`
	// Methods are the methods the service may create verifications (and
	// fallbacks) with. Default empty: every method.
	Methods []string `yaml:"methods"`
	// SMSText overrides sms.text. Default empty: that one.
	SMSText string `yaml:"sms_text"`
	// Locale overrides media.default_locale. Default empty: that one.
	Locale string `yaml:"locale"`
	// Webhooks, when set, replace the top-level webhooks for the
	// service's verifications. Default empty: the top-level ones.
	Webhooks []Webhook `yaml:"webhooks"`
	// Limits override the top-level limits for the service's requests,
	// each one set (above 0) with a budget of the service's own. Default
	// 0: the top-level limit and its budget.
	Limits Limits `yaml:"limits"`
	// TestNumbers are the service's test numbers, besides the top-level
	// ones; their codes have the service's code length.
	TestNumbers []TestNumber `yaml:"test_numbers"`
}

// DefaultService names the implicit service: the one of http.api_keys,
// and the only one without services.
const DefaultService = "default"

// ServiceCodeLength is the code length of service s: its own, or
// flashcall.code_length.
func (c *Config) ServiceCodeLength(s Service) int {
	if s.CodeLength != 0 {
		return s.CodeLength
	}
	return c.FlashCall.CodeLength
}

// validServiceName reports whether name is letters, digits, - and _, 1 to
// 64 of them.
func validServiceName(name string) bool {
	return name != "" && len(name) <= 64 && !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
}

func (c *Config) validateServices(v *validator) {
	names := map[string]int{}
	keys := map[string]string{} // key -> the path that holds it first
	for i, k := range c.HTTP.APIKeys {
		keys[k] = "http.api_keys[" + strconv.Itoa(i) + "]"
	}
	for i, s := range c.Services {
		at := "services[" + strconv.Itoa(i) + "]"
		switch j, dup := names[s.Name]; {
		case !validServiceName(s.Name):
			v.add(at+".name", "%q is not a service name: letters, digits, - and _, 1 to 64", s.Name)
		case s.Name == DefaultService:
			v.add(at+".name", "%q is the implicit service of http.api_keys; name this one otherwise", s.Name)
		case dup:
			v.add(at+".name", "%q is also the name of services[%d]", s.Name, j)
		default:
			names[s.Name] = i
		}
		if len(s.APIKeys) == 0 {
			v.add(at+".api_keys", "at least one key is required")
		}
		for j, k := range s.APIKeys {
			key := at + ".api_keys[" + strconv.Itoa(j) + "]"
			if p := bearerProblem(k); p != "" {
				v.add(key, "%s", p)
				continue
			}
			if first, dup := keys[k]; dup {
				// Never quote the key: it is a secret.
				v.add(key, "is also %s; a key belongs to one service", first)
				continue
			}
			keys[k] = key
			if slices.ContainsFunc(c.HTTP.AdminKeys, func(a AdminKey) bool { return a.Key == k }) {
				v.add(key, "is also an admin key (http.admin_keys)")
			}
		}
		if s.CodeLength != 0 {
			v.between(at+".code_length", int64(s.CodeLength), MinCodeLength, MaxCodeLength)
		}
		for j, m := range s.Methods {
			if !slices.Contains(verificationMethods, m) {
				v.add(at+".methods["+strconv.Itoa(j)+"]", "%q is not a method; methods: %s", m, strings.Join(verificationMethods, ", "))
			}
		}
		if s.SMSText != "" {
			v.smsText(at+".sms_text", s.SMSText)
		}
		if s.Locale != "" && !localeTag.MatchString(s.Locale) {
			v.add(at+".locale", "%q is not a locale tag such as en or pt-BR", s.Locale)
		}
		validateWebhooks(v, at+".webhooks", s.Webhooks)
		v.limits(at+".limits", s.Limits)
		lengthKey := "flashcall.code_length"
		if s.CodeLength != 0 {
			lengthKey = at + ".code_length"
		}
		v.testNumbers(at+".test_numbers", s.TestNumbers, c.ServiceCodeLength(s), lengthKey)
	}
	for i, pk := range c.HTTP.PublishableKeys {
		if _, ok := names[pk.Service]; pk.Service != "" && pk.Service != DefaultService && !ok {
			v.add("http.publishable_keys["+strconv.Itoa(i)+"].service", "%q names no service (services[].name, or %s)", pk.Service, DefaultService)
		}
	}
}

// ServiceOf returns the service named name, and false if none is (the
// implicit one included).
func (c *Config) ServiceOf(name string) (Service, bool) {
	for _, s := range c.Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// APIKeys returns every API key, those of http.api_keys and those of
// services, and beside each the name of its service (DefaultService for
// http.api_keys).
func (c *Config) APIKeys() (keys, services []string) {
	for _, k := range c.HTTP.APIKeys {
		keys, services = append(keys, k), append(services, DefaultService)
	}
	for _, s := range c.Services {
		for _, k := range s.APIKeys {
			keys, services = append(keys, k), append(services, s.Name)
		}
	}
	return keys, services
}
