package conf

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// FieldError is one problem with one configuration key. Key is the key's
// path as written in YAML ("trunks[0].address", "callers[1]"); Problem says
// what is wrong, quoting the offending value unless it is a secret. Line
// is the line of the file that sets the key, and Env the environment
// variable that does, when either does (Load fills them in).
type FieldError struct {
	Key, Problem string
	Line         int
	Env          string
}

// Error returns "key: problem", followed by " (line N)" or
// " (from VARIABLE)" when the key's source is known.
func (e *FieldError) Error() string {
	s := e.Problem
	if e.Key != "" {
		s = e.Key + ": " + s
	}
	switch {
	case e.Env != "":
		s += " (from " + e.Env + ")"
	case e.Line > 0:
		s += " (line " + strconv.Itoa(e.Line) + ")"
	}
	return s
}

// FieldErrors returns every *FieldError in err's tree (errors joined with
// errors.Join, wrapped with %w), in order. errors.As finds only the first.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *FieldError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// joinFieldErrors joins problems with errors.Join, or returns nil if there
// are none.
func joinFieldErrors(problems []*FieldError) error {
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// Validate checks c as a whole and returns nil if ringproof can run with
// it. Otherwise it returns every problem it found, joined with errors.Join,
// each a *FieldError naming the key (use FieldErrors, or errors.As for the
// first). Validate does not fill in defaults or read the environment; Load
// does both before calling it; it does look at the file system, for
// media.prompts_dir and the store.tls_*_file keys. Secret values (passwords, API and admin keys, privacy
// keys) never appear in its errors.
func (c *Config) Validate() error {
	v := &validator{}
	c.validateHTTP(v)
	c.validateWidget(v)
	c.validateSIP(v)
	c.validateMedia(v)
	c.validateStore(v)
	c.validatePrivacy(v)
	c.validateHistory(v)
	c.validateTrunks(v)
	c.validateRoutes(v)
	c.validateCallers(v)
	c.validateInbound(v)
	c.validateFlashCall(v)
	c.validateSMS(v)
	c.validateMasking(v)
	c.validateVerification(v)
	c.validateFraud(v)
	v.testNumbers("test_numbers", c.TestNumbers, c.FlashCall.CodeLength, "flashcall.code_length")
	c.validateServices(v)
	c.validateWebhooks(v)
	c.validateLog(v)
	return joinFieldErrors(v.problems)
}

// validator collects problems in the order they are found.
type validator struct {
	problems []*FieldError
}

func (v *validator) add(key, format string, args ...any) {
	v.problems = append(v.problems, &FieldError{Key: key, Problem: fmt.Sprintf(format, args...)})
}

// has reports whether a problem was added for a key that starts with
// prefix.
func (v *validator) has(prefix string) bool {
	return slices.ContainsFunc(v.problems, func(p *FieldError) bool { return strings.HasPrefix(p.Key, prefix) })
}

// check adds problem for key unless it is empty.
func (v *validator) check(key, problem string) {
	if problem != "" {
		v.add(key, "%s", problem)
	}
}

// between adds a problem if n is outside lo..hi.
func (v *validator) between(key string, n, lo, hi int64) {
	if n < lo || n > hi {
		v.add(key, "%d is out of range %d..%d", n, lo, hi)
	}
}

// atLeast adds a problem if n is below lo.
func (v *validator) atLeast(key string, n, lo int64) {
	if n < lo {
		v.add(key, "%d is below the minimum %d", n, lo)
	}
}

// oneOf adds a problem if s is not one of allowed.
func (v *validator) oneOf(key, s string, allowed ...string) {
	if !slices.Contains(allowed, s) {
		v.add(key, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

func (c *Config) validateHTTP(v *validator) {
	v.check("http.listen", checkListen(c.HTTP.Listen, false))
	if len(c.HTTP.APIKeys) == 0 {
		v.add("http.api_keys", "at least one key is required (or set %s)", EnvAPIKeys)
	}
	for i, k := range c.HTTP.APIKeys {
		v.check("http.api_keys["+strconv.Itoa(i)+"]", bearerProblem(k))
	}
	c.validateAdminKeys(v)
	v.atLeast("http.max_body_bytes", c.HTTP.MaxBodyBytes, 1)
	v.atLeast("http.max_event_streams", int64(c.HTTP.MaxEventStreams), 0)
	v.atLeast("http.max_event_streams_per_ip", int64(c.HTTP.MaxEventStreamsPerIP), 0)
	v.between("http.auth_failures_per_ip_per_minute", int64(c.HTTP.AuthFailuresPerIPPerMinute), 1, 10000)
}

// bearerProblem returns what is wrong with a bearer token: empty, or holding
// a space or control character. It never quotes the token: it is a secret.
func bearerProblem(k string) string {
	switch {
	case k == "":
		return "is empty"
	case strings.ContainsFunc(k, unicode.IsSpace) || hasControl(k):
		return "contains a space or control character"
	}
	return ""
}

func (c *Config) validateSIP(v *validator) {
	v.check("sip.listen", c.checkSIPListen(c.SIP.Listen))
	v.check("sip.external_address", checkExternalIP(c.SIP.ExternalAddress))
	v.atLeast("sip.udp_read_buffer", int64(c.SIP.UDPReadBuffer), 0)
	v.oneOf("sip.udp_reader", c.SIP.UDPReader, "thread", "poller")
	v.atLeast("sip.max_tcp_connections", int64(c.SIP.MaxTCPConnections), 0)
	v.atLeast("sip.max_tcp_connections_per_ip", int64(c.SIP.MaxTCPConnectionsPerIP), 0)
	if hasControl(c.SIP.UserAgent) {
		v.add("sip.user_agent", "%q contains a control character", c.SIP.UserAgent)
	}
	c.validateSIPTLS(v)
}

// validateSIPTLS checks SIP over TLS: a listener address apart from
// sip.listen, with a certificate and key that load, and a CA bundle that
// holds certificates; none of the files without the listener.
func (c *Config) validateSIPTLS(v *validator) {
	s := &c.SIP
	if s.TLSListen == "" {
		for _, set := range []struct{ key, value string }{
			{"sip.tls_cert_file", s.TLSCertFile}, {"sip.tls_key_file", s.TLSKeyFile}, {"sip.tls_ca_file", s.TLSCAFile},
		} {
			if set.value != "" {
				v.add(set.key, "is set but sip.tls_listen is empty")
			}
		}
		if s.TLSVerifyClients {
			v.add("sip.tls_verify_clients", "is set but sip.tls_listen is empty")
		}
		return
	}
	if s.TLSVerifyClients && s.TLSCAFile == "" {
		v.add("sip.tls_verify_clients", "needs sip.tls_ca_file: the CAs that sign the carriers' client certificates")
	}
	if p := c.checkSIPListen(s.TLSListen); p != "" {
		v.add("sip.tls_listen", "%s", p)
	} else if s.TLSListen == s.Listen {
		v.add("sip.tls_listen", "%q is also sip.listen, whose TCP listener holds that port; carriers use 5061 for TLS", s.TLSListen)
	}
	for _, set := range []struct{ key, value string }{
		{"sip.tls_cert_file", s.TLSCertFile}, {"sip.tls_key_file", s.TLSKeyFile}, {"sip.tls_ca_file", s.TLSCAFile},
	} {
		switch {
		case set.value != "":
			v.check(set.key, checkReadableFile(set.value))
		case set.key != "sip.tls_ca_file":
			v.add(set.key, "is required with sip.tls_listen")
		}
	}
	if v.has("sip.tls_") {
		return
	}
	if _, _, err := s.TLSConfigs(); err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			fe = &FieldError{Key: "sip.tls_cert_file", Problem: err.Error()}
		}
		v.problems = append(v.problems, fe)
	}
}

// localeTag is a short BCP 47 tag: a 2 or 3 letter language and optional
// subtags (en, pt-BR, zh-Hant-TW).
var localeTag = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

func (c *Config) validateMedia(v *validator) {
	m := &c.Media
	if m.RTPIP != "" {
		switch ip, err := netip.ParseAddr(m.RTPIP); {
		case err != nil:
			v.add("media.rtp_ip", "%q is not an IP address", m.RTPIP)
		case ip.IsUnspecified() && m.ExternalIP == "" && c.SIP.ExternalAddress == "":
			v.add("media.rtp_ip", "%q is unspecified; peers send RTP to the address offered in SDP, so set media.external_ip (or sip.external_address) to one they can reach", m.RTPIP)
		case ip.Zone() != "":
			v.add("media.rtp_ip", "%q has an IPv6 zone, which SDP cannot carry", m.RTPIP)
		}
	}
	v.check("media.external_ip", checkExternalIP(m.ExternalIP))
	v.between("media.rtp_port_min", int64(m.RTPPortMin), 1024, 65535)
	v.between("media.rtp_port_max", int64(m.RTPPortMax), 1024, 65535)
	if m.RTPPortMin%2 != 0 {
		v.add("media.rtp_port_min", "%d is odd; RTP uses even ports (RTCP the odd one above)", m.RTPPortMin)
	}
	if m.RTPPortMax <= m.RTPPortMin {
		v.add("media.rtp_port_max", "%d is not above media.rtp_port_min (%d)", m.RTPPortMax, m.RTPPortMin)
	}
	v.between("media.no_rtp_timeout_s", int64(m.NoRTPTimeoutS), 1, 300)
	v.between("media.max_call_s", int64(m.MaxCallS), 5, 3600)
	if m.PromptsDir != "" {
		switch fi, err := os.Stat(m.PromptsDir); {
		case err != nil:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is quoted already
			}
			v.add("media.prompts_dir", "%q: %v", m.PromptsDir, err)
		case !fi.IsDir():
			v.add("media.prompts_dir", "%q is not a directory", m.PromptsDir)
		}
	}
	if !localeTag.MatchString(m.DefaultLocale) {
		v.add("media.default_locale", "%q is not a locale tag such as en or pt-BR", m.DefaultLocale)
	}
	v.between("media.voice_repeat", int64(m.VoiceRepeat), 1, 5)
}

func (c *Config) validateStore(v *validator) {
	s := &c.Store
	for i, e := range s.Endpoints {
		v.check("store.endpoints["+strconv.Itoa(i)+"]", checkEndpoint(e))
	}
	if len(s.Endpoints) == 0 && s.DataDir == "" {
		v.add("store.data_dir", "is required when store.endpoints is empty (embedded etcd)")
	}
	if s.Prefix == "" {
		v.add("store.prefix", "is empty; ringproof would write at the root of the key space")
	}
	v.atLeast("store.dial_timeout_s", int64(s.DialTimeoutS), 1)
	v.atLeast("store.request_timeout_s", int64(s.RequestTimeoutS), 1)
	v.atLeast("store.quota_bytes", s.QuotaBytes, 0)
	// The embedded etcd takes no unauthenticated client: its own port is
	// TLS with client certificates, or none (the unix socket only).
	if s.ClientURL != "" {
		if p := checkBindURL(s.ClientURL); p != "" {
			v.add("store.client_url", "%s", p)
		} else if !strings.HasPrefix(s.ClientURL, "https://") {
			v.add("store.client_url", "%q: the embedded etcd takes only authenticated clients: give https://IP:port (clients present the certificate generated in store.data_dir/keys), or leave it empty (the unix socket store.data_dir/etcd.sock only)", s.ClientURL)
		}
	}
	if s.PeerURL != "" {
		if p := checkBindURL(s.PeerURL); p != "" {
			v.add("store.peer_url", "%s", p)
		} else if !strings.HasPrefix(s.PeerURL, "http://") {
			v.add("store.peer_url", "%q: want http:// (the embedded etcd has no peer certificates)", s.PeerURL)
		}
	}
	c.validateStoreTLS(v)
}

// validateStoreTLS checks the TLS settings for an external cluster: only
// with endpoints, none of them http:// (etcd's client would quietly drop
// TLS for it), files that can be read, a certificate with its key.
func (c *Config) validateStoreTLS(v *validator) {
	s := &c.Store
	if !s.TLS() {
		return
	}
	settings := []struct {
		key, value string
		file       bool
	}{
		{"store.tls_ca_file", s.TLSCAFile, true},
		{"store.tls_cert_file", s.TLSCertFile, true},
		{"store.tls_key_file", s.TLSKeyFile, true},
		{"store.tls_server_name", s.TLSServerName, false},
	}
	if len(s.Endpoints) == 0 {
		for _, set := range settings {
			if set.value != "" {
				v.add(set.key, "is set but store.endpoints is empty; TLS applies only to an external etcd cluster")
			}
		}
		return
	}
	for i, e := range s.Endpoints {
		if strings.HasPrefix(strings.ToLower(e), "http://") {
			v.add("store.endpoints["+strconv.Itoa(i)+"]", "%q is http:// but TLS is configured, and etcd's client would not use TLS for it; write https://", e)
		}
	}
	for _, set := range settings {
		if set.file && set.value != "" {
			v.check(set.key, checkReadableFile(set.value))
		}
	}
	switch {
	case s.TLSCertFile != "" && s.TLSKeyFile == "":
		v.add("store.tls_key_file", "is required when store.tls_cert_file is set")
	case s.TLSKeyFile != "" && s.TLSCertFile == "":
		v.add("store.tls_cert_file", "is required when store.tls_key_file is set")
	}
	if s.TLSServerName != "" && !validHost(s.TLSServerName) {
		v.add("store.tls_server_name", "%q is not an IP address or DNS name", s.TLSServerName)
	}
}

// checkReadableFile returns what keeps path from being read as a file.
func checkReadableFile(path string) (problem string) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is quoted already
		}
		return fmt.Sprintf("%q: %v", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return fmt.Sprintf("%q: %v", path, err)
	case fi.IsDir():
		return fmt.Sprintf("%q is a directory, not a file", path)
	}
	return ""
}

