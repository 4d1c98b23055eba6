#!/usr/bin/python3
"""pandas' side of bench/analytics_test.go (BenchmarkAnalytics).

Computes one user-behaviour analytics query the way a data analyst would with pandas: read the
raw rows the query needs from PostgreSQL, then group, merge and window them in pandas. The
definitions are the documented ones of pkg/analytics (beneficiaries only; calendar periods in
the query's time zone; events at or after "to" never count), re-derived here from their meaning,
sharing no code with the Go side.

Rows are read with COPY ... TO STDOUT (CSV) into pandas.read_csv, timestamps as epoch
microseconds: several times faster than pandas.read_sql over psycopg2, so the load time is the
best pandas gets from PostgreSQL with Debian's packages.

Prints one JSON object: the seconds spent loading and computing, the rows loaded, and the result
as a flat object of named cells ("n/2025-06-02/3": 1234, ...) that the Go side compares with its
own result cell by cell (counts exactly, fractional values to 1e-9).

  /usr/bin/python3 analytics.py --dsn DSN --kind retention --params '{"from": ..., "to": ...}'

Run with Debian's interpreter, which has the packages: /usr/bin/python3 (python3-pandas,
python3-psycopg2, python3-sklearn for k-means).
"""
import argparse
import io
import json
import math
import sys
import time

import numpy as np
import pandas as pd
import psycopg2

US = "us"  # timestamps travel as epoch microseconds


class Loader:
    """Reads query results into DataFrames and keeps the time and rows spent."""

    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)
        self.conn.set_session(readonly=True)
        self.seconds = 0.0
        self.rows = 0

    def read(self, sql, params=None, ts=()):
        start = time.perf_counter()
        cur = self.conn.cursor()
        query = cur.mogrify(sql, params).decode()
        buf = io.BytesIO()
        cur.copy_expert("copy (" + query + ") to stdout with (format csv, header)", buf)
        buf.seek(0)
        df = pd.read_csv(buf)
        for col in ts:
            df[col] = pd.to_datetime(df[col], unit=US, utc=True)
        self.seconds += time.perf_counter() - start
        self.rows += len(df)
        return df


def epoch(col):
    """SQL of a timestamptz column as epoch microseconds."""
    return "(extract(epoch from " + col + ") * 1000000)::bigint"


def local(ts, tz):
    """Wall-clock times (naive) of UTC instants in tz."""
    return ts.dt.tz_convert(tz).dt.tz_localize(None)


class Calendar:
    """Calendar periods (day, week from Monday, month) in the query's zone, numbered from the one
    that holds "from"; the range ends with the one that holds the last instant before "to"."""

    def __init__(self, period, frm, to, tz):
        self.period = period
        d = frm.tz_convert(tz).tz_localize(None).normalize()
        self.first = self.floor_one(d)
        self.last_day = (to - pd.Timedelta(microseconds=1)).tz_convert(tz).tz_localize(None).normalize()
        self.count = self.index_one(self.last_day) + 1
        self.tz = tz

    def floor_one(self, d):
        if self.period == "week":
            return d - pd.Timedelta(days=d.dayofweek)
        if self.period == "month":
            return d.replace(day=1)
        return d

    def index_one(self, d):
        if self.period == "month":
            return (d.year * 12 + d.month) - (self.first.year * 12 + self.first.month)
        n = (d - self.first).days
        return n // 7 if self.period == "week" else n

    def index(self, days):
        """Period numbers of a Series of local midnights."""
        if self.period == "month":
            return (days.dt.year * 12 + days.dt.month) - (self.first.year * 12 + self.first.month)
        n = (days - self.first).dt.days
        return n // 7 if self.period == "week" else n

    def start(self, n):
        if self.period == "month":
            return self.first + pd.DateOffset(months=n)
        return self.first + pd.Timedelta(days=(7 if self.period == "week" else 1) * n)

    def start_instant(self, n):
        return self.start(n).tz_localize(self.tz)

    def label(self, n):
        return self.start(n).strftime("%Y-%m-%d")

    def days_in(self, n):
        end = min(self.start(n + 1), self.last_day + pd.Timedelta(days=1))
        return (end - self.start(n)).days


