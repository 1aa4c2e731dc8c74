package checkmobi

import (
	"net/http"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/verify"
)

// Result is CheckMobi's answer to a pin check and to a status request.
type Result struct {
	Number    string `json:"number"`
	Validated bool   `json:"validated"`
	// ValidationDate is when the number was validated, in Unix seconds;
	// null until then.
	ValidationDate *int64 `json:"validation_date"`
	// ChargedAmount is what the validation cost: ringproof charges
	// nothing.
	ChargedAmount float64 `json:"charged_amount"`
}

func resultOf(v *verify.Verification) Result {
	res := Result{Number: v.Number, Validated: v.Status == verify.StatusVerified}
	if res.Validated && v.VerifiedAt != nil {
		at := v.VerifiedAt.Unix()
		res.ValidationDate = &at
	}
	return res
}

// status answers GET /v1/validation/status/{id}.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	v, err := h.v.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, resultOf(v))
}
