package conf

// Defaults for trunk fields that a config file may leave out.
const (
	defaultTransport       = "udp"
	defaultMaxCPS          = 100
	defaultWeight          = 1
	defaultResponseTimeout = 5
	defaultRegisterExpires = 3600
	defaultOptionsPing     = 30
)

// defaultFailoverOn is what moves a call on to the next trunk unless a
// trunk says otherwise: the statuses of a carrier that cannot take the call
// now, and no response at all.
func defaultFailoverOn() []string {
	return []string{"408", "480", "500", "502", "503", "504", "timeout"}
}

// Default returns the built-in configuration, a new copy on every call:
// what `ringproof serve` runs with when given no --config, and what every
// file given to Load starts from. It passes Validate. It holds a well-known
// development API key, so anything reachable from outside the host must
// replace http.api_keys (or set RINGPROOF_API_KEYS).
//
// Default does not read the environment; Parse(nil, os.Getenv) gives the
// defaults with environment overrides applied and validated.
func Default() *Config {
	return &Config{
		HTTP: HTTP{
			Listen:               "127.0.0.1:8080",
			APIKeys:              []string{"dev-key-change-me"},
			MaxBodyBytes:         65536,
			MaxEventStreamsPerIP: 100,
			// Enough for an application whose key was just rotated, far
			// too few to guess one.
			AuthFailuresPerIPPerMinute: 20,
			TrustedProxies:             []string{},
		},
		SIP: SIP{
			Listen:        "127.0.0.1:5060",
			UDPReadBuffer: 4 << 20,
			UDPReader:     "thread",
			UserAgent:     "ringproof",
			// Far more than carriers open (one or a few each), far
			// fewer than the open-file limit.
			MaxTCPConnections:      1024,
			MaxTCPConnectionsPerIP: 64,
		},
		Media: Media{
			RTPPortMin:    16384,
			RTPPortMax:    32767,
			NoRTPTimeoutS: 10,
			MaxCallS:      120,
			DefaultLocale: "en",
			VoiceRepeat:   2,
		},
		Store: Store{
			DataDir:         "./data",
			Prefix:          "/ringproof/",
			DialTimeoutS:    5,
			RequestTimeoutS: 3,
		},
		Privacy: Privacy{
			RetentionDays:      30,
			AuditRetentionDays: 2190,
		},
		History: History{
			Backend: "embedded",
		},
		Trunks: []Trunk{{
			Name:             "carrier1",
			Address:          "127.0.0.1:5070",
			Transport:        defaultTransport,
			MaxCPS:           defaultMaxCPS,
			Domain:           "127.0.0.1",
			Weight:           defaultWeight,
			FailoverOn:       defaultFailoverOn(),
			ResponseTimeoutS: defaultResponseTimeout,
			RegisterExpiresS: defaultRegisterExpires,
			OptionsPingS:     defaultOptionsPing,
		}},
		Callers: []string{"+442079460000-+442079469999"},
		Inbound: Inbound{
			// Ofcom's range for drama: never a real line.
			Numbers:       []string{"+441632960000-+441632960009"},
			FinalStatus:   603,
			RingMS:        0,
			UnknownCaller: "reject",
		},
		FlashCall: FlashCall{
			CodeLength: 4,
			RingMS:     0,
			TimeoutS:   30,
			CooldownS:  60,
		},
		SMS: SMS{
			Text:     "Your verification code is {code}",
			TimeoutS: 10,
		},
		Masking: Masking{
			Numbers:        []string{},
			MaxTTLS:        86400,
			AnswerTimeoutS: 60,
			MaxCallS:       3600,
			UnknownCaller:  "announce",
		},
		Verification: Verification{
			ExpiryS:             300,
			MaxAttempts:         3,
			MaxPerNumberPerHour: 10,
			GraceS:              600,
		},
		Fraud: Fraud{
			AllowedCountries:   []string{},
			BlockedNumberTypes: []string{"premium_rate", "shared_cost", "personal_number", "uan", "pager", "voicemail", "unknown"},
			SafeNumbers:        []string{},
			PumpingGuard: PumpingGuard{
				Enabled:            true,
				PrefixDigits:       6,
				WindowS:            3600,
				MinAttempts:        20,
				MaxUnverifiedRatio: 0.9,
			},
		},
		TestNumbers: []TestNumber{},
		Services:    []Service{},
		Webhooks:    []Webhook{},
		Log: Log{
			Level:  "info",
			Format: "text",
			Access: true,
		},
	}
}

// fillTrunkDefaults gives t the defaults for fields a file left out:
// transport udp when empty; max_cps 100, weight 1, response_timeout_s 5,
// register_expires_s 3600, options_ping_s 30 and failover_on its default
// list when the key was absent (has reports
// whether the file set the key, so that an explicit 0 or empty list is
// kept); and domain the host of address when empty and address has one.
// It also upper-cases region's ASCII letters. inbound_cidrs stays empty:
// InboundPrefixes applies its default.
func fillTrunkDefaults(t *Trunk, has func(key string) bool) {
	if t.Transport == "" {
		t.Transport = defaultTransport
	}
	if !has("max_cps") {
		t.MaxCPS = defaultMaxCPS
	}
	if !has("weight") {
		t.Weight = defaultWeight
	}
	if !has("response_timeout_s") {
		t.ResponseTimeoutS = defaultResponseTimeout
	}
	if !has("failover_on") {
		t.FailoverOn = defaultFailoverOn()
	}
	if !has("register_expires_s") {
		t.RegisterExpiresS = defaultRegisterExpires
	}
	if !has("options_ping_s") {
		t.OptionsPingS = defaultOptionsPing
	}

	if t.Domain == "" {
		if host, _, problem := splitHostPort(t.Address); problem == "" {
			t.Domain = host
		}
	}
	t.Region = upperASCII(t.Region)
}

// upperASCII returns s with its ASCII letters upper-cased and every other
// character as it was. Unlike strings.ToUpper it cannot turn a non-ASCII
// letter into an ASCII one ("ſ" into "S").
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