def beneficiaries(db, cols="user_id"):
    return db.read("select " + cols + " from bdc.beneficiaries")


def activity(db, frm, to, cols=("user_id",), where="", params=None):
    """Activity rows of beneficiaries in [frm, to); frm None means from the start. where is an
    extra condition, with its own params."""
    cond = ["occurred_at < %(to)s"]
    if frm is not None:
        cond.append("occurred_at >= %(frm)s")
    if where:
        cond.append(where)
    sql = ("select " + ", ".join(cols) + ", " + epoch("occurred_at") + " as ts from bdc.user_activities where " +
           " and ".join(cond))
    df = db.read(sql, dict(params or {}, frm=frm, to=to), ts=["ts"])
    pop = beneficiaries(db)
    return df[df.user_id.isin(pop.user_id)]


# ---------------------------------------------------------------------------------------------
# retention: first-time cohorts of signup, returns of any activity or of appointment_completed.

def retention(db, p):
    frm, to, tz = p["from"], p["to"], p["tz"]
    cal = Calendar(p["period"], frm, to, tz)
    n = p["totalIntervals"]
    bd = p.get("breakdown", "")
    ben = beneficiaries(db, "user_id, id as ben_id, acquisition_channel")
    users = db.read("select id as user_id, " + epoch("created_at") + " as ts from bdc.users where created_at < %(to)s",
                    {"to": to}, ts=["ts"])
    start = cal.start_instant(0)
    if p["returning"] == "activity":
        ret = activity(db, start, to)
    else:  # appointment_completed
        ret = db.read("select beneficiary_id as ben_id, " + epoch("scheduled_at") + " as ts from bdc.appointments "
                      "where status = 'completed' and scheduled_at >= %(frm)s and scheduled_at < %(to)s",
                      {"frm": start, "to": to}, ts=["ts"])
        ret = ret.merge(ben[["ben_id", "user_id"]], on="ben_id")
    t0 = time.perf_counter()
    users = users.merge(ben, on="user_id")
    users["day"] = local(users.ts, tz).dt.normalize()
    cohort = users[users.day >= cal.first].copy()
    cohort["c"] = cal.index(cohort.day)
    cohort["bd"] = cohort.acquisition_channel if bd == "acquisition_channel" else ""
    ret["p"] = cal.index(local(ret.ts, tz).dt.normalize())
    ret = ret[["user_id", "p"]].drop_duplicates()
    hits = cohort[["user_id", "bd", "c"]].merge(ret, on="user_id")
    hits["k"] = hits.p - hits.c
    hits = hits[(hits.k > 0) & (hits.k < n)]
    sizes = cohort.groupby(["bd", "c"]).size()
    counts = hits.groupby(["bd", "c", "k"]).size()
    out = {}
    for (b, c), size in sizes.items():
        key = b + "/" + cal.label(c)
        out["size/" + key] = int(size)
        last = min(n - 1, cal.count - 1 - c)
        for k in range(last + 1):
            v = int(size) if k == 0 else int(counts.get((b, c, k), 0))
            out["n/%s/%d" % (key, k)] = v
            out["r/%s/%d" % (key, k)] = v / size
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# funnel: ordered steps, each next step the earliest event strictly after the previous one,
# within the window from the first; a user counts once with the attempt that gets furthest.

