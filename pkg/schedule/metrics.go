package schedule

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the scheduler's self-metrics. Counters count what this replica did; the last
// success timestamp is the cluster's, read from the run records, so any replica answers for all.
type metrics struct {
	runs        *prometheus.CounterVec
	failures    *prometheus.CounterVec
	retries     *prometheus.CounterVec
	takeovers   *prometheus.CounterVec
	expired     *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	success     *prometheus.GaugeVec
	running     *prometheus.GaugeVec
	next        *prometheus.GaugeVec
	rows        *prometheus.CounterVec
	files       *prometheus.CounterVec
	pruned      *prometheus.CounterVec
	databaseUp  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	job := []string{"job"}
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bdc_reporter_job_runs_total",
			Help: "Runs this replica brought to an end, by outcome (succeeded or failed)."}, []string{"job", "status"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bdc_reporter_job_failures_total",
			Help: "Failed runs (after their retries), by reason: database, output, timeout or job."}, []string{"job", "reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bdc_reporter_job_retries_total",
			Help: "Failed attempts that were retried."}, job),
		takeovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bdc_reporter_job_takeovers_total",
			Help: "Runs this replica picked up from a replica that stopped in the middle of them."}, job),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bdc_reporter_watchdog_expired_runs_total",
			Help: "Runs the watchdog failed because they were still running past their deadline."}, job),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bdc_reporter_job_duration_seconds",
			Help:    "Duration of the runs this replica brought to an end, retries included.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200}}, job),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bdc_reporter_job_last_success_timestamp_seconds",
			Help: "When the job's latest successful run finished, on any replica (0: never)."}, job),
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bdc_reporter_job_success",
			Help: "Whether the latest run this replica brought to an end succeeded (1) or failed (0)."}, job),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bdc_reporter_job_running",
			Help: "Runs of the job in progress on this replica."}, job),
		next: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bdc_reporter_job_next_run_timestamp_seconds",
			Help: "The job's next scheduled firing (absent for disabled jobs)."}, job),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bdc_reporter_export_rows_total",
			Help: "Rows written by successful runs."}, job),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bdc_reporter_files_written_total",
			Help: "Files published by successful runs (data, sidecars and manifests)."}, job),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bdc_reporter_folders_pruned_total",
			Help: "Date folders removed by the job's retention."}, job),
		databaseUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bdc_reporter_database_up",
			Help: "Whether the last ping of PostgreSQL by the watchdog succeeded (1) or not (0)."}),
	}
	reg.MustRegister(m.runs, m.failures, m.retries, m.takeovers, m.expired, m.duration, m.lastSuccess, m.success,
		m.running, m.next, m.rows, m.files, m.pruned, m.databaseUp)
	return m
}

// init makes every job's series exist from the start, so that rate() and absent() see zeros.
func (m *metrics) init(j *Job) {
	m.runs.WithLabelValues(j.Name, StatusSucceeded)
	m.runs.WithLabelValues(j.Name, StatusFailed)
	for _, r := range []string{ReasonDatabase, ReasonOutput, ReasonTimeout, ReasonJob} {
		m.failures.WithLabelValues(j.Name, r)
	}
	m.retries.WithLabelValues(j.Name)
	m.takeovers.WithLabelValues(j.Name)
	m.expired.WithLabelValues(j.Name)
	m.lastSuccess.WithLabelValues(j.Name)
	m.running.WithLabelValues(j.Name)
	m.rows.WithLabelValues(j.Name)
	m.files.WithLabelValues(j.Name)
	m.pruned.WithLabelValues(j.Name)
}
