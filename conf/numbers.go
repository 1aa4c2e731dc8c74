package conf

// NumberRange is an inclusive range of E.164 numbers that share a length,
// as written in config: "+442079460000-+442079469999" or a single
// "+442079460000". Start and End are the digits after '+' as integers.
type NumberRange struct {
	Start, End uint64
	// Digits is the count of digits after '+', the same for Start and End.
	Digits int
}