def step_events(db, steps, frm, to):
    """One DataFrame (user_id, ts) per step, distinct and sorted by ts."""
    ben = beneficiaries(db, "user_id, id as ben_id")
    params = {"frm": frm, "to": to}
    out = [None] * len(steps)
    acts = [i for i, s in enumerate(steps) if s["kind"] == "activity"]
    if acts:
        types = sorted({steps[i]["activityType"] for i in acts if steps[i].get("activityType")})
        feats = sorted({steps[i]["feature"] for i in acts if steps[i].get("feature")})
        conds = []
        if types:
            conds.append("activity_type = any(%(types)s)")
        if feats:
            conds.append("feature = any(%(feats)s)")
        a = activity(db, frm, to, cols=("user_id", "activity_type", "feature"), where="(" + " or ".join(conds) + ")",
                     params={"types": types, "feats": feats})
        for i in acts:
            s = steps[i]
            m = pd.Series(True, index=a.index)
            if s.get("activityType"):
                m &= a.activity_type == s["activityType"]
            if s.get("feature"):
                m &= a.feature == s["feature"]
            out[i] = a.loc[m, ["user_id", "ts"]]
    sources = {
        "signup": ("select id as user_id, " + epoch("created_at") + " as ts from bdc.users "
                   "where created_at >= %(frm)s and created_at < %(to)s", False),
        "appointment_booked": ("select beneficiary_id as ben_id, " + epoch("booked_at") + " as ts from bdc.appointments "
                               "where booked_at >= %(frm)s and booked_at < %(to)s", True),
        "appointment_completed": ("select beneficiary_id as ben_id, " + epoch("scheduled_at") + " as ts from bdc.appointments "
                                  "where status = 'completed' and scheduled_at >= %(frm)s and scheduled_at < %(to)s", True),
        "evaluation_started": ("select beneficiary_id as ben_id, " + epoch("started_at") + " as ts from bdc.evaluations "
                               "where started_at >= %(frm)s and started_at < %(to)s", True),
        "evaluation_completed": ("select beneficiary_id as ben_id, " + epoch("completed_at") + " as ts from bdc.evaluations "
                                 "where completed_at >= %(frm)s and completed_at < %(to)s", True),
        "programme_completed": ("select user_id, " + epoch("completed_at") + " as ts from bdc.beneficiaries "
                                "where completed_at >= %(frm)s and completed_at < %(to)s", False),
    }
    for i, s in enumerate(steps):
        if s["kind"] == "activity":
            continue
        sql, by_ben = sources[s["kind"]]
        df = db.read(sql, params, ts=["ts"])
        df = df.merge(ben, on="ben_id")[["user_id", "ts"]] if by_ben else df[df.user_id.isin(ben.user_id)]
        out[i] = df
    return out


def funnel(db, p):
    frm, to = p["from"], p["to"]
    steps = p["series"]
    window = pd.Timedelta(seconds=p["windowSeconds"])
    bd = p.get("breakdown", "")
    ben = beneficiaries(db, "user_id, acquisition_channel")
    events = step_events(db, steps, frm, to)
    t0 = time.perf_counter()
    events = [e.drop_duplicates().sort_values("ts", kind="stable") for e in events]
    att = events[0].rename(columns={"ts": "t1"}).reset_index(drop=True)
    att["attempt"] = np.arange(len(att))
    att["reached"] = 1
    chain = att[["attempt", "user_id", "t1"]].assign(prev=att.t1)
    times = {1: att.set_index("attempt").t1}
    for k in range(2, len(steps) + 1):
        nxt = events[k - 1].rename(columns={"ts": "t"})
        chain = pd.merge_asof(chain.sort_values("prev"), nxt, left_on="prev", right_on="t", by="user_id",
                              direction="forward", allow_exact_matches=False)
        chain = chain[chain.t.notna() & (chain.t - chain.t1 <= window)]
        times[k] = chain.set_index("attempt").t
        att.loc[chain.attempt.to_numpy(), "reached"] = k
        chain = chain[["attempt", "user_id", "t1"]].assign(prev=chain.t)
    best = att.sort_values(["user_id", "reached", "t1"], ascending=[True, False, True]).drop_duplicates("user_id")
    best = best.merge(ben, on="user_id")
    best["bd"] = best.acquisition_channel if bd == "acquisition_channel" else ""
    out = {}
    for b, g in best.groupby("bd"):
        for k in range(1, len(steps) + 1):
            r = g[g.reached >= k]
            out["n/%s/%d" % (b, k)] = len(r)
            if k > 1 and len(r):
                secs = (times[k].reindex(r.attempt).to_numpy() - times[k - 1].reindex(r.attempt).to_numpy())
                secs = pd.Series(secs).dt.total_seconds()
                out["med/%s/%d" % (b, k)] = float(secs.median())
                out["avg/%s/%d" % (b, k)] = float(secs.mean())
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# paths: sessions of activity, from their first login, repeats merged, the first steps.

