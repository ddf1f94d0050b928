#!/usr/bin/python3
"""chaos.py -- Jepsen-style schedules against two vpc-failoverd daemons.

Two daemons (node a and node c, one group of route tables) run against the
simulated VPC with the faults that produce failover races: per-request
delays (requests applied in another order than sent), one node's writes on
a slow path, answers lost after the change was made, describes that lag
writes, throttling storms. A random schedule, drawn from a seed, drives
them the way keepalived would: transitions through the notify hook (forked,
not waited for, unordered) and through the FIFO, flaps faster than a pass,
VRRP partitions (both MASTER) and their heal (the demoted node hears the
MASTER first, with or without a MASTER_RX_LOWER_PRI to the MASTER), SIGKILL
and restart of a daemon. Re-checks are off: only the settle checks and the
hand-back may save the routes.

After the schedule's last transition the invariant is checked: within the
settle bound (request_timeout + 2 s) every table points at the final MASTER
and stays there until twice the bound; the final MASTER's daemon says
MASTER and converged (one still settling, its calls slowed by the faults,
gets another twice the bound to say so), the other does not say MASTER;
both daemons still run. Each schedule prints as text and replays from its seed.

usage: chaos.py [--seed N]... [--runs K [--first S]] [--print] [--summary FILE]
                [--out FILE] [--build DIR] [--keep] [--no-faults]
  --seed N     run the schedule of seed N (repeatable)
  --runs K     run K schedules, seeds S..S+K-1 (--first, default 1)
  --print      print the schedules and exit
  --summary F  write the summary table to F as well
Output: TAP lines (one per schedule) and '#' lines; exit 1 on any breach.
"""
import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEST = "10.255.0.10/32"
NTABLES = 3
REQUEST_TIMEOUT = 1  # s; the settle bound is this + 2 s
BOUND = REQUEST_TIMEOUT + 2.0
NODES = {
    "a": {"eni": "eni-0aaaaaaaaaaaaaaa1", "akid": "AKIASIMULATEDNODEA01",
          "secret": "simulated/secret/key/node-a/000000001", "prio": 150},
    "c": {"eni": "eni-0ccccccccccccccc3", "akid": "AKIASIMULATEDNODEC03",
          "secret": "simulated/secret/key/node-c/000000003", "prio": 100},
}


def rtb(i):
    return "rtb-%017x" % i


# ---- schedules ---------------------------------------------------------------

