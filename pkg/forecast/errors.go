package forecast

import "errors"

// Sentinel errors, wrapped with the detail of what was wrong; test for them
// with errors.Is.
var (
	// ErrTooShort reports a series with too few observations for the model:
	// seasonal models need two full seasons and more observations than
	// parameters.
	ErrTooShort = errors.New("series too short")
	// ErrNotFinite reports a NaN or infinite value in a series.
	ErrNotFinite = errors.New("series value is not finite")
	// ErrNotPositive reports a zero or negative value in a series given to a
	// multiplicative model.
	ErrNotPositive = errors.New("series value is not positive")
	// ErrInvalidOption reports options, levels, horizons or origins that
	// cannot be used.
	ErrInvalidOption = errors.New("invalid option")
)