func (c *Config) validatePrivacy(v *validator) {
	p := &c.Privacy
	keys := []struct {
		key, value, env string
		lo, hi          int
	}{
		{"privacy.hmac_key", p.HMACKeyHex, EnvHMACKey, minHMACKeyBytes, 0},
		{"privacy.encryption_key", p.EncryptionKeyHex, EnvEncryptionKey, encryptionKeyBytes, encryptionKeyBytes},
		{"privacy.signing_key", p.SigningKeyHex, "RINGPROOF_PRIVACY_SIGNING_KEY", signingKeyBytes, signingKeyBytes},
	}
	for _, k := range keys {
		switch {
		case k.value != "":
			v.check(k.key, keyProblem(k.value, k.lo, k.hi))
		case len(c.Store.Endpoints) > 0:
			v.add(k.key, "is required with an external etcd cluster (store.endpoints): every node must share it; set it or %s", k.env)
		}
	}
	for i, s := range p.OldEncryptionKeysHex {
		key := "privacy.old_encryption_keys[" + strconv.Itoa(i) + "]"
		if s == "" {
			v.add(key, "is empty")
		} else {
			v.check(key, keyProblem(s, encryptionKeyBytes, encryptionKeyBytes))
		}
	}
	v.between("privacy.retention_days", int64(p.RetentionDays), 1, 3650)
	v.between("privacy.audit_retention_days", int64(p.AuditRetentionDays), 1, 36500)
	if p.AuditRetentionDays >= 1 && p.AuditRetentionDays < p.RetentionDays {
		v.add("privacy.audit_retention_days", "%d is below privacy.retention_days (%d): the trail of what was done with personal data must outlive the data", p.AuditRetentionDays, p.RetentionDays)
	}
}

