// Package forecast forecasts daily business series (appointments,
// registrations, trainer utilization) with exponential smoothing state-space
// models and two baselines, and measures them with rolling-origin backtests.
//
// The models are the additive-error ETS models of Hyndman's taxonomy
// (Hyndman, Koehler, Ord and Snyder, "Forecasting with Exponential
// Smoothing", 2008): trend none, additive or additive damped, seasonality
// none, additive or multiplicative. Parameters and initial states are fitted
// by maximum likelihood (gonum's L-BFGS with a central-difference gradient,
// initial states of the linear models profiled out by least squares) inside
// the usual bounds and, for additive seasonality, the admissible region;
// [Fit] with [MethodAuto] picks the candidate with the lowest AICc (see
// [Candidates]). The baselines are the seasonal naive method and the
// standard Theta method. Prediction intervals are analytical for the linear
// models and simulated, from a fixed seed, for multiplicative seasonality.
//
// The tests hold the package to statsmodels (ETSModel, ThetaModel) on a
// synthetic daily series and on statsmodels' CO2 data; where the two
// deliberately differ it is documented: the multiplicative seasonal update
// follows Hyndman et al. (s + γe/(l+φb), as R's forecast::ets; statsmodels
// divides by the updated level), AICc counts m-1 free initial seasonal
// states (statsmodels counts m), and interval variances use SSE/(n-k+1)
// (statsmodels SSE/n).
//
// Everything here is pure computation on []float64: the package does no I/O
// and knows no SQL. Callers turn database rows into a regular series with
// [Daily]. Results are deterministic: the same input and [Options] give the
// same model and the same forecast on every run and machine.
package forecast
