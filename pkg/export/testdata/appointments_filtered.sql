select "id"::bigint, "status"::text, "scheduled_at"::timestamptz, "booked_at"::timestamptz from bdc."appointments" where "scheduled_at" >= $1::timestamptz and "scheduled_at" < $2::timestamptz and "status" = any($3::text[]) and "duration_minutes" >= $4::bigint and "reminder_sent" = $5::boolean and "channel" like $6::text order by "id" limit $7::bigint
-- $1 = time.Date(2026, time.May, 25, 0, 0, 0, 0, time.Location("Europe/Paris"))
-- $2 = time.Date(2026, time.June, 1, 0, 0, 0, 0, time.Location("Europe/Paris"))
-- $3 = []string{"completed", "no_show"}
-- $4 = 45
-- $5 = false
-- $6 = "%'; drop table bdc.users; --"
-- $7 = 10