func (c *Config) validateTrunks(v *validator) {
	if len(c.Trunks) == 0 {
		v.add("trunks", "at least one trunk is required")
	}
	byName := map[string]int{} // name -> index of first trunk with it
	byEnv := map[string]int{}  // password variable -> index of first trunk with it
	for i, t := range c.Trunks {
		key := "trunks[" + strconv.Itoa(i) + "]"
		switch j, dup := byName[t.Name]; {
		case t.Name == "":
			v.add(key+".name", "is required")
		case dup:
			v.add(key+".name", "%q is also the name of trunks[%d]", t.Name, j)
		default:
			byName[t.Name] = i
			env := TrunkPasswordEnv(t.Name)
			if j, clash := byEnv[env]; clash {
				v.add(key+".name", "%q and trunks[%d] %q share the password variable %s; rename one",
					t.Name, j, c.Trunks[j].Name, env)
			} else {
				byEnv[env] = i
			}
		}
		v.check(key+".address", checkHostPort(t.Address))
		switch t.Transport {
		case "udp", "tcp":
		case "tls":
			if c.SIP.TLSListen == "" {
				v.add(key+".transport", "tls needs sip.tls_listen (with its certificate): the Contact of calls over TLS points at it")
			}
		default:
			v.add(key+".transport", "%q is not one of udp, tcp, tls", t.Transport)
		}
		if hasControl(t.Username) {
			v.add(key+".username", "%q contains a control character", t.Username)
		}
		if t.Username != "" && t.Password == "" {
			v.add(key+".password", "is required when username is set (or set %s)", TrunkPasswordEnv(t.Name))
		}
		v.atLeast(key+".max_cps", int64(t.MaxCPS), 1)
		if t.Domain != "" && !validHost(t.Domain) {
			v.add(key+".domain", "%q is not an IP address or DNS name", t.Domain)
		}
		for j, s := range t.InboundCIDRs {
			if _, err := parseInboundCIDR(s); err != nil {
				v.add(key+".inbound_cidrs["+strconv.Itoa(j)+"]", "%v", err)
			}
		}
		if !validRegion(t.Region) {
			v.add(key+".region", "%q is not an ISO 3166-1 alpha-2 region such as GB (two letters), nor empty", t.Region)
		}
		v.validateTrunkRouting(key, t)
	}
}

