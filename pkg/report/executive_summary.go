package report

// executiveSummary is the weekly report for the operations lead: the key figures against the
// previous week, what changed, the trends, the appointments ahead and those at risk.
func executiveSummary() *Template {
	return &Template{
		Name:        "executive_summary",
		Title:       "Executive summary",
		Description: "The platform's key figures for the period, compared with the period before, with the insights found, the trends, next weeks' appointments and the appointments most at risk of a no-show.",
		Period:      "week",
		Sections: []SectionSpec{
			{Kind: SectionKPIs, Title: "Key figures", KPIs: []string{
				`bdc_users_active{window="auto"}`,
				`bdc_beneficiaries{status="active"}`,
				`bdc_conversion_ratio{step="first_appointment"}`,
				`bdc_retention_ratio{period="week",age="4"}`,
				`bdc_revenue_per_active_user`,
				`bdc_appointment_completion_ratio{window="auto"}`,
				`bdc_appointment_noshow_ratio{window="auto"}`,
				`bdc_trainer_utilization_ratio{window="7d"}`,
				`bdc_satisfaction_score`,
			}},
			{Kind: SectionInsights, Title: "What changed", Limit: 10},
			{Kind: SectionTrend, Title: "Active users", KPIs: []string{`bdc_users_active{window="1d"}`, `bdc_users_active{window="7d"}`}},
			{Kind: SectionTrend, Title: "Attendance", KPIs: []string{`bdc_appointment_completion_ratio{window="7d"}`, `bdc_appointment_noshow_ratio{window="7d"}`}},
			{Kind: SectionForecast, Title: "Appointments ahead", Series: "appointments"},
			{Kind: SectionPredictions, Title: "Appointments at risk of a no-show", Model: "noshow", Threshold: 0.5, Limit: 10},
		},
	}
}
