package checkmobi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/verify"
)

// types maps CheckMobi's validation types onto ringproof's methods.
var types = map[string]verify.Method{
	"reverse_cli": verify.MethodFlashCall,
	"cli":         verify.MethodInboundMissed,
	"sms":         verify.MethodSMS,
	"ivr":         verify.MethodVoice,
}

// typeNames lists the types for messages.
const typeNames = "reverse_cli, cli, sms or ivr"

// reverseCLIDigits is how many of the caller ID's last digits a
// reverse_cli validation's pin is: CheckMobi's clients read 4.
const reverseCLIDigits = 4

// Request is the body of POST /v1/validation/request.
type Request struct {
	// Number is E.164; its + may be left out.
	Number string `json:"number"`
	// Type is reverse_cli, cli, sms or ivr (types).
	Type string `json:"type"`
	// Platform is the application's (ios, android, web...), stored.
	Platform string `json:"platform"`
	// Language picks the language of spoken prompts (ringproof's locale).
	Language string `json:"language"`
	// NotificationCallback is refused: ringproof pushes results through
	// the webhooks of its configuration, not to a URL per request.
	NotificationCallback *string `json:"notification_callback"`
	// AndroidAppHash is accepted and unused: the text is the configured
	// one (sms.text).
	AndroidAppHash string `json:"android_app_hash"`
}

// Validation is the answer to POST /v1/validation/request.
type Validation struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// CLIPrefix is, for reverse_cli, the caller ID without its last 4
	// digits: how the application knows the call.
	CLIPrefix string `json:"cli_prefix,omitempty"`
	// DialingNumber is, for cli, the number the user calls.
	DialingNumber  string         `json:"dialing_number,omitempty"`
	ValidationInfo ValidationInfo `json:"validation_info"`
}

// ValidationInfo is what the numbering plan says of the number
// (number.Describe).
type ValidationInfo struct {
	CountryCode    int    `json:"country_code"`
	CountryISOCode string `json:"country_iso_code"`
	Carrier        string `json:"carrier"`
	IsMobile       bool   `json:"is_mobile"`
	E164Format     string `json:"e164_format"`
	Formatting     string `json:"formatting"`
}

func (h *Handler) request(w http.ResponseWriter, r *http.Request) {
	var req Request
	if err := api.ReadBody(w, r, h.maxBody, &req); err != nil {
		writeBodyError(w, err)
		return
	}
	if req.NotificationCallback != nil {
		writeError(w, http.StatusBadRequest, codeInvalidCallback,
			"notification_callback is not supported: ringproof posts results to the webhooks of its configuration", "notification_callback")
		return
	}
	method, ok := types[req.Type]
	if !ok {
		msg := "Invalid validation type: type must be " + typeNames
		if req.Type == "" {
			msg = "type is required: " + typeNames
		}
		writeError(w, http.StatusBadRequest, codeInvalidType, msg, "type")
		return
	}
	if len(req.AndroidAppHash) > 64 {
		writeError(w, http.StatusBadRequest, codeInvalidPayload, "android_app_hash is at most 64 characters", "android_app_hash")
		return
	}
	create := verify.CreateRequest{
		Number:   withPlus(req.Number),
		Method:   string(method),
		Platform: req.Platform,
		Locale:   req.Language,
	}
	if method == verify.MethodFlashCall {
		create.CodeLength = reverseCLIDigits
	}
	v, err := h.v.Create(r.Context(), create)
	var in *api.InputError
	if create.CodeLength != 0 && errors.As(err, &in) && in.Field == "code_length" {
		// A test number (test_numbers): its code has the length it was
		// configured with.
		create.CodeLength = 0
		v, err = h.v.Create(r.Context(), create)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, Validation{
		ID:             v.ID,
		Type:           req.Type,
		CLIPrefix:      v.CLIPrefix,
		DialingNumber:  v.DialNumber,
		ValidationInfo: infoOf(v.Number),
	})
}

// infoOf describes e164. A test number the numbering plan does not know
// (test_numbers) is described by its digits alone.
func infoOf(e164 string) ValidationInfo {
	info, err := number.Describe(e164)
	if err != nil {
		return ValidationInfo{E164Format: e164, Formatting: e164}
	}
	return ValidationInfo{
		CountryCode:    info.CountryCode,
		CountryISOCode: info.Region,
		Carrier:        info.Carrier,
		IsMobile:       info.Mobile,
		E164Format:     e164,
		Formatting:     info.International,
	}
}

// withPlus adds the + that CheckMobi lets a number go without.
func withPlus(n string) string {
	n = strings.TrimSpace(n)
	if n == "" || strings.HasPrefix(n, "+") {
		return n
	}
	return "+" + n
}
