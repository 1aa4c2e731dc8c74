package conf

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Webhook is a subscription: ringproof POSTs the events it names to URL,
// signed with Secret (docs/webhooks.md). The same list is the top-level
// webhooks key and, in a service, that service's own.
type Webhook struct {
	// URL receives the events: an absolute http:// or https:// URL.
	// Required.
	URL string `yaml:"url"`
	// Secret is the HMAC-SHA256 key of the Ringproof-Signature header:
	// at least 16 characters. Required. Env RINGPROOF_WEBHOOKS_<i>_SECRET
	// overrides it.
	Secret string `yaml:"secret"`
	// Events are the events sent: verification.updated (every change of
	// a verification's status) and masking.call_ended. At least one.
	Events []string `yaml:"events"`
}

// Webhook events.
const (
	EventVerificationUpdated = "verification.updated"
	EventMaskingCallEnded    = "masking.call_ended"
)

// webhookEvents are the events a subscription may name.
var webhookEvents = []string{EventVerificationUpdated, EventMaskingCallEnded}

// WebhookEvents returns the names of the events a webhook may subscribe to.
func WebhookEvents() []string { return slices.Clone(webhookEvents) }

// minWebhookSecret is the shortest secret accepted.
const minWebhookSecret = 16

// Wants reports whether w subscribes to event.
func (w Webhook) Wants(event string) bool { return slices.Contains(w.Events, event) }

// validateWebhooks checks a list of subscriptions set at key (webhooks, or
// a service's).
func validateWebhooks(v *validator, key string, hooks []Webhook) {
	for i, w := range hooks {
		at := key + "[" + strconv.Itoa(i) + "]"
		switch u, err := url.Parse(w.URL); {
		case w.URL == "":
			v.add(at+".url", "is required: where the events are POSTed")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
			v.add(at+".url", "%q is not an absolute http:// or https:// URL", w.URL)
		case u.User != nil:
			// Never show the URL: it holds a password.
			v.add(at+".url", "must not hold a user or password; the signature authenticates ringproof")
		}
		if len(w.Secret) < minWebhookSecret {
			v.add(at+".secret", "must be at least %d characters (it keys the HMAC of Ringproof-Signature); set it here or in %s", minWebhookSecret, envOfKey(at+".secret"))
		}
		if len(w.Events) == 0 {
			v.add(at+".events", "at least one event is required: %s", strings.Join(webhookEvents, ", "))
		}
		for j, e := range w.Events {
			if !slices.Contains(webhookEvents, e) {
				v.add(at+".events["+strconv.Itoa(j)+"]", "%q is not an event; events: %s", e, strings.Join(webhookEvents, ", "))
			}
		}
	}
}

func (c *Config) validateWebhooks(v *validator) { validateWebhooks(v, "webhooks", c.Webhooks) }

// envOfKey is the environment variable that sets the key path key:
// "services[0].webhooks[1].secret" is RINGPROOF_SERVICES_0_WEBHOOKS_1_SECRET.
func envOfKey(key string) string {
	r := strings.NewReplacer("[", "_", "].", "_", "]", "", ".", "_")
	return "RINGPROOF_" + strings.ToUpper(r.Replace(key))
}