// validRegion reports whether r is empty or two ASCII letters.
func validRegion(r string) bool {
	isLetter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	return r == "" || len(r) == 2 && isLetter(r[0]) && isLetter(r[1])
}

func (c *Config) validateCallers(v *validator) {
	if len(c.Callers) == 0 && c.needsGlobalCallers() {
		v.add("callers", "at least one number range is required (or give every route, default_route included, callers of its own)")
	}
	c.validateCallerRanges(v, "callers", c.Callers)
}

func (c *Config) validateInbound(v *validator) {
	in := &c.Inbound
	v.numberRanges("inbound.numbers", in.Numbers, nil)
	v.between("inbound.final_status", int64(in.FinalStatus), 400, 699)
	v.between("inbound.ring_ms", int64(in.RingMS), 0, 10000)
	v.oneOf("inbound.unknown_caller", in.UnknownCaller, "reject", "announce")
}

func (c *Config) validateMasking(v *validator) {
	m := &c.Masking
	inbound := c.InboundRanges()
	v.numberRanges("masking.numbers", m.Numbers, func(key, s string, r NumberRange) {
		for i, in := range inbound {
			if r.Start <= in.End && in.Start <= r.End && r.Digits == in.Digits {
				v.add(key, "%q overlaps inbound.numbers[%d]: a system number cannot also be a proxy number", s, i)
			}
		}
	})
	v.between("masking.max_ttl_s", int64(m.MaxTTLS), 60, 2592000)
	v.between("masking.answer_timeout_s", int64(m.AnswerTimeoutS), 5, 180)
	v.between("masking.max_call_s", int64(m.MaxCallS), 60, 86400)
	v.oneOf("masking.unknown_caller", m.UnknownCaller, "announce", "reject")
}

