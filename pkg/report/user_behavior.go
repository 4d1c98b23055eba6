package report

// userBehavior is the product team's monthly report: activity and retention, cohorts, the
// programme funnel, journeys, segments and the beneficiaries at risk of leaving.
func userBehavior() *Template {
	return &Template{
		Name:        "user_behavior",
		Title:       "User behaviour",
		Description: "How beneficiaries use the platform: activity and retention, weekly cohorts, the programme funnel, the most common journeys, behaviour segments and the active beneficiaries most at risk of leaving.",
		Period:      "month",
		Sections: []SectionSpec{
			{Kind: SectionKPIs, Title: "Activity and retention", KPIs: []string{
				`bdc_users_active`,
				`bdc_retention_ratio{period="week",age="1"}`,
				`bdc_retention_ratio{period="week",age="4"}`,
				`bdc_retention_ratio{period="month",age="1"}`,
				`bdc_retention_ratio{period="month",age="3"}`,
				`bdc_conversion_ratio`,
			}},
			{Kind: SectionCohorts, Title: "Weekly cohorts", Period: "week", Cohorts: 8, Intervals: 8},
			{Kind: SectionFunnel, Title: "Programme funnel", WindowDays: 90,
				Steps: []string{"signup", "appointment_booked", "appointment_completed", "evaluation_completed", "programme_completed"}},
			{Kind: SectionPaths, Title: "Most common journeys", Limit: 10},
			{Kind: SectionSegments, Title: "Segments (RFM)", Method: "rfm", Days: 90},
			{Kind: SectionPredictions, Title: "Beneficiaries at risk of churn", Model: "churn", Threshold: 0.5, Limit: 20},
			{Kind: SectionInsights, Title: "Insights"},
		},
	}
}