def paths(db, p):
    frm, to = p["from"], p["to"]
    start_type, limit = p["startActivityType"], p["stepLimit"]
    ev = activity(db, frm, to, cols=("id", "user_id", "session_id", "activity_type"), where="session_id is not null")
    t0 = time.perf_counter()
    ev = ev.sort_values(["user_id", "session_id", "ts", "activity_type", "id"])
    keys = ["user_id", "session_id"]
    ev["rn"] = ev.groupby(keys, sort=False).cumcount()
    starts = ev[ev.activity_type == start_type].groupby(keys, sort=False).rn.min().rename("s_rn")
    ev = ev.merge(starts, left_on=keys, right_index=True).sort_values(keys + ["rn"])
    ev = ev[ev.rn >= ev.s_rn]
    prev = ev.groupby(keys, sort=False).activity_type.shift()
    ev = ev[prev.ne(ev.activity_type)].copy()
    ev["step"] = ev.groupby(keys, sort=False).cumcount() + 1
    pt = ev[ev.step <= limit].copy()
    g = pt.groupby(keys, sort=False)
    pt["next"] = g.activity_type.shift(-1)
    pt["secs"] = (g.ts.shift(-1) - pt.ts).dt.total_seconds()
    edges = pt[pt.next.notna()].groupby(["step", "activity_type", "next"]).agg(n=("secs", "size"), secs=("secs", "mean")).reset_index()
    edges = edges.assign(neg=-edges.n).sort_values(["neg", "step", "activity_type", "next"]).head(p["edgeLimit"])
    nodes = pt.groupby(["step", "activity_type"]).agg(n=("next", "size"), ends=("next", lambda s: int(s.isna().sum()))).reset_index()
    touched = set(zip(edges.step, edges.activity_type)) | set(zip(edges.step + 1, edges.next))
    journeys = g.agg(path=("activity_type", tuple), first=("ts", "min"), last=("ts", "max"))
    journeys["secs"] = (journeys["last"] - journeys["first"]).dt.total_seconds()
    common = journeys.groupby("path").agg(n=("secs", "size"), secs=("secs", "mean")).reset_index()
    common = sorted(zip(common.path, common.n, common.secs), key=lambda r: (-r[1], r[0]))[:p["journeyLimit"]]
    out = {"paths": len(journeys), "users": int(journeys.index.get_level_values(0).nunique())}
    for r in edges.itertuples():
        key = "%d/%s/%s" % (r.step, r.activity_type, r.next)
        out["e/" + key] = int(r.n)
        out["es/" + key] = float(r.secs)
    for r in nodes.itertuples():
        if (r.step, r.activity_type) in touched:
            out["node/%d/%s" % (r.step, r.activity_type)] = int(r.n)
            out["ends/%d/%s" % (r.step, r.activity_type)] = int(r.ends)
    for path, n, secs in common:
        out["j/" + ">".join(path)] = int(n)
        out["js/" + ">".join(path)] = float(secs)
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# lifecycle: new, returning, resurrecting and dormant users per period.

def lifecycle(db, p):
    frm, to, tz = p["from"], p["to"], p["tz"]
    cal = Calendar(p["period"], frm, to, tz)
    ev = activity(db, None, to)
    t0 = time.perf_counter()
    ev["day"] = local(ev.ts, tz).dt.normalize()
    ud = ev[["user_id", "day"]].drop_duplicates()
    before = cal.start(-1)
    ud["p"] = np.where(ud.day >= before, cal.index(ud.day), -2)
    up = ud[["user_id", "p"]].drop_duplicates().sort_values(["user_id", "p"])
    g = up.groupby("user_id", sort=False).p
    up["prev"], up["next"] = g.shift(), g.shift(-1)
    cur = up[up.p >= 0]
    status = np.where(cur.prev.isna(), "new", np.where(cur.prev == cur.p - 1, "returning", "resurrecting"))
    counts = pd.Series(1, index=cur.index).groupby([cur.p, status]).sum()
    gone = up[(up.p >= -1) & (up.p + 1 < cal.count) & (up.next.isna() | (up.next > up.p + 1))]
    dormant = (gone.p + 1).value_counts()
    out = {}
    for n in range(cal.count):
        label = cal.label(n)
        for s in ("new", "returning", "resurrecting"):
            out[s + "/" + label] = int(counts.get((n, s), 0))
        out["dormant/" + label] = -int(dormant.get(n, 0))
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# stickiness: DAU, WAU (7 days), MAU (30 days) per day, and days active per period.