def make_schedule(seed):
    """A schedule: the simulator's faults and a list of (ms, action, args)."""
    r = random.Random(seed)
    faults = {
        "delay": r.choice([(0, 0), (0, 50), (0, 150), (10, 300)]),
        "dist": r.choice(["uniform", "pareto"]),
        "lost_answer": r.choice([0, 0, 0.05, 0.15]),
        "stale_ms": r.choice([0, 0, 100, 300]),
        "slow": None,
    }
    if r.random() < 0.5:
        faults["slow"] = (r.choice("ac"), r.choice([200, 400, 600]))
    steps = []
    t = 0
    believed = {"a": "BACKUP", "c": "BACKUP"}
    killed_until = 0

    # How each node's keepalived tells its daemon: the notify hook, the
    # FIFO, or both (then every transition goes both ways).
    via = {n: r.choice(["hook", "fifo", "both"]) for n in "ac"}

    def ev(node, state, when):
        steps.append((when, "event", {"node": node, "state": state, "via": via[node]}))
        if state in ("MASTER", "BACKUP", "FAULT", "STOP"):
            believed[node] = state

    for _ in range(r.randint(3, 10)):
        kind = r.choices(["transition", "failover", "flap", "partition", "kill",
                          "storm"], [3, 3, 2, 2, 1, 1])[0]
        # Fast: faster than a pass (coalescing), slow: several passes.
        t += r.choice([0, 5, 20, 50, 150, 400, 900])
        x = r.choice("ac")
        y = "c" if x == "a" else "a"
        if kind == "transition":
            ev(x, r.choice(["MASTER", "BACKUP", "BACKUP", "FAULT"]), t)
        elif kind == "failover":
            ev(x, "MASTER", t)
            ev(y, r.choice(["BACKUP", "FAULT"]), t + r.choice([0, 3, 30]))
        elif kind == "flap":
            for _i in range(r.randint(2, 6)):
                ev(x, "MASTER", t)
                t += r.choice([1, 10, 40])
                ev(x, "BACKUP", t)
                t += r.choice([1, 10, 40])
        elif kind == "partition":
            ev(x, "MASTER", t)
            ev(y, "MASTER", t + r.choice([0, 10, 100]))
            t += r.choice([200, 600, 1200])
            ev(y, "BACKUP", t)
            if r.random() < 0.5:
                ev(x, "MASTER_RX_LOWER_PRI", t + r.choice([0, 5]))
        elif kind == "kill" and t >= killed_until:
            back = t + r.choice([100, 300, 800])
            steps.append((t, "kill", {"node": x, "restart": back}))
            killed_until = back + 100
        elif kind == "storm":
            steps.append((t, "storm", {"throttle": r.choice([0.3, 0.6]),
                                       "ms": r.choice([300, 800, 1500])}))
    # The end: every daemon is up again and storms are over; then the final
    # MASTER is made, either by a failover or by the heal of a partition in
    # which it was MASTER throughout (it hears nothing at the end).
    t = max(t, killed_until) + 100
    for when, what, a in steps:
        if what == "storm":
            t = max(t, when + a["ms"] + 50)
    final = r.choice("ac")
    other = "c" if final == "a" else "a"
    if r.random() < 0.4:
        ev(final, "MASTER", t)
        ev(other, "MASTER", t + r.choice([0, 10, 100]))
        t += r.choice([300, 800, 1500])
        ev(other, "BACKUP", t)
        if r.random() < 0.5:
            ev(final, "MASTER_RX_LOWER_PRI", t + 5)
            t += 5
        end = "heal"
    else:
        first, second = r.sample([(final, "MASTER"), (other, r.choice(
            ["BACKUP", "BACKUP", "FAULT", "STOP"]))], 2)
        ev(first[0], first[1], t)
        t += r.choice([0, 2, 20])
        ev(second[0], second[1], t)
        end = "failover"
    steps.sort(key=lambda s: s[0])
    return {"seed": seed, "faults": faults, "steps": steps, "final": final,
            "end": end, "last_ms": t, "via": via}


def describe_schedule(s):
    f = s["faults"]
    lines = ["# seed %d: final MASTER node %s by a %s at +%d ms; keepalived tells "
             "node a's daemon by %s, node c's by %s" % (
                 s["seed"], s["final"], s["end"], s["last_ms"], s["via"]["a"],
                 s["via"]["c"])]
    lines.append("#   faults: delay %d-%d ms %s, lost answers %g, stale describes %d ms%s"
                 % (f["delay"][0], f["delay"][1], f["dist"], f["lost_answer"],
                    f["stale_ms"], ", node %s's writes %d ms late" % f["slow"]
                    if f["slow"] else ""))
    for when, what, a in s["steps"]:
        if what == "event":
            lines.append("#   +%5d ms  node %s %s" % (when, a["node"], a["state"]))
        elif what == "kill":
            lines.append("#   +%5d ms  node %s daemon SIGKILLed, restarted at +%d ms" % (
                when, a["node"], a["restart"]))
        else:
            lines.append("#   +%5d ms  throttling storm %g for %d ms" % (
                when, a["throttle"], a["ms"]))
    return "\n".join(lines)


# ---- running one ---------------------------------------------------------------

