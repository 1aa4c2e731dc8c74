package dialer

// missesForDown is how many OPTIONS pings in a row a trunk may leave
// unanswered before it is down.
const missesForDown = 3

// health is what the dialer knows of whether a trunk is there, and the
// state that follows from it. Its transitions are pure; a trunk applies
// them under its lock (trunk.update).
type health struct {
	// needsRegistration is set for trunks with register: true.
	needsRegistration bool
	// registered is set while the registrar's last grant lasts.
	registered bool
	// misses counts the OPTIONS pings unanswered in a row.
	misses int
}

// state is the trunk's state: unregistered while a registration it needs
// is missing, down after missesForDown pings in a row went unanswered,
// else up.
func (h health) state() TrunkState {
	switch {
	case h.needsRegistration && !h.registered:
		return TrunkUnregistered
	case h.misses >= missesForDown:
		return TrunkDown
	}
	return TrunkUp
}

// pinged records the outcome of an OPTIONS ping: an answer brings a down
// trunk back at once.
func (h *health) pinged(answered bool) {
	if answered {
		h.misses = 0
		return
	}
	h.misses++
}

// registration records whether the trunk holds a registration now.
func (h *health) registration(ok bool) { h.registered = ok }
