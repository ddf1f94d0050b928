#!/usr/bin/python3
"""Check the Grafana dashboard (dashboards/vpc-failover.json) against the
daemon: every metric its queries, annotations and variables name is one the
daemon exports, and, with --prom, a real Prometheus evaluates every query.

  dashboard_check.py DASHBOARD SCRAPE... [--only PREFIX,...] [--prom URL]
                     [--nonempty NAME,...]

SCRAPE: Prometheus text (a /metrics scrape, `vpc-failover metrics`). The
names the dashboard uses must all appear in the union of the scrapes (with
--only, just those starting with one of the prefixes). --prom URL: each
query, with Grafana's variables replaced ($__rate_interval 1m, the
dashboard's own variables .*), goes to URL/api/v1/query and must succeed;
a query naming a metric in --nonempty must return data. Prints what it
checked; exit 1 on the first kind of failure found (all listed)."""
import json
import re
import sys
import urllib.parse
import urllib.request

FUNCS = {
    "abs", "absent", "avg", "bottomk", "ceil", "changes", "clamp_min", "count", "delta",
    "deriv", "floor", "group", "histogram_quantile", "idelta", "increase", "irate",
    "label_replace", "label_values", "max", "min", "quantile", "rate", "resets", "round",
    "sort", "stddev", "sum", "time", "topk", "vector", "by", "without", "on", "ignoring",
    "group_left", "group_right", "and", "or", "unless", "offset", "bool",
}


def exprs(dash):
    """(where, expr) of every Prometheus query in the dashboard."""
    out = []
    def walk(panels):
        for p in panels:
            if p.get("type") == "row":
                walk(p.get("panels", []))
                continue
            for t in p.get("targets", []):
                out.append((f'panel {p.get("id")} "{p.get("title")}" {t.get("refId")}', t["expr"]))
    walk(dash["panels"])
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("expr"):
            out.append((f'annotation "{a["name"]}"', a["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            out.append((f'variable ${v["name"]}', q))
    return out


def names(expr):
    """The metric names in expr; unknown words besides them raise."""
    e = re.sub(r'"(\\.|[^"\\])*"', '""', expr)          # strings
    e = re.sub(r"\{[^}]*\}", " ", e)                     # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)                    # ranges
    e = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", e)
    e = re.sub(r"label_values\(([^,]*),[^)]*\)", r"\1", e)
    found = set()
    for w in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        if w in FUNCS:
            continue
        if not (w.startswith("vpc_failover_") or w.startswith("process_")):
            raise ValueError(f"'{w}' is neither a PromQL function nor a vpc-failover metric")
        found.add(w)
    return found


def scraped(paths):
    have = set()
    for p in paths:
        for line in open(p):
            if line.strip() and not line.startswith("#"):
                have.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return have


def structure(dash):
    bad = []
    ids = set()
    def walk(panels):
        for p in panels:
            if p["id"] in ids:
                bad.append(f"panel id {p['id']} twice")
            ids.add(p["id"])
            g = p["gridPos"]
            if g["x"] < 0 or g["w"] < 1 or g["x"] + g["w"] > 24:
                bad.append(f"panel {p['id']}: gridPos {g}")
            if p["type"] == "row":
                walk(p.get("panels", []))
                continue
            if p.get("datasource", {}).get("uid") != "${datasource}":
                bad.append(f"panel {p['id']}: datasource is not the $datasource variable")
            if not p.get("targets"):
                bad.append(f"panel {p['id']}: no query")
            refs = [t.get("refId") for t in p.get("targets", [])]
            if len(set(refs)) != len(refs) or None in refs:
                bad.append(f"panel {p['id']}: refIds {refs}")
    walk(dash["panels"])
    return bad


def main(argv):
    args, only, prom, nonempty = [], None, None, set()
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("--only", "--prom", "--nonempty"):
            i += 1
            v = argv[i]
            if a == "--only":
                only = tuple(v.split(","))
            elif a == "--prom":
                prom = v.rstrip("/")
            else:
                nonempty = set(v.split(","))
        else:
            args.append(a)
        i += 1
    dash = json.load(open(args[0]))
    have = scraped(args[1:])
    fails = structure(dash)
    qs = exprs(dash)
    used = set()
    for where, e in qs:
        try:
            n = names(e)
        except ValueError as x:
            fails.append(f"{where}: {x}")
            continue
        if not n:
            fails.append(f"{where}: names no metric")
        used |= n
        for m in sorted(n):
            if (only is None or m.startswith(only)) and m not in have:
                fails.append(f"{where}: {m} is not in the scrape")
    checked = sorted(m for m in used if only is None or m.startswith(only))
    print(f"# {len(qs)} queries, {len(used)} metric names, {len(checked)} checked against the scrape")
    if prom:
        nq = 0
        for where, e in qs:
            if where.startswith("variable"):
                continue
            q = e.replace("$__rate_interval", "1m").replace("$__range", "1h")
            q = re.sub(r"\$(job|service|instance|group|zone)\b", ".*", q)
            url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
            try:
                r = json.load(urllib.request.urlopen(url, timeout=5))
            except Exception as x:  # a 400 is a query Prometheus refused
                body = getattr(x, "read", lambda: b"")().decode(errors="replace")
                fails.append(f"{where}: Prometheus refused it: {x} {body[:200]}")
                continue
            nq += 1
            if r.get("status") != "success":
                fails.append(f"{where}: {r}")
            elif names(e) & nonempty and not r["data"]["result"]:
                fails.append(f"{where}: no data from Prometheus for {q}")
        print(f"# Prometheus evaluated {nq} queries")
    for f in fails:
        print("FAIL " + f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