def stickiness(db, p):
    frm, to, tz = p["from"], p["to"], p["tz"]
    days = Calendar("day", frm, to, tz)
    cal = Calendar(p["period"], frm, to, tz)
    lo = min(days.start(-29), cal.start(0))
    ev = activity(db, lo.tz_localize(tz), to)
    t0 = time.perf_counter()
    ev["day"] = local(ev.ts, tz).dt.normalize()
    ud = ev[["user_id", "day"]].drop_duplicates()
    out = {}
    for i in range(days.count):
        d = days.start(i)
        label = days.label(i)
        for name, width in (("dau", 1), ("wau", 7), ("mau", 30)):
            window = ud[(ud.day > d - pd.Timedelta(days=width)) & (ud.day <= d)]
            out[name + "/" + label] = int(window.user_id.nunique())
    inp = ud[ud.day >= cal.first].copy()
    inp["p"] = cal.index(inp.day)
    per = inp.groupby(["user_id", "p"]).size().rename("n").reset_index()
    dist = per.groupby(["p", "n"]).size()
    for n in range(cal.count):
        for k in range(1, cal.days_in(n) + 1):
            out["s/%s/%d" % (cal.label(n), k)] = int(dist.get((n, k), 0))
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# behaviour per beneficiary (engagement, RFM, k-means): days, events, last activity, features.

def behaviour(db, frm, to, tz):
    days = Calendar("day", frm, to, tz)
    lo = days.start_instant(0)
    users = db.read("select u.id as user_id from bdc.users u join bdc.beneficiaries b on b.user_id = u.id "
                    "where u.created_at < %(to)s", {"to": to})
    ev = activity(db, lo, to, cols=("user_id", "feature"))
    return users, ev, days, lo


def per_user(users, ev, tz):
    ev["day"] = local(ev.ts, tz).dt.normalize()
    g = ev.groupby("user_id")
    beh = pd.DataFrame({"days": g.day.nunique(), "events": g.size(), "last_at": g.ts.max(), "features": g.feature.nunique()})
    beh = users.set_index("user_id").join(beh)
    beh[["days", "events", "features"]] = beh[["days", "events", "features"]].fillna(0).astype(np.int64)
    return beh


def engagement(db, p):
    frm, to, tz = p["from"], p["to"], p["tz"]
    users, ev, days, lo = behaviour(db, frm, to, tz)
    t0 = time.perf_counter()
    beh = per_user(users, ev, tz)
    nf = ev.feature.nunique()
    age = (to - beh.last_at).dt.total_seconds() / 86400
    r = np.power(0.5, age / 14).fillna(0)
    f = np.log(1 + beh.days.astype(float)) / math.log(1 + days.count)
    d = beh.features / nf if nf else 0.0 * beh.features
    score = 100 * (0.35 * r + 0.40 * f + 0.25 * d)
    bucket = np.minimum(np.floor(score / 10), 9).astype(int)
    out = {"users": len(score), "mean": float(score.mean()), "nf": int(nf)}
    for k, n in bucket.value_counts().items():
        out["b/%d" % k] = int(n)
    ranked = pd.DataFrame({"user_id": beh.index, "score": score.to_numpy()})
    top = ranked.sort_values(["score", "user_id"], ascending=[False, True]).head(p["limit"])
    bottom = ranked.sort_values(["score", "user_id"]).head(p["limit"])
    for name, lst in (("top", top), ("bot", bottom)):
        for i, row in enumerate(lst.itertuples()):
            out["%s/%d" % (name, i)] = int(row.user_id)
            out["%ss/%d" % (name, i)] = float(row.score)
    return out, time.perf_counter() - t0


RFM_SEGMENTS = ["champions", "loyal", "potential_loyalists", "new", "promising",
                "need_attention", "about_to_sleep", "at_risk", "cant_lose_them", "hibernating"]


