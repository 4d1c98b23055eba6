#!/usr/bin/python3
"""scikit-learn's side of bench/models_test.go (BenchmarkNoShowModels).

Reads the no-show feature matrix that the Go benchmark exported from PostgreSQL with
pkg/predict, already split by time (train.csv, valid.csv, test.csv in --dir: the feature
columns, then the label column "y"), trains one scikit-learn model, and prints one JSON object:
the test ROC AUC, the fit time in seconds and the number of boosting rounds or trees.

  --model hgb  HistGradientBoostingClassifier with the parameters of --params (pkg/predict's
               no-show boosting: learning rate, leaves, min leaf, L2, rounds, patience).
               scikit-learn cannot stop early on a given validation set, so it is fitted on
               the training and validation rows together and holds out the same share of them
               (at random) for its early stopping.
  --model rf   RandomForestClassifier (trees, min leaf of --params, sqrt(features) candidates
               per split, all cores), fitted on the training rows, as pkg/ml's forest is.

Run with Debian's interpreter, which has scikit-learn and pandas:

  apt-get install -y python3-sklearn python3-pandas
"""

import argparse
import json
import os
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import roc_auc_score


def load(directory, name):
    d = pd.read_csv(os.path.join(directory, name))
    y = d.pop("y").to_numpy()
    return d.to_numpy(dtype=np.float64), y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--model", choices=["hgb", "rf"], required=True)
    ap.add_argument("--params", default="{}", help="JSON object of hyperparameters")
    args = ap.parse_args()
    p = json.loads(args.params)

    xtr, ytr = load(args.dir, "train.csv")
    xva, yva = load(args.dir, "valid.csv")
    xte, yte = load(args.dir, "test.csv")

    if args.model == "hgb":
        x = np.vstack([xtr, xva])
        y = np.concatenate([ytr, yva])
        model = HistGradientBoostingClassifier(
            learning_rate=p.get("learning_rate", 0.1),
            max_leaf_nodes=p.get("max_leaf_nodes", 31),
            min_samples_leaf=p.get("min_samples_leaf", 20),
            l2_regularization=p.get("l2", 0.0),
            max_iter=p.get("max_iter", 100),
            early_stopping=True,
            validation_fraction=len(yva) / len(y),
            n_iter_no_change=p.get("patience", 10),
            tol=p.get("tol", 1e-7),
            random_state=0,
        )
    else:
        x, y = xtr, ytr
        model = RandomForestClassifier(
            n_estimators=p.get("trees", 100),
            min_samples_leaf=p.get("min_samples_leaf", 1),
            max_features="sqrt",
            n_jobs=-1,
            random_state=0,
        )
    start = time.perf_counter()
    model.fit(x, y)
    seconds = time.perf_counter() - start
    auc = roc_auc_score(yte, model.predict_proba(xte)[:, 1])
    size = model.n_iter_ if args.model == "hgb" else len(model.estimators_)
    print(json.dumps({
        "model": args.model,
        "sklearn": sklearn.__version__,
        "train_rows": int(len(y)),
        "test_rows": int(len(yte)),
        "auc": float(auc),
        "fit_seconds": seconds,
        "size": int(size),
    }))


if __name__ == "__main__":
    main()
