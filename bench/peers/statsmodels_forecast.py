#!/usr/bin/python3
"""statsmodels' side of bench/models_test.go (BenchmarkForecasts).

  statsmodels_forecast.py co2 OUT.csv
      writes statsmodels' Mauna Loa CO2 data as monthly means from 1965 (the series
      pkg/forecast's golden tests use), one "value" per line with a header.

  statsmodels_forecast.py backtest --series FILE --period M --horizon H --origins O1,O2,...
      runs the same rolling-origin backtest as pkg/forecast.Backtest on the series of FILE with
      statsmodels' ExponentialSmoothing (Holt-Winters, additive seasonality of period M), in
      two configurations a user would pick: additive trend, and additive damped trend. For each
      origin o it fits to values[:o] and forecasts H steps; prediction intervals are the
      empirical quantiles of 2,000 simulated paths (ExponentialSmoothing has no analytical
      intervals). It prints one JSON object per configuration: MASE (each error scaled by the
      in-sample mean absolute seasonal difference at lag M of that origin's training data, as
      pkg/forecast does), sMAPE, the coverage of the 80% and 95% intervals (bounds included)
      and the fitting time. --config runs one configuration (holt_winters_additive or
      holt_winters_damped).

Run with Debian's interpreter, which has statsmodels:

  apt-get install -y python3-statsmodels python3-pandas
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
import statsmodels
from statsmodels.tsa.holtwinters import ExponentialSmoothing

LEVELS = (0.8, 0.95)
CONFIGS = {
    "holt_winters_additive": dict(trend="add", damped_trend=False, seasonal="add"),
    "holt_winters_damped": dict(trend="add", damped_trend=True, seasonal="add"),
}


def co2(out):
    path = os.path.join(os.path.dirname(statsmodels.__file__), "datasets", "co2", "co2.csv")
    d = pd.read_csv(path)
    d.index = pd.to_datetime(d["date"].astype(str), format="%Y%m%d")
    m = d["co2"].resample("MS").mean()["1965-01-01":]
    assert not m.isna().any()
    pd.DataFrame({"value": m.round(6).to_numpy()}).to_csv(out, index=False)


def backtest(values, period, horizon, origins, config):
    abs_scaled, smape, inside, seconds = [], [], {lv: [] for lv in LEVELS}, 0.0
    for o in origins:
        train = values[:o]
        actual = values[o:o + horizon]
        scale = np.mean(np.abs(train[period:] - train[:-period]))
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ExponentialSmoothing(train, seasonal_periods=period, initialization_method="estimated",
                                       **config).fit()
            mean = res.forecast(horizon)
            paths = res.simulate(horizon, repetitions=2000, error="add", anchor="end",
                                 random_state=np.random.RandomState(o))
        seconds += time.perf_counter() - start
        paths = np.asarray(paths).reshape(horizon, -1)
        err = np.abs(actual - mean)
        abs_scaled.extend(err / scale)
        denom = np.abs(actual) + np.abs(mean)
        smape.extend(np.where(denom == 0, 0.0, 200 * err / np.where(denom == 0, 1, denom)))
        for lv in LEVELS:
            lo = np.quantile(paths, (1 - lv) / 2, axis=1)
            hi = np.quantile(paths, (1 + lv) / 2, axis=1)
            inside[lv].extend((actual >= lo) & (actual <= hi))
    return {
        "mase": float(np.mean(abs_scaled)),
        "smape": float(np.mean(smape)),
        "coverage80": float(np.mean(inside[0.8])),
        "coverage95": float(np.mean(inside[0.95])),
        "fit_seconds": seconds,
        "forecasts": len(abs_scaled),
    }


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "co2":
        co2(sys.argv[2])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["backtest"])
    ap.add_argument("--series", required=True)
    ap.add_argument("--period", type=int, required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--origins", required=True)
    ap.add_argument("--config", choices=sorted(CONFIGS), action="append",
                    help="configuration to run (repeatable); default all")
    args = ap.parse_args()
    values = pd.read_csv(args.series)["value"].to_numpy(dtype=np.float64)
    origins = [int(o) for o in args.origins.split(",")]
    for name, config in CONFIGS.items():
        if args.config and name not in args.config:
            continue
        out = backtest(values, args.period, args.horizon, origins, config)
        out["model"] = name
        out["statsmodels"] = statsmodels.__version__
        print(json.dumps(out))


if __name__ == "__main__":
    main()
