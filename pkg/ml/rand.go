package ml

import "math/rand/v2"

// Random streams: every random choice of the package draws from a PCG stream keyed on the
// caller's seed and on what the stream is for (and, for a forest, the tree's index), so each
// unit of work can run in any order, on any goroutine, and still draw the same numbers.
const (
	streamTree uint64 = iota + 1
	streamForest
	streamGBMValidation
	streamGBMBinning
	streamPermutation
)

// newRand returns the random source for stream kind, unit index, seeded by seed.
func newRand(seed, kind uint64, index int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, kind<<56|uint64(index))) //nolint:gosec // seeded, not for security
}
