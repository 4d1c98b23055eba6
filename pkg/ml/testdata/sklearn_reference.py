#!/usr/bin/env python3
"""Reference figures for package ml, computed with scikit-learn.

Writes, next to this script:
  classification.csv, regression.csv  synthetic datasets drawn from known functions
                                      (features rounded to float32, as scikit-learn's trees
                                      see them, so both sides split on the same values)
  sklearn_golden.json                 metric, calibration and model results on fixed inputs

The Go tests read these files; they never run Python. Regenerate them with
  go test ./pkg/ml/ -run TestGolden -update
or directly with
  /usr/bin/python3 pkg/ml/testdata/sklearn_reference.py
using Debian's python3-sklearn and python3-pandas (scikit-learn 1.2, numpy 1.24), which
install for /usr/bin/python3.
"""

import json
import os
import sys

import numpy as np
import sklearn
from sklearn.calibration import _sigmoid_calibration, calibration_curve
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

HERE = os.path.dirname(os.path.abspath(__file__))
N_TRAIN, N_TEST = 4000, 2000
FEATURES = ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"]

# Hyperparameters shared with the Go tests (models_test.go reads them from the golden file).
TREE = dict(max_depth=6, min_samples_leaf=10)
EXACT_TREE = dict(max_depth=4, min_samples_leaf=20)
FOREST = dict(n_estimators=100, min_samples_leaf=3)
GBM = dict(max_iter=200, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20)
LOGISTIC_C = 1.0


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def features(rng, n):
    x = rng.normal(size=(n, 8))
    x[:, 5] = rng.integers(0, 2, size=n)  # a binary feature
    x[:, 6] = rng.uniform(0, 10, size=n)  # a feature on another scale
    # Rounded to float32: scikit-learn's trees split float32 copies of the features.
    return x.astype(np.float32).astype(np.float64)


def classification_data(rng):
    n = N_TRAIN + N_TEST
    x = features(rng, n)
    logit = (
        -0.5
        + 1.2 * x[:, 0]
        - 0.8 * x[:, 1]
        + 0.9 * x[:, 2] * x[:, 3]
        + np.sin(2 * x[:, 4])
        + 0.7 * x[:, 5]
        + 0.15 * (x[:, 6] - 5)
    )  # x7 is noise
    p = 1 / (1 + np.exp(-logit))
    y = (rng.uniform(size=n) < p).astype(np.float64)
    return x, y, p


def regression_data(rng):
    n = N_TRAIN + N_TEST
    x = features(rng, n)
    mean = (
        2
        + 3 * x[:, 0]
        - 2 * x[:, 1]
        + 1.5 * x[:, 2] ** 2
        + 2 * np.sin(2 * x[:, 3])
        + x[:, 4] * x[:, 5]
        + 0.5 * x[:, 6]
    )  # x7 is noise
    y = mean + rng.normal(scale=0.5, size=n)
    return x, y, mean


def write_csv(name, x, y, truth):
    split = ["train"] * N_TRAIN + ["test"] * N_TEST
    with open(os.path.join(HERE, name), "w") as f:
        f.write(",".join(FEATURES + ["y", "truth", "split"]) + "\n")
        for i in range(len(y)):
            row = [repr(float(v)) for v in x[i]] + [repr(float(y[i])), repr(float(truth[i])), split[i]]
            f.write(",".join(row) + "\n")


def classifier_figures(model, xtr, ytr, xte, yte):
    model.fit(xtr, ytr)
    p = model.predict_proba(xte)[:, 1]
    return {
        "roc_auc": roc_auc_score(yte, p),
        "log_loss": log_loss(yte, p),
        "brier": brier_score_loss(yte, p),
    }


def regressor_figures(model, xtr, ytr, xte, yte):
    model.fit(xtr, ytr)
    p = model.predict(xte)
    return {"r2": r2_score(yte, p), "rmse": mean_squared_error(yte, p, squared=False)}


