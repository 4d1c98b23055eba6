// Package predict turns the platform's PostgreSQL data into the suite's predictive models: it
// extracts features with SQL that only reads what was known at prediction time, splits rows by
// time, trains and calibrates the models of package ml, keeps their versions in a registry in
// schema bdc_analytics, scores upcoming appointments and active beneficiaries with their main
// factors, measures drift, decides when to retrain, and feeds package forecast with daily series.
//
// The models (Models, Lookup):
//
//   - noshow: will a held appointment be missed? Features as of the appointment's booked_at;
//     the rows are the appointments that ended completed or no_show (cancellations have their
//     own cause and are left out).
//   - churn: will an active beneficiary have no activity in the 30 days after a cutoff?
//     Features as of the cutoff; the rows are (beneficiary, cutoff) pairs on a 28-day grid.
//   - engagement: will an active beneficiary be active on at least 4 of the next 30 days?
//     Same rows and features as churn.
//   - evaluation_score: the score of a completed evaluation, as a percentage of its maximum,
//     with features as of the evaluation's started_at.
//
// Capacity forecasts come from package forecast fitted to the daily series of Store.Series
// (appointments, registrations, trainer utilization).
//
// Time is explicit: every function that depends on "now" takes it as a parameter, so the
// reporter passes its clock and tests pass the generator's end. Every row has an as-of instant
// (the prediction time its features are computed at) and, once known, a label instant (when its
// outcome became known). Splits are on the label instant: a model is trained on outcomes known
// before its validation window and tested on outcomes that came after both (Window).
//
// All access goes through a Store. Feature SQL runs in read-only transactions
// (store.DB.ReadOnly), one query per frame: lateral joins and filtered aggregates, no per-row
// round trips. Only the reporter writes, through RunJob or its steps (Train then Register,
// MeasureDrift then SaveDrift, Forecast then SaveForecast); the exporter and the Grafana plugin
// read: LatestPromoted, PromotedVersions, Versions, LatestDrift, LatestForecast, and Score (which
// scores with the promoted version and writes nothing).
//
// The package must not read schema bdc_demo (the generator's ground truth): only tests and
// benchmarks do.
package predict