// MaskingRanges returns masking.numbers parsed; nil if they do not parse
// (Validate reports why).
func (c *Config) MaskingRanges() []NumberRange {
	rs, err := ParseRanges(c.Masking.Numbers)
	if err != nil {
		return nil
	}
	return rs
}

// numberRanges checks list, the value of the key path name, as a list of
// number ranges: each element must parse with ParseRange, and no two may
// overlap. check, if not nil, is called on each element that parses, with
// its key path, before overlaps are looked for.
func (v *validator) numberRanges(name string, list []string, check func(key, s string, r NumberRange)) {
	type parsed struct {
		i int
		r NumberRange
	}
	var ok []parsed
	for i, s := range list {
		key := name + "[" + strconv.Itoa(i) + "]"
		r, err := ParseRange(s)
		if err != nil {
			v.add(key, "%v", err)
			continue
		}
		if check != nil {
			check(key, s, r)
		}
		ok = append(ok, parsed{i, r})
	}
	// Sorted by start, a range overlaps an earlier one exactly when it
	// starts at or before the furthest end seen so far.
	slices.SortStableFunc(ok, func(a, b parsed) int { return cmp.Compare(a.r.Start, b.r.Start) })
	var furthest parsed
	for n, p := range ok {
		if n > 0 && p.r.Start <= furthest.r.End {
			first, second := furthest, p
			if first.i > second.i {
				first, second = second, first
			}
			v.add(name+"["+strconv.Itoa(second.i)+"]", "%q overlaps %s[%d] %q",
				list[second.i], name, first.i, list[first.i])
		}
		if n == 0 || p.r.End > furthest.r.End {
			furthest = p
		}
	}
}

