package forecast

import (
	"errors"
	"fmt"
	"math"
)

// CandidateFit is one model compared by [SelectETS].
type CandidateFit struct {
	// Spec is the candidate model.
	Spec ETSSpec
	// LogLik and AICc are the fitted values; NaN when the model could not
	// be fitted.
	LogLik, AICc float64
	// Err says why the model could not be fitted (too short a series, a
	// non-positive value for multiplicative seasonality); nil otherwise.
	Err error
}

// SelectETS fits every candidate model (opts.Candidates, or
// [Candidates](opts.Period, series)) and returns the one with the lowest
// AICc; ties go to the earlier candidate. Candidates that cannot be fitted
// to this series are skipped and listed with their reason in
// [ETS.Candidates]. The fits run in parallel, one per available CPU, and
// the choice does not depend on their order.
func SelectETS(series []float64, opts Options) (*ETS, error) {
	opts.Method = MethodAuto
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := checkFinite(series); err != nil {
		return nil, err
	}
	cands := opts.Candidates
	if len(cands) == 0 {
		cands = Candidates(opts.Period, series)
	}
	fits := make([]*ETS, len(cands))
	errs := make([]error, len(cands))
	forEachParallel(len(cands), func(i int) {
		fits[i], errs[i] = fitETS(series, cands[i], opts)
	})

	var best *ETS
	table := make([]CandidateFit, len(cands))
	for i, spec := range cands {
		table[i] = CandidateFit{Spec: spec, LogLik: math.NaN(), AICc: math.NaN(), Err: errs[i]}
		if errs[i] != nil {
			continue
		}
		table[i].LogLik, table[i].AICc = fits[i].LogLik, fits[i].AICc
		if best == nil || fits[i].AICc < best.AICc {
			best = fits[i]
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no ETS candidate could be fitted: %w", errors.Join(errs...))
	}
	best.Candidates = table
	return best, nil
}