def rfm_segment(r, f):
    if r <= 2:
        return "hibernating" if f <= 2 else "at_risk" if f <= 4 else "cant_lose_them"
    if r == 3:
        return "about_to_sleep" if f <= 2 else "need_attention" if f == 3 else "loyal"
    if f >= 4:
        return "loyal" if r == 4 else "champions"
    if f >= 2:
        return "potential_loyalists"
    return "promising" if r == 4 else "new"


def ntile5(values, ascending):
    """SQL's ntile(5) over (order by value, user_id), then the lowest score among equal values."""
    order = values.reset_index().sort_values([values.name, "user_id"], ascending=[ascending, True])
    n = len(order)
    size, extra = divmod(n, 5)
    bounds = np.repeat(np.arange(1, 6), [size + 1 if i < extra else size for i in range(5)])
    order["tile"] = bounds
    tiles = order.groupby(values.name).tile.transform("min")
    return pd.Series(tiles.to_numpy(), index=order.user_id.to_numpy()).reindex(values.index)


def visits_and_money(db, frm, to, lo):
    ben = beneficiaries(db, "user_id, id as ben_id")
    appts = db.read("select beneficiary_id as ben_id from bdc.appointments where status = 'completed' "
                    "and scheduled_at >= %(lo)s and scheduled_at < %(to)s", {"lo": lo, "to": to})
    pays = db.read("select beneficiary_id as ben_id, amount_cents from bdc.payments where paid_at >= %(lo)s and paid_at < %(to)s",
                   {"lo": lo, "to": to})
    return ben, appts, pays


def features_table(db, p):
    frm, to, tz = p["from"], p["to"], p["tz"]
    users, ev, days, lo = behaviour(db, frm, to, tz)
    ben, appts, pays = visits_and_money(db, frm, to, lo)
    t0 = time.perf_counter()
    beh = per_user(users, ev, tz)
    by_user = ben.set_index("ben_id").user_id
    beh["appointments"] = appts.ben_id.map(by_user).value_counts().reindex(beh.index).fillna(0).astype(np.int64)
    beh["monetary"] = pays.assign(user_id=pays.ben_id.map(by_user)).groupby("user_id").amount_cents.sum().reindex(beh.index).fillna(0).astype(float)
    whole = (to - lo).total_seconds() / 86400
    beh["recency"] = ((to - beh.last_at).dt.total_seconds() / 86400).fillna(whole)
    return beh, t0


def segments_rfm(db, p):
    beh, t0 = features_table(db, p)
    beh.index.name = "user_id"
    frequency = (beh.days + beh.appointments).rename("frequency")
    r = ntile5(beh.recency.rename("recency"), ascending=False)
    f = ntile5(frequency, ascending=True)
    beh["r"], beh["f"], beh["frequency"] = r, f, frequency
    beh["segment"] = [rfm_segment(a, b) for a, b in zip(r, f)]
    out = {"users": len(beh)}
    for name in RFM_SEGMENTS:
        s = beh[beh.segment == name]
        out["seg/" + name] = len(s)
        for col, feat in (("recency", "recency_days"), ("frequency", "frequency"), ("monetary", "monetary_cents")):
            out["seg/%s/%s" % (name, feat)] = float(s[col].mean()) if len(s) else 0.0
    for (a, b), n in beh.groupby(["r", "f"]).size().items():
        out["cell/%d/%d" % (a, b)] = int(n)
    return out, time.perf_counter() - t0