class Run:
    def __init__(self, build, sched, keep):
        self.build = build
        self.s = sched
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix="vpcf-chaos.")
        self.procs = []
        self.daemons = {}
        self.sim = None
        self.url = None

    # processes ------------------------------------------------------------
    def spawn(self, log, argv, env=None):
        p = subprocess.Popen(argv, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 3
        for p in self.procs:
            try:
                p.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def wait_until(self, secs, fn):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if fn():
                return True
            time.sleep(0.02)
        return fn()

    # the simulated VPC ---------------------------------------------------------
    def start_sim(self):
        creds = [{"access_key_id": n["akid"], "secret_access_key": n["secret"]}
                 for n in NODES.values()]
        tables = [{"id": rtb(i), "routes": [{"dest": DEST, "eni": NODES["a"]["eni"]}]}
                  for i in range(1, NTABLES + 1)]
        state = {
            "region": "us-east-1",
            "vpc": {"id": "vpc-0123456789abcdef0", "cidr": "198.18.0.0/16",
                    "owner": "123456789012"},
            "credentials": creds,
            "instances": [
                {"id": "i-0aaaaaaaaaaaaaaa1", "az": "us-east-1a", "eni": NODES["a"]["eni"],
                 "mac": "02:00:00:00:0a:01", "address": "198.18.1.2",
                 "source_dest_check": False},
                {"id": "i-0ccccccccccccccc3", "az": "us-east-1c", "eni": NODES["c"]["eni"],
                 "mac": "02:00:00:00:0c:03", "address": "198.18.3.2",
                 "source_dest_check": False}],
            "route_tables": tables,
        }
        with open(os.path.join(self.dir, "state.json"), "w") as f:
            json.dump(state, f)
        f = self.s["faults"]
        argv = [os.path.join(self.build, "vpcsim"), "--state",
                os.path.join(self.dir, "state.json"), "--listen", "127.0.0.1:0",
                "--port-file", os.path.join(self.dir, "sim.port"),
                "--log", os.path.join(self.dir, "sim.log"), "--seed", str(self.s["seed"])]
        if f["delay"][1]:
            argv += ["--delay", "%d-%d" % f["delay"], "--delay-dist", f["dist"]]
        if f["lost_answer"]:
            argv += ["--lost-answer", str(f["lost_answer"])]
        if f["stale_ms"]:
            argv += ["--stale-ms", str(f["stale_ms"])]
        if f["slow"]:
            argv += ["--slow", "%s=%d" % (NODES[f["slow"][0]]["akid"], f["slow"][1])]
        self.sim = self.spawn(os.path.join(self.dir, "sim.out"), argv)
        port_file = os.path.join(self.dir, "sim.port")
        if not self.wait_until(10, lambda: os.path.exists(port_file)):
            raise RuntimeError("the simulator did not start: " + open(
                os.path.join(self.dir, "sim.out")).read()[-500:])
        self.url = "http://127.0.0.1:%s" % open(port_file).readline().strip()

    def sim_get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return json.load(r)

    def sim_post(self, path, obj):
        req = urllib.request.Request(self.url + path, data=json.dumps(obj).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    # the daemons ---------------------------------------------------------------
    def conf(self, n):
        d = self.dir
        path = os.path.join(d, n + ".conf")
        with open(path, "w") as f:
            f.write("""[aws]
region = us-east-1
endpoint = {url}
metadata_endpoint = {url}
api_deadline = 10
request_timeout = {rt}
[daemon]
control_socket = {d}/{n}.sock
state_dir = {d}/{n}.state
[keepalived]
notify_fifo = {d}/{n}.fifo
pid_file = {d}/no-keepalived.pid
[netmon]
enabled = no
[metrics]
listen =
[group db]
vrrp_instance = VI_1
destinations = {dest}
route_tables = {tables}
network_interface = {eni}
recheck_interval = 0
""".format(url=self.url, rt=REQUEST_TIMEOUT, d=d, n=n, dest=DEST,
                tables=" ".join(rtb(i) for i in range(1, NTABLES + 1)),
                eni=NODES[n]["eni"]))
        return path

    def env(self, n):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e["AWS_ACCESS_KEY_ID"] = NODES[n]["akid"]
        e["AWS_SECRET_ACCESS_KEY"] = NODES[n]["secret"]
        return e

    def start_daemon(self, n):
        sock = os.path.join(self.dir, n + ".sock")
        if os.path.exists(sock):
            os.unlink(sock)
        p = self.spawn(os.path.join(self.dir, n + ".log"),
                       [os.path.join(self.build, "vpc-failoverd"), "-f", "-c",
                        os.path.join(self.dir, n + ".conf")], self.env(n))
        self.daemons[n] = p
        fifo = os.path.join(self.dir, n + ".fifo")
        if not self.wait_until(10, lambda: os.path.exists(sock) and os.path.exists(fifo)):
            raise RuntimeError("daemon %s did not start" % n)

    def status(self, n):
        out = subprocess.run([os.path.join(self.build, "vpc-failover"), "-c",
                              os.path.join(self.dir, n + ".conf"), "status", "--json"],
                             capture_output=True, text=True, timeout=10, env=self.env(n))
        if out.returncode != 0:
            return None
        return json.loads(out.stdout)["groups"][0]

    # actions -------------------------------------------------------------------
    def event(self, a):
        n, st = a["node"], a["state"]
        prio = str(NODES[n]["prio"]) if st != "MASTER_RX_LOWER_PRI" else "0"
        if a["via"] in ("hook", "both"):
            # keepalived forks notify scripts and does not wait for them.
            self.spawn(os.path.join(self.dir, n + ".hook"),
                       [os.path.join(self.build, "vpc-failover"), "-c",
                        os.path.join(self.dir, n + ".conf"), "notify", "INSTANCE",
                        "VI_1", st, prio], self.env(n))
        if a["via"] == "hook":
            return
        # keepalived writes the FIFO non-blocking and drops lines nobody reads.
        try:
            fd = os.open(os.path.join(self.dir, n + ".fifo"), os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return
        try:
            os.write(fd, ('INSTANCE "VI_1" %s %s\n' % (st, prio)).encode())
        except OSError:
            pass
        os.close(fd)

    def run(self):
        self.start_sim()
        for n in NODES:
            self.conf(n)
            self.start_daemon(n)
        # Start from a settled world: every table at node a, nobody MASTER.
        t0 = time.monotonic()
        pending = []  # (ms, fn)
        for when, what, a in self.s["steps"]:
            if what == "event":
                pending.append((when, lambda a=a: self.event(a)))
            elif what == "kill":
                pending.append((when, lambda a=a: self.daemons[a["node"]].send_signal(
                    signal.SIGKILL)))
                pending.append((a["restart"], lambda a=a: self.start_daemon(a["node"])))
            else:
                pending.append((when, lambda a=a: self.sim_post(
                    "/_sim/faults", {"throttle": a["throttle"]})))
                pending.append((when + a["ms"], lambda: self.sim_post(
                    "/_sim/faults", {"throttle": 0})))
        pending.sort(key=lambda p: p[0])
        for when, fn in pending:
            delay = t0 + when / 1000.0 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            fn()
        t_last = t0 + self.s["last_ms"] / 1000.0
        want = NODES[self.s["final"]]["eni"]
        # Sample where the tables point until twice the settle bound.
        misrouted_s = 0.0
        last_bad = None
        prev = time.monotonic()
        while True:
            now = time.monotonic()
            routes = self.sim_get("/_sim/routes")
            bad = sum(1 for i in range(1, NTABLES + 1)
                      if routes.get(rtb(i), {}).get(DEST) != want)
            misrouted_s += bad * (now - prev)
            prev = now
            if bad:
                last_bad = now - t_last
            if now >= t_last + 2 * BOUND:
                final_bad = bad
                break
            time.sleep(0.05)
        calls = self.sim_get("/_sim/stats")["total"]
        breaches = []
        if last_bad is not None and last_bad > BOUND:
            breaches.append("a table was off the final MASTER %.2f s after the last "
                            "transition (bound %.1f s)" % (last_bad, BOUND))
        if final_bad:
            breaches.append("%d table(s) off the final MASTER at twice the bound" % final_bad)
        for n, p in self.daemons.items():
            if p.poll() is not None:
                breaches.append("daemon %s exited (%s)" % (n, p.returncode))
        f, o = self.s["final"], "c" if self.s["final"] == "a" else "a"
        # A final MASTER whose calls are slow may still be settling (its
        # routes are right, checked above): it must say converged within
        # another twice the bound.
        self.wait_until(2 * BOUND, lambda: (self.status(f) or {}).get("phase") != "settling")
        st = {n: self.status(n) for n in NODES}
        late = sum(g.get("late_writes", 0) for g in st.values() if g)
        handed = sum(g.get("handed_back", 0) for g in st.values() if g)
        if st[f] is None or (st[f]["state"], st[f]["phase"]) != ("MASTER", "converged"):
            breaches.append("node %s (final MASTER) says %s" % (
                f, st[f] and (st[f]["state"], st[f]["phase"])))
        elif any(r["target"] != want for r in st[f]["routes"]):
            breaches.append("node %s's status disagrees with EC2" % f)
        if st[o] is None or st[o]["state"] == "MASTER":
            breaches.append("node %s says %s" % (o, st[o] and st[o]["state"]))
        return {"seed": self.s["seed"], "breaches": breaches, "misrouted": misrouted_s,
                "calls": calls, "late": late, "handed": handed,
                "last_bad": last_bad, "dir": self.dir}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def on_signal(signum, frame):
    # Unwinds through each run's cleanup: its daemons and simulator stop.
    raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGTERM, on_signal)
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, action="append", default=[])
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--print", action="store_true")
    ap.add_argument("--summary")
    ap.add_argument("--out", help="a copy of everything printed")
    ap.add_argument("--build", default=os.environ.get("VPCF_BUILD", os.path.join(TOP, "build")))
    ap.add_argument("--keep", action="store_true", help="keep each run's directory")
    ap.add_argument("--no-faults", action="store_true",
                    help="the same schedules without the simulator's faults")
    args = ap.parse_args()
    seeds = args.seed + list(range(args.first, args.first + args.runs))
    if not seeds:
        ap.error("give --seed N or --runs K")
    if args.print:
        for s in seeds:
            print(describe_schedule(make_schedule(s)))
        return 0
    if args.out:
        sys.stdout = Tee(sys.stdout, open(args.out, "w"))
    results = []
    started = time.monotonic()
    for i, seed in enumerate(seeds, 1):
        sched = make_schedule(seed)
        if args.no_faults:
            sched["faults"] = {"delay": (0, 0), "dist": "uniform", "lost_answer": 0,
                               "stale_ms": 0, "slow": None}
        run = Run(os.path.abspath(args.build), sched, args.keep)
        res = None
        try:
            res = run.run()
        except Exception as e:  # the harness's own failure is a failure too
            res = {"seed": seed, "breaches": ["harness: %s" % e], "misrouted": 0,
                   "calls": 0, "late": 0, "handed": 0, "last_bad": None, "dir": run.dir}
        finally:
            run.keep = run.keep or res is None or bool(res["breaches"])
            run.cleanup()
        results.append(res)
        if res["breaches"]:
            print("not ok %d - seed %d: %s" % (i, seed, "; ".join(res["breaches"])))
            print(describe_schedule(sched))
            print("#   replay: tests/chaos/chaos.py --seed %d --keep (logs were in %s)"
                  % (seed, res["dir"]))
        else:
            print("ok %d - seed %d: %s end, %.2f misrouted table-seconds, %d EC2 calls, "
                  "%d late writes taken back, %d routes handed back" % (
                      i, seed, sched["end"], res["misrouted"], res["calls"], res["late"],
                      res["handed"]))
        sys.stdout.flush()
    mis = [r["misrouted"] for r in results]
    calls = [r["calls"] for r in results]
    nb = sum(1 for r in results if r["breaches"])
    table = [
        "| runs | breaches | misrouted table-s median | p99 | max | EC2 calls median | max |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        "| %d | %d | %.2f | %.2f | %.2f | %d | %d |" % (
            len(results), nb, statistics.median(mis), pct(mis, 99), max(mis),
            statistics.median(calls), max(calls)),
    ]
    print("# chaos: %d schedules (seeds %s), %.0f s" % (
        len(results), seed_range(seeds), time.monotonic() - started))
    for line in table:
        print("# " + line)
    if args.summary:
        with open(args.summary, "w") as f:
            f.write("# vpc-failover chaos, %s, seeds %s\n" % (
                time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), seed_range(seeds)))
            f.write("\n".join(table) + "\n")
    return 1 if nb else 0


class Tee:
    def __init__(self, *files):
        self.files = files

    def write(self, text):
        for f in self.files:
            f.write(text)

    def flush(self):
        for f in self.files:
            f.flush()


def seed_range(seeds):
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return "%d..%d" % (seeds[0], seeds[-1])
    return ",".join(str(s) for s in seeds)


if __name__ == "__main__":
    sys.exit(main())
