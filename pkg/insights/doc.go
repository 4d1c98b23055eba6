// Package insights finds what a manager should know about the platform without reading every
// panel: trend changes of the main KPIs period over period, anomalies of the daily series against
// the interval of a forecast made before the days checked, and risk summaries of the promoted
// models (appointments of tomorrow likely to be missed, active beneficiaries likely to drop out).
//
// Each Insight has a category (trend, anomaly, risk), a priority (high, medium, low), a title and
// a detail in plain words, and the figures it rests on as evidence. Detect computes them at an
// instant and writes nothing; Generate saves them into bdc_analytics.insights, once per instant
// (a job's retried or taken-over firing replaces its own insights rather than adding to them);
// List reads them back, newest first, for the reporter's API and reports.
//
// The rules and their tests:
//
//   - Trend: for each KPI and period (the 7 or 30 days before the local midnight of the
//     instant, against the 7 or 30 days before those), an insight when the change is large
//     enough to matter (relative change at least the KPI's min_change), backed by enough rows
//     (at least min_count in both periods) and unlikely to be noise (two-sided p-value at most
//     significance): a pooled two-proportion z-test for ratios (no-show, completion,
//     conversion), Welch's z-test on the means for scores and durations (satisfaction, support
//     resolution time), and for counts of users the conditional test of two Poisson counts
//     (z = (c1 − c0) / √(c1 + c0)). A change for the worse is high priority past the KPI's
//     high_change, medium below it; a change for the better is low priority.
//   - Anomaly: for each daily series of package predict and each of the last complete days,
//     the actual value against the prediction interval of a forecast fitted with the history
//     up to the day before the first day checked. Outside the interval of level is medium
//     priority, outside the interval of high_level is high.
//   - Risk: with the promoted no-show model, the appointments of tomorrow (local day) whose
//     risk is at least the threshold; with the promoted churn model, the active beneficiaries
//     whose risk is at least the threshold; with their counts, the expected number of events and
//     the main factors that raise the risk most often. High priority when they are at least
//     high_share of the population scored. No promoted model: no insight, and no error.
//
// Insights carry ids (appointments, beneficiaries), never names or e-mail addresses.
//
// Periods, days and "tomorrow" are local calendar days of the platform's time zone. The trend
// measures are the KPIs of package kpi over the period's days (a test holds them equal), but for
// conversion: the beneficiaries whose first 30 days ended in the period, and whether they had a
// completed appointment in them, so that the two periods' cohorts are apart and equally old;
// forecasts, series and scores come from package predict. The package writes only
// bdc_analytics.insights, and never reads schema bdc_demo (the generator's ground truth).
package insights