def segments_kmeans(db, p):
    """The behaviour features (compared with ours), then scikit-learn's k-means with k chosen by
    silhouette as an analyst would; its clusters are not compared (another k-means++ stream)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    beh, t0 = features_table(db, p)
    per_day = np.where(beh.days > 0, beh.events / beh.days.clip(lower=1), 0.0)
    plain = pd.DataFrame({"active_days": beh.days.astype(float), "events_per_active_day": per_day,
                          "features_used": beh.features.astype(float), "appointments_completed": beh.appointments.astype(float),
                          "recency_days": beh.recency})
    x = np.column_stack([np.log1p(plain.active_days), np.log1p(plain.events_per_active_day), plain.features_used,
                         np.log1p(plain.appointments_completed), plain.recency_days])
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1)
    best = None
    for k in range(p["kMin"], p["kMax"] + 1):
        km = KMeans(n_clusters=k, n_init=p["nInit"], random_state=p["seed"]).fit(z)
        s = silhouette_score(z, km.labels_, sample_size=min(2000, len(z)), random_state=p["seed"])
        if best is None or s > best[0]:
            best = (s, k)
    out = {"users": len(plain)}
    for col in plain.columns:
        out["sum/" + col] = float(plain[col].sum())
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# feature_usage: adopters, uses, and next-period return of adopters and non-adopters.

def feature_usage(db, p):
    frm, to, tz = p["from"], p["to"], p["tz"]
    cal = Calendar(p["period"], frm, to, tz)
    ev = activity(db, cal.start_instant(0), to, cols=("user_id", "feature"))
    t0 = time.perf_counter()
    ev["p"] = cal.index(local(ev.ts, tz).dt.normalize())
    last = cal.count - 1
    ua = ev[["user_id", "p"]].drop_duplicates().sort_values(["user_id", "p"])
    ua["back"] = (ua.groupby("user_id").p.shift(-1) == ua.p + 1)
    fu = ev[ev.feature.notna()].groupby(["user_id", "p", "feature"]).size().rename("n").reset_index()
    fu = fu.merge(ua, on=["user_id", "p"])
    base = ua[ua.p < last]
    out = {"active": int(ua.user_id.nunique())}
    active_base, active_kept = len(base), int(base.back.sum())
    for feat, g in fu.groupby("feature"):
        adopters = g.user_id.nunique()
        fb = g[g.p < last]
        abase, akept = len(fb), int(fb.back.sum())
        nbase, nkept = active_base - abase, active_kept - akept
        key = "f/" + feat + "/"
        out[key + "adopters"] = int(adopters)
        out[key + "uses"] = int(g.n.sum())
        out[key + "abase"], out[key + "akept"] = abase, akept
        out[key + "nbase"], out[key + "nkept"] = nbase, nkept
        out[key + "adoption"] = adopters / out["active"]
        out[key + "aratio"] = akept / abase if abase else 0.0
        out[key + "nratio"] = nkept / nbase if nbase else 0.0
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# activity_heatmap: events and users per local weekday and hour.

def heatmap(db, p):
    frm, to, tz = p["from"], p["to"], p["tz"]
    ev = activity(db, frm, to)
    t0 = time.perf_counter()
    loc = local(ev.ts, tz)
    ev["wd"], ev["h"] = loc.dt.dayofweek + 1, loc.dt.hour
    g = ev.groupby(["wd", "h"]).user_id.agg(["size", "nunique"])
    out = {}
    for (wd, h), row in g.iterrows():
        out["e/%d/%d" % (wd, h)] = int(row["size"])
        out["u/%d/%d" % (wd, h)] = int(row["nunique"])
    return out, time.perf_counter() - t0


KINDS = {
    "retention": retention, "funnel": funnel, "paths": paths, "lifecycle": lifecycle, "stickiness": stickiness,
    "engagement": engagement, "segments_rfm": segments_rfm, "segments_kmeans": segments_kmeans,
    "feature_usage": feature_usage, "heatmap": heatmap,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    ap.add_argument("--kind", choices=sorted(KINDS), required=True)
    ap.add_argument("--params", required=True, help="JSON object: from, to (RFC 3339), tz, and the kind's parameters")
    a = ap.parse_args()
    p = json.loads(a.params)
    p["from"], p["to"] = pd.Timestamp(p["from"]).tz_convert("UTC"), pd.Timestamp(p["to"]).tz_convert("UTC")
    db = Loader(a.dsn)
    total = time.perf_counter()
    result, compute = KINDS[a.kind](db, p)
    json.dump({"load_seconds": db.seconds, "compute_seconds": compute, "total_seconds": time.perf_counter() - total,
               "rows": db.rows, "result": result}, sys.stdout)


if __name__ == "__main__":
    main()
