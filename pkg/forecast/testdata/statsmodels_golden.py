#!/usr/bin/python3
"""Regenerates the statsmodels golden files of pkg/forecast.

The Go tests compare pkg/forecast with statsmodels, an implementation they
share no code with. This script writes, next to itself:

  synthetic_daily.csv   two years of daily values: weekly seasonality, linear
                        trend and Gaussian noise (seeded, so reproducible)
  co2_monthly.csv       the Mauna Loa CO2 series that ships with statsmodels,
                        monthly means from 1965 (no missing months)
  statsmodels.json      per series: ETSModel fits (log-likelihood, AICc,
                        parameters, point forecasts, interval bounds) for every
                        additive-error model of pkg/forecast, and ThetaModel
                        forecasts

Run it with Debian's interpreter, which has statsmodels:

  apt-get install -y python3-statsmodels python3-pandas
  /usr/bin/python3 pkg/forecast/testdata/statsmodels_golden.py

Python is not needed to run the Go tests: they only read the files.
"""

import json
import os

import numpy as np
import pandas as pd
import statsmodels
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.forecasting.theta import ThetaModel

HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = [0.8, 0.95]

# The additive-error models of pkg/forecast, by Hyndman's short name:
# (trend, damped, seasonal).
SPECS = {
    "ANN": (None, False, None),
    "AAN": ("add", False, None),
    "AAdN": ("add", True, None),
    "ANA": (None, False, "add"),
    "AAA": ("add", False, "add"),
    "AAdA": ("add", True, "add"),
    "ANM": (None, False, "mul"),
    "AAM": ("add", False, "mul"),
    "AAdM": ("add", True, "mul"),
}


def synthetic_daily():
    """Daily bookings-like series: trend, weekday profile, Gaussian noise."""
    rng = np.random.default_rng(20240607)
    n = 730
    t = np.arange(n)
    # Monday..Sunday profile; 2023-01-02 is a Monday.
    weekday = np.array([18.0, 14.0, 10.0, 12.0, 6.0, -25.0, -35.0])
    y = 120.0 + 0.06 * t + weekday[t % 7] + rng.normal(0.0, 6.0, n)
    dates = pd.date_range("2023-01-02", periods=n, freq="D")
    return pd.Series(np.round(y, 3), index=dates)


def co2_monthly():
    path = os.path.join(
        os.path.dirname(statsmodels.__file__), "datasets", "co2", "co2.csv"
    )
    d = pd.read_csv(path)
    d.index = pd.to_datetime(d["date"].astype(str), format="%Y%m%d")
    m = d["co2"].resample("MS").mean()
    m = m["1965-01-01":]
    assert not m.isna().any()
    return m.round(6)


def fit_ets(y, period, horizon, name):
    trend, damped, seasonal = SPECS[name]
    # A pandas Series with a plain integer index: get_prediction of
    # statsmodels 0.13 fails on bare numpy arrays.
    model = ETSModel(
        pd.Series(y),
        error="add",
        trend=trend,
        damped_trend=damped,
        seasonal=seasonal,
        seasonal_periods=period if seasonal else None,
    )
    res = model.fit(disp=False, maxiter=10000)
    params = dict(zip(model.param_names, map(float, res.params)))
    pred = res.get_prediction(
        start=len(y),
        end=len(y) + horizon - 1,
        simulate_repetitions=5000,
        random_state=np.random.RandomState(1),
    )
    out = {
        "model": name,
        "llf": float(res.llf),
        "aicc": float(res.aicc),
        "df_model": int(res.df_model),
        "mse": float(res.mse),
        "params": params,
        "interval_method": pred.method,
        "mean": [float(v) for v in np.asarray(pred.predicted_mean)],
        "lower": {},
        "upper": {},
    }
    if seasonal:
        # statsmodels names initial_seasonal.j the state j+1 steps before the
        # first observation; store them also in time order (the first value
        # is the one the first observation uses), as pkg/forecast does.
        init = [params[f"initial_seasonal.{j}"] for j in range(period)]
        out["initial_seasonal_time_order"] = init[::-1]
    for level in LEVELS:
        pi = np.asarray(pred.pred_int(alpha=1 - level))
        out["lower"][f"{level:g}"] = [float(v) for v in pi[:, 0]]
        out["upper"][f"{level:g}"] = [float(v) for v in pi[:, 1]]
    return out


def fit_theta(y, period, horizon):
    res = ThetaModel(pd.Series(y), period=period).fit()
    out = {
        "b0": float(res.params["b0"]),
        "alpha": float(res.params["alpha"]),
        "deseasonalized": bool(res.model._has_seasonality),
        "method": res.model.method,
        "mean": [float(v) for v in np.asarray(res.forecast(horizon))],
        "lower": {},
        "upper": {},
    }
    for level in LEVELS:
        pi = res.prediction_intervals(horizon, alpha=1 - level)
        out["lower"][f"{level:g}"] = [float(v) for v in pi["lower"]]
        out["upper"][f"{level:g}"] = [float(v) for v in pi["upper"]]
    return out


def main():
    datasets = [
        ("synthetic_daily", synthetic_daily(), 7, 28),
        ("co2_monthly", co2_monthly(), 12, 24),
    ]
    golden = {
        "generator": "pkg/forecast/testdata/statsmodels_golden.py",
        "statsmodels_version": statsmodels.__version__,
        "levels": LEVELS,
        "datasets": [],
    }
    for name, series, period, horizon in datasets:
        csv = f"{name}.csv"
        frame = pd.DataFrame(
            {"date": series.index.strftime("%Y-%m-%d"), "value": series.values}
        )
        frame.to_csv(os.path.join(HERE, csv), index=False)
        y = np.asarray(series, dtype=float)
        entry = {
            "name": name,
            "csv": csv,
            "period": period,
            "horizon": horizon,
            "ets": [fit_ets(y, period, horizon, spec) for spec in SPECS],
            "theta": fit_theta(y, period, horizon),
        }
        best = min(entry["ets"], key=lambda e: e["aicc"])
        entry["aicc_best"] = best["model"]
        golden["datasets"].append(entry)
    with open(os.path.join(HERE, "statsmodels.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
