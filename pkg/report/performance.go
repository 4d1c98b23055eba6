package report

// performance is the platform's KPI history over the period: the KPIs against the previous
// period and their course step by step, read from Prometheus when the job gives its URL
// (prometheus_url), else computed from PostgreSQL at every step.
func performance() *Template {
	return &Template{
		Name:        "performance",
		Title:       "Platform performance",
		Description: "The course of the platform's KPIs over the period, step by step, as Prometheus recorded them (or as computed from the database when no Prometheus is given).",
		Period:      "week",
		Sections: []SectionSpec{
			{Kind: SectionKPIs, Title: "KPIs", KPIs: []string{
				`bdc_users_active{window="1d"}`,
				`bdc_appointment_completion_ratio{window="7d"}`,
				`bdc_appointment_noshow_ratio{window="7d"}`,
				`bdc_trainer_utilization_ratio{window="7d"}`,
				`bdc_satisfaction_score`,
				`bdc_support_resolution_seconds`,
				`bdc_page_load_seconds`,
			}},
			{Kind: SectionTrend, Title: "Active users", KPIs: []string{`bdc_users_active{window="1d"}`, `bdc_users_active{window="7d"}`}},
			{Kind: SectionTrend, Title: "Appointments", KPIs: []string{`bdc_appointment_completion_ratio{window="7d"}`, `bdc_appointment_noshow_ratio{window="7d"}`}},
			{Kind: SectionTrend, Title: "Trainer utilization", KPIs: []string{`bdc_trainer_utilization_ratio{window="7d"}`, `bdc_trainer_utilization_ratio{window="next_7d"}`}},
			{Kind: SectionTrend, Title: "Satisfaction", KPIs: []string{`bdc_satisfaction_score`}},
			{Kind: SectionTrend, Title: "Support resolution time", KPIs: []string{`bdc_support_resolution_seconds`}},
			{Kind: SectionTrend, Title: "Page load time", KPIs: []string{`bdc_page_load_seconds`}},
		},
	}
}