func (c *Config) validateSMS(v *validator) {
	m := &c.SMS
	if m.From != "" {
		if _, _, err := parseE164(m.From); err != nil {
			v.add("sms.from", "%v", err)
		}
	}
	v.smsText("sms.text", m.Text)
	v.between("sms.timeout_s", int64(m.TimeoutS), 1, 32)
}

// smsText checks text, the message of the sms method set at key.
func (v *validator) smsText(key, text string) {
	// As sent with the longest code.
	used, limit := smsLength(strings.Replace(text, "{code}", strings.Repeat("0", MaxCodeLength), 1))
	switch {
	case strings.Count(text, "{code}") != 1:
		v.add(key, "%q must hold {code} exactly once", text)
	case hasControl(text):
		v.add(key, "%q contains a control character", text)
	case used > limit && limit == 160:
		v.add(key, "takes %d of the 160 characters of one SMS (GSM 7-bit; ^{}\\[~]|€ count twice)", used)
	case used > limit:
		v.add(key, "takes %d of the 70 characters of one SMS: a character outside the GSM 7-bit alphabet makes it UCS-2", used)
	}
}

func (c *Config) validateFlashCall(v *validator) {
	f := &c.FlashCall
	v.between("flashcall.code_length", int64(f.CodeLength), MinCodeLength, MaxCodeLength)
	v.between("flashcall.ring_ms", int64(f.RingMS), 0, 60000)
	v.between("flashcall.timeout_s", int64(f.TimeoutS), 1, 120)
	v.atLeast("flashcall.cooldown_s", int64(f.CooldownS), 0)
}

func (c *Config) validateVerification(v *validator) {
	r := &c.Verification
	v.between("verification.expiry_s", int64(r.ExpiryS), 30, 86400)
	v.between("verification.max_attempts", int64(r.MaxAttempts), 1, 10)
	v.atLeast("verification.max_per_number_per_hour", int64(r.MaxPerNumberPerHour), 1)
	v.between("verification.grace_s", int64(r.GraceS), 0, 86400)
}

func (c *Config) validateHistory(v *validator) {
	h := &c.History
	v.oneOf("history.backend", h.Backend, "embedded", "postgres")
	switch {
	case h.Backend == "postgres" && h.PostgresURL == "":
		v.add("history.postgres_url", "is required with history.backend: postgres (or set RINGPROOF_HISTORY_POSTGRES_URL)")
	case h.Backend == "postgres":
		if u, err := url.Parse(h.PostgresURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			// Never show the URL: it may hold a password.
			v.add("history.postgres_url", "is not a postgres://user:password@host:port/database URL")
		}
	case h.Backend == "embedded" && len(c.Store.Endpoints) > 0:
		v.add("history.postgres_url", "is required with store.endpoints: the nodes of a cluster must share one history store, or a person's data would be split across machines (set history.backend: postgres and history.postgres_url)")
	}
}

func (c *Config) validateLog(v *validator) {
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
}
