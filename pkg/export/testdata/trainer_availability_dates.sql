select "trainer_id"::bigint, "day"::date, "available_minutes"::bigint from bdc."trainer_availability" where "day" >= $1::date and "day" < $2::date and "trainer_id" <> all($3::bigint[]) order by "trainer_id", "day"
-- $1 = time.Date(2026, time.May, 1, 0, 0, 0, 0, time.UTC)
-- $2 = time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)
-- $3 = []int64{1, 2}
