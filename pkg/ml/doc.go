// Package ml holds the machine-learning building blocks of BDC Analytics: CART decision trees
// (FitTree), random forests (FitForest), histogram gradient boosting (FitGBM), linear and L2
// logistic regression (FitLinear, FitLogistic), the metrics that judge them (ROCAUC,
// AveragePrecision, LogLoss, Brier, ExpectedCalibrationError and ReliabilityCurve, MAE, RMSE,
// R2), isotonic and Platt calibration (FitCalibrated), permutation importance, and
// per-prediction explanations: Saabas path contributions or TreeSHAP values for tree models,
// coefficient × standardized deviation for linear ones (MainFactors).
//
// Everything works on in-memory data (a Dataset) and is deterministic for a seed: the same
// data, parameters and seed give bit-identical models whatever the number of cores.
// Classification is binary: labels are 0 and 1 and classifiers give the probability of 1.
// Every model marshals to JSON (Marshal, Save) and loads back (Unmarshal, Load) giving
// bit-identical predictions. The algorithms follow scikit-learn's, and the tests hold them to
// scikit-learn's results on the same data (testdata/sklearn_reference.py).
//
// The package must not know about the platform: no SQL, no features of appointments or
// beneficiaries, no registry, no clock. Feature extraction, time-based splits, versioning and
// scoring live in package predict, which builds on this one.
package ml
