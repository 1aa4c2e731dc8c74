package privacy

// Receipt is an erasure's signed receipt (filled in receipt.go's step).
type Receipt struct{}