def models(rng):
    out = {
        "params": {
            "tree": TREE, "exact_tree": EXACT_TREE, "forest": FOREST, "gbm": GBM,
            "logistic_c": LOGISTIC_C,
        }
    }
    x, y, p = classification_data(rng)
    write_csv("classification.csv", x, y, p)
    xtr, ytr, xte, yte = x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
    c = {"truth_roc_auc": roc_auc_score(yte, p[N_TRAIN:])}
    c["tree"] = classifier_figures(DecisionTreeClassifier(random_state=0, **TREE), xtr, ytr, xte, yte)
    exact = DecisionTreeClassifier(random_state=0, **EXACT_TREE).fit(xtr, ytr)
    c["exact_tree_proba"] = floats(exact.predict_proba(xte)[:, 1])
    rf = RandomForestClassifier(random_state=0, oob_score=True, max_features="sqrt", n_jobs=-1, **FOREST)
    c["forest"] = classifier_figures(rf, xtr, ytr, xte, yte)
    c["forest"]["oob_roc_auc"] = roc_auc_score(ytr, rf.oob_decision_function_[:, 1])
    c["gbm"] = classifier_figures(
        HistGradientBoostingClassifier(random_state=0, early_stopping=False, **GBM), xtr, ytr, xte, yte
    )
    scaler = StandardScaler().fit(xtr)
    lr = LogisticRegression(C=LOGISTIC_C, tol=1e-12, max_iter=100000)
    c["logistic"] = classifier_figures(lr, scaler.transform(xtr), ytr, scaler.transform(xte), yte)
    c["logistic"]["standardized_coef"] = floats(lr.coef_)
    c["logistic"]["standardized_intercept"] = float(lr.intercept_[0])
    out["classification"] = c

    x, y, mean = regression_data(rng)
    write_csv("regression.csv", x, y, mean)
    xtr, ytr, xte, yte = x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
    r = {"truth_r2": r2_score(yte, mean[N_TRAIN:])}
    r["tree"] = regressor_figures(DecisionTreeRegressor(random_state=0, **TREE), xtr, ytr, xte, yte)
    exact = DecisionTreeRegressor(random_state=0, **EXACT_TREE).fit(xtr, ytr)
    r["exact_tree_pred"] = floats(exact.predict(xte))
    rf = RandomForestRegressor(random_state=0, oob_score=True, max_features=1.0, n_jobs=-1, **FOREST)
    r["forest"] = regressor_figures(rf, xtr, ytr, xte, yte)
    r["forest"]["oob_r2"] = rf.oob_score_
    r["gbm"] = regressor_figures(
        HistGradientBoostingRegressor(random_state=0, early_stopping=False, **GBM), xtr, ytr, xte, yte
    )
    lin = LinearRegression()
    r["linear"] = regressor_figures(lin, xtr, ytr, xte, yte)
    r["linear"]["coef"] = floats(lin.coef_)
    r["linear"]["intercept"] = float(lin.intercept_)
    out["regression"] = r
    return out


def metric_case(name, y, p):
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    # Expected calibration error over the same bins, computed independently of the Go code:
    # counts per bin with numpy's searchsorted on linspace edges, as calibration_curve does.
    bins = np.linspace(0.0, 1.0, 11)
    ids = np.searchsorted(bins[1:-1], p)
    counts = np.bincount(ids, minlength=10)
    counts = counts[counts > 0]
    ece = float(np.sum(counts * np.abs(prob_pred - prob_true)) / len(y))
    return {
        "name": name,
        "y": floats(y),
        "p": floats(p),
        "roc_auc": roc_auc_score(y, p),
        "average_precision": average_precision_score(y, p),
        "log_loss": log_loss(y, p),
        "brier": brier_score_loss(y, p),
        "reliability_true": floats(prob_true),
        "reliability_pred": floats(prob_pred),
        "reliability_count": [int(c) for c in counts],
        "ece": ece,
    }


