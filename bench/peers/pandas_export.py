#!/usr/bin/python3
"""pandas peer of bdc-reporter's export benchmark (bench/export_test.go).

Reads the first N rows of bdc.user_activities (by id) with pandas.read_sql over psycopg2, then
writes them as a user of pandas would: to_csv, to_json (an array of records, or JSON Lines) or
to_excel (openpyxl; Excel has no time zones, so timestamps are first turned into wall-clock times
in Europe/Paris, as bdc-reporter writes them). Prints one JSON object with the row count and the
seconds spent reading and writing; the caller measures the process's peak memory.

Run with Debian's interpreter, which has the packages: /usr/bin/python3 (python3-pandas,
python3-openpyxl, python3-psycopg2).
"""
import argparse
import json
import os
import time
import warnings

import pandas as pd
import psycopg2

QUERY = """select id, user_id, occurred_at, activity_type, feature, session_id, duration_ms
           from bdc.user_activities order by id limit %(rows)s"""


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--format", choices=["csv", "json", "jsonl", "xlsx"], required=True)
    p.add_argument("--out", required=True, help="file to write")
    a = p.parse_args()

    conn = psycopg2.connect(a.dsn)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # pandas warns that psycopg2 connections are not SQLAlchemy ones; they work.
        warnings.simplefilter("ignore", UserWarning)
        df = pd.read_sql(QUERY, conn, params={"rows": a.rows})
    conn.close()
    read = time.perf_counter() - start

    start = time.perf_counter()
    if a.format == "csv":
        df.to_csv(a.out, index=False)
    elif a.format == "json":
        df.to_json(a.out, orient="records", date_format="iso")
    elif a.format == "jsonl":
        df.to_json(a.out, orient="records", lines=True, date_format="iso")
    else:
        df["occurred_at"] = df["occurred_at"].dt.tz_convert("Europe/Paris").dt.tz_localize(None)
        df.to_excel(a.out, index=False, sheet_name="user_activities", engine="openpyxl")
    write = time.perf_counter() - start

    print(json.dumps({"rows": len(df), "read_seconds": read, "write_seconds": write,
                      "bytes": os.path.getsize(a.out)}))


if __name__ == "__main__":
    main()
