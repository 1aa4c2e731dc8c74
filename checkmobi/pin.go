package checkmobi

import (
	"net/http"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/verify"
)

// PinCheck is the body of POST /v1/validation/verify.
type PinCheck struct {
	ID  string `json:"id"`
	Pin string `json:"pin"`
	// UseServerHangup asks ringproof, not the handset, to end the call
	// the pin came with (a missed call the handset caught), so that the
	// user's carrier does not answer it.
	UseServerHangup bool `json:"use_server_hangup"`
}

// verify checks a pin: the code, or HANGUP when no call came.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	var req PinCheck
	if err := api.ReadBody(w, r, h.maxBody, &req); err != nil {
		writeBodyError(w, err)
		return
	}
	switch {
	case req.ID == "":
		writeError(w, http.StatusBadRequest, codeInvalidID, "id is required", "id")
		return
	case req.Pin == "":
		writeError(w, http.StatusBadRequest, codeInvalidPayload, "pin is required: the code, or HANGUP", "pin")
		return
	}
	// A HANGUP pin ends the call and checks nothing (verify.Service.Check).
	res, err := h.v.Check(r.Context(), req.ID, req.Pin)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if req.UseServerHangup && req.Pin != verify.HangupCode && !res.Status.Final() {
		// A wrong pin from a caught call: end the call all the same (a
		// right one has ended it already).
		if _, err := h.v.Hangup(r.Context(), req.ID); err != nil {
			h.log.Warn("use_server_hangup: hang-up failed", "id", req.ID, "err", err)
		}
	}
	v, err := h.v.Get(r.Context(), req.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, resultOf(v))
}