def metrics(rng):
    cases = []
    # Heavy ties: scores on a 0.1 grid, including 0 and 1 (log loss clips them) and every bin
    # edge of the reliability curve.
    y = rng.integers(0, 2, size=300).astype(np.float64)
    p = np.clip(np.round(0.25 + 0.5 * y + rng.normal(scale=0.3, size=300), 1), 0, 1)
    cases.append(metric_case("ties", y, p))
    y = (rng.uniform(size=500) < 0.3).astype(np.float64)
    p = 1 / (1 + np.exp(-(rng.normal(size=500) + 1.5 * y - 1)))
    cases.append(metric_case("continuous", y, p))
    cases.append(metric_case("perfect", np.array([0, 0, 1, 1.0]), np.array([0.1, 0.2, 0.8, 0.9])))
    cases.append(metric_case("reversed", np.array([0, 0, 1, 1.0]), np.array([0.9, 0.8, 0.2, 0.1])))
    cases.append(metric_case("all_tied", np.array([0, 1, 0, 1, 1.0]), np.array([0.5] * 5)))
    reg = []
    for name, n in [("small", 7), ("medium", 400)]:
        yt = rng.normal(loc=3, scale=2, size=n)
        yp = yt + rng.normal(scale=1, size=n)
        reg.append({
            "name": name, "y": floats(yt), "p": floats(yp),
            "mae": mean_absolute_error(yt, yp),
            "rmse": mean_squared_error(yt, yp, squared=False),
            "r2": r2_score(yt, yp),
        })
    return cases, reg


def isotonic(rng):
    cases = []
    # Scores with ties, binary labels (calibration), no weights.
    x = np.round(rng.uniform(size=400), 2)
    y = (rng.uniform(size=400) < x ** 2).astype(np.float64)
    cases.append((x, y, None))
    # Continuous targets with weights, some zero.
    x = rng.normal(size=200)
    y = x + rng.normal(scale=1, size=200)
    w = rng.uniform(0, 2, size=200)
    w[::17] = 0
    cases.append((x, y, w))
    # Scores closer than numpy's resolution (1e-15) are pooled.
    cases.append((np.array([0.0, 5e-16, 1.0, 1.0 + 4e-16, 2.0]), np.array([1.0, 0.0, 3.0, 2.0, 2.5]), None))
    out = []
    for x, y, w in cases:
        iso = IsotonicRegression(out_of_bounds="clip").fit(x, y, sample_weight=w)
        q = np.concatenate([[x.min() - 1, x.max() + 1], np.linspace(x.min(), x.max(), 37), x[:20]])
        out.append({
            "x": floats(x), "y": floats(y), "w": None if w is None else floats(w),
            "query": floats(q), "predict": floats(iso.predict(q)),
            "x_thresholds": floats(iso.X_thresholds_), "y_thresholds": floats(iso.y_thresholds_),
        })
    return out


def platt(rng):
    out = []
    for n, shift in [(300, 1.0), (1000, 2.5)]:
        y = (rng.uniform(size=n) < 0.4).astype(np.float64)
        s = rng.normal(size=n) + shift * y
        a, b = _sigmoid_calibration(s, y)
        out.append({"score": floats(s), "y": floats(y), "a": float(a), "b": float(b)})
    return out


def main():
    rng = np.random.default_rng(20240501)
    golden = {"sklearn_version": sklearn.__version__, "numpy_version": np.__version__}
    golden["classification_metrics"], golden["regression_metrics"] = metrics(rng)
    golden["isotonic"] = isotonic(rng)
    golden["platt"] = platt(rng)
    golden["models"] = models(rng)
    with open(os.path.join(HERE, "sklearn_golden.json"), "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote sklearn_golden.json, classification.csv, regression.csv to", HERE, file=sys.stderr)


if __name__ == "__main__":
    main()
