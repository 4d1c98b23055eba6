package report

// operational is the operations team's report: attendance, trainers' capacity, evaluations and
// support, with the forecasts of demand and utilization and the appointments to call ahead.
func operational() *Template {
	return &Template{
		Name:        "operational",
		Title:       "Operations report",
		Description: "How appointments, trainers' time, evaluations and support went over the period, what the coming weeks hold, and which upcoming appointments are most likely to be missed.",
		Period:      "week",
		Sections: []SectionSpec{
			{Kind: SectionKPIs, Title: "Operations at a glance", KPIs: []string{
				`bdc_appointment_completion_ratio{window="auto"}`,
				`bdc_appointment_noshow_ratio{window="auto"}`,
				`bdc_trainer_utilization_ratio`,
				`bdc_evaluation_completion_ratio`,
				`bdc_evaluation_score`,
				`bdc_satisfaction_score`,
				`bdc_support_resolution_seconds`,
				`bdc_support_tickets_open`,
			}},
			{Kind: SectionTrend, Title: "Completion and no-shows", KPIs: []string{`bdc_appointment_completion_ratio{window="7d"}`, `bdc_appointment_noshow_ratio{window="7d"}`}},
			{Kind: SectionTrend, Title: "Trainer utilization", KPIs: []string{`bdc_trainer_utilization_ratio{window="7d"}`, `bdc_trainer_utilization_ratio{window="next_7d"}`}},
			{Kind: SectionForecast, Title: "Appointments forecast", Series: "appointments"},
			{Kind: SectionForecast, Title: "Trainer utilization forecast", Series: "trainer_utilization"},
			{Kind: SectionPredictions, Title: "Upcoming appointments at risk", Model: "noshow", Threshold: 0.4, Limit: 25},
			{Kind: SectionInsights, Title: "Insights"},
		},
	}
}
