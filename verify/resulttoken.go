package verify

import "github.com/ringproof/ringproof/resulttoken"

// resultToken returns v's result token: a statement that v's number is
// verified, signed with the result-token key, for a web page to hand to
// its server (package resulttoken, docs/widget.md). It is empty unless v
// is verified and a key is configured.
func (s *Service) resultToken(v *Verification) string {
	if v.Status != StatusVerified || len(s.cfg.ResultTokenKey) == 0 {
		return ""
	}
	return resulttoken.Sign(s.cfg.ResultTokenKey, resulttoken.Claims{
		ID: v.ID, Number: v.Number, Status: string(v.Status), Time: s.now().Unix(),
	})
}
