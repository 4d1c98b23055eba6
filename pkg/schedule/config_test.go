package schedule_test

import (
	"errors"
	"testing"

	"github.com/bdc-analytics/bdc/pkg/schedule"
)

// TestConfigErrorsNameFileLineAndField checks that every kind of mistake in reporter.yml is
// reported with the file, the line and the field's path.
func TestConfigErrorsNameFileLineAndField(t *testing.T) {
	cases := []struct {
		name, yml, want string
	}{
		{"syntax", "jobs:\n\t- name: a\n", "reporter.yml:2: (syntax): found character that cannot start any token"},
		{"empty", "", "reporter.yml: (top level): the file is empty: want output_dir and jobs"},
		{"unknown top-level field", "output_dir: x\njobz: []\n", "reporter.yml:2: jobz: unknown field (want one of concurrency, defaults, jobs, output_dir, retention, timezone, watchdog)"},
		{"unknown job field", "jobs:\n  - name: a\n    kind: export\n    shedule: \"* * * * *\"\n", "reporter.yml:4: jobs[0].shedule: unknown field"},
		{"missing name", "jobs:\n  - kind: export\n", "reporter.yml:2: jobs[0].name: is required"},
		{"bad name", "jobs:\n  - name: Daily Export\n", `reporter.yml:2: jobs[0].name: "Daily Export" is not a job name`},
		{"unknown kind", "jobs:\n  - name: a\n    kind: mail\n", `reporter.yml:3: jobs[0].kind: unknown kind "mail" (want one of export, insights, report, train)`},
		{"report not available", "jobs:\n  - name: weekly_reports\n    kind: report\n    schedule: \"0 7 * * 1\"\n",
			`reporter.yml:3: jobs[0].kind: kind "report" is not available in this build (available: export)`},
		{"insights not available", "jobs:\n  - name: daily_insights\n    kind: insights\n    schedule: \"0 6 * * *\"\n",
			`reporter.yml:3: jobs[0].kind: kind "insights" is not available in this build`},
		{"train not available", "jobs:\n  - name: retrain_models\n    kind: train\n    schedule: \"0 3 * * 0\"\n",
			`reporter.yml:3: jobs[0].kind: kind "train" is not available in this build`},
		{"bad cron", "jobs:\n  - name: a\n    kind: export\n    schedule: \"61 * * * *\"\n", `reporter.yml:4: jobs[0].schedule: "61 * * * *" is not a valid cron expression`},
		{"cron fields", "jobs:\n  - name: a\n    kind: export\n    schedule: \"* * *\"\n", `reporter.yml:4: jobs[0].schedule: "* * *" has 3 fields`},
		{"@every", "jobs:\n  - name: a\n    kind: export\n    schedule: \"@every 5m\"\n", "reporter.yml:4: jobs[0].schedule: @every is not tied to the clock"},
		{"zone in cron", "jobs:\n  - name: a\n    kind: export\n    schedule: \"CRON_TZ=UTC 0 * * * *\"\n", "reporter.yml:4: jobs[0].schedule: give the time zone with the job's timezone field"},
		{"bad zone", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    timezone: Mars/Olympus\n", `reporter.yml:5: jobs[0].timezone: "Mars/Olympus" is not an IANA time zone name`},
		{"bad duration", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    timeout: soon\n", `reporter.yml:5: jobs[0].timeout: not a valid duration string: "soon"`},
		{"retries range", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    retries: 99\n", "reporter.yml:5: jobs[0].retries: must be between 0 and 20, got 99"},
		{"jitter range", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    backoff:\n      jitter: 2\n", "reporter.yml:6: jobs[0].backoff.jitter: must be between 0 and 1, got 2"},
		{"duplicate job", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export: [{source: users, format: csv}]\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export: [{source: users, format: csv}]\n",
			`reporter.yml:6: jobs[1].name: "a" is already the name of the job on line 2`},
		{"no export block", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n", "reporter.yml:2: jobs[0].export: an export job needs an export list"},
		{"other kind's block", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    train: {force: true}\n    export: [{source: users, format: csv}]\n",
			"reporter.yml:5: jobs[0].train: only jobs of kind train take a train block (this job is of kind export)"},
		{"unknown source", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: clients\n        format: csv\n",
			`reporter.yml:6: jobs[0].export[0].source: unknown source "clients"`},
		{"unknown format", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: users\n        format: docx\n",
			`reporter.yml:7: jobs[0].export[0].format: unknown format "docx" (want one of csv, json, jsonl, xlsx, parquet, xml, yaml)`},
		{"unknown column in predicate", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: users\n        format: csv\n        where:\n          - {column: rol, op: \"=\", value: admin}\n",
			`reporter.yml:9: jobs[0].export[0].where[0].column: users has no column "rol"`},
		{"bad operator", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: users\n        format: csv\n        where:\n          - column: role\n            op: ~=\n            value: admin\n",
			`reporter.yml:10: jobs[0].export[0].where[0].op: unknown operator "~="`},
		{"value of the wrong type", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: feedback\n        format: csv\n        where:\n          - column: score\n            op: \">=\"\n            value: four\n",
			`reporter.yml:11: jobs[0].export[0].where[0].value: four (string) is not a int`},
		{"anonymize without key", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: users\n        format: csv\n        pii: anonymize\n",
			"reporter.yml:8: jobs[0].export[0].pii: anonymize needs the export hash key"},
		{"xlsx row limit", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: users\n        format: xlsx\n        max_rows_per_file: 1048576\n",
			"reporter.yml:8: jobs[0].export[0].max_rows_per_file: xlsx holds at most 1048575 rows per file, got 1048576"},
		{"two exports with one name", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - {source: users, format: csv}\n      - {source: users, format: csv}\n",
			"reporter.yml:7: jobs[0].export[1]: exports 0 and 1 would both be named users.csv: give one a name"},
		{"bad time range", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: users\n        format: csv\n        time_range: {period: fortnight}\n",
			`reporter.yml:8: jobs[0].export[0].time_range.period: unknown period "fortnight" (want day, week or month)`},
		{"bad analytics params", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: funnel\n        format: csv\n        params: {series: [signup]}\n",
			"reporter.yml:8: jobs[0].export[0].params: invalid parameter series: a funnel has 2 to 20 steps, got 1"},
		{"derive", "jobs:\n  - name: a\n    kind: export\n    schedule: \"0 * * * *\"\n    export:\n      - source: users\n        format: csv\n        derive:\n          - {name: d, func: days_between, args: [created_at, role]}\n",
			"reporter.yml:9: jobs[0].export[0].derive[0].args[1]: days_between takes a timestamp, and role is a string column"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := schedule.ParseConfig("reporter.yml", []byte(c.yml), kinds(nil))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !contains(err.Error(), c.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, c.want)
			}
			var ce *schedule.ConfigError
			if c.name != "syntax" && c.name != "empty" && !errors.As(err, &ce) {
				t.Errorf("%T is not a *schedule.ConfigError", err)
			}
		})
	}
}
