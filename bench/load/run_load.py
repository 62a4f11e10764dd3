"""Load test: a September morning (bench/load/locustfile.py) to saturation, then 3× beyond.

    python bench/load/run_load.py [--steps 8,16,32,64] [--step-seconds 40] [--base-urls URL,…]

Without --base-urls it starts the stack of bench/faults/_stack.py (its own PostgreSQL cluster
and Redis, two gunicorn nodes of 2 workers, dispatcher, worker, beat, the fake Twilio; the real
rate limits; TRUSTED_PROXY_COUNT=1 with each simulated family on an address of its own in
X-Forwarded-For, as the proxy gives it), loads roster records and accounts, and runs locust
headless for each number of users in --steps. Saturation is the first step whose throughput
grew less than 10 % over the previous one (or the last step); then 3× its users. With
--base-urls it only runs locust against those addresses (the proxy's, when there is one), the
data being loaded already (LOAD_RECORDS, LOAD_ACCOUNTS; accounts p.bench<N>).

Prints per step: requests/s, failures (5xx, refused, 429 not French), 429 answered French,
p95 of each step against its goal, CPU seconds per request of the web nodes and PostgreSQL.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "faults"))
BIN = Path(sys.executable).parent

# p95 goals (ms) per locust name: « Mes services » from bench/README.md (bench_services.py);
# the others proposed here: a form in under 300 ms, a POST that writes a flow and an SMS in
# under 500 ms, a password check (Argon2, ~25 ms of CPU alone) in under 800 ms.
GOALS = {
    "« Mes services »": 300,
    "activation: form": 300,
    "activation: step 1 (name, mobile)": 500,
    "sign-in: form": 300,
    "sign-in: password": 800,
}


def tree_cpu(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def run_step(users: int, seconds: int, env: dict, out: Path) -> dict:
    prefix = out / f"u{users}"
    subprocess.run(  # noqa: S603 (our own command line)
        [str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless", "-u",
         str(users), "-r", str(max(users // 4, 1)), "-t", f"{seconds}s", "--csv", str(prefix),
         "--only-summary", "--loglevel", "ERROR"],
        env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
    stats = {r["Name"]: r for r in rows}
    total = stats.get("Aggregated", {})
    limited = sum(int(r["Request Count"]) for r in rows if r["Type"] == "LIMIT")
    return {
        "users": users,
        "requests": int(total.get("Request Count", 0)) - limited,
        "rps": float(total.get("Requests/s", 0)) - limited / seconds,
        "failures": int(total.get("Failure Count", 0)),
        "limited_429_french": limited,
        "p95": {name: float(stats[name]["95%"]) for name in stats
                if name in GOALS or name.startswith("abuser")},
        "failures_by_kind": [
            {"name": r["Name"], "error": r["Error"], "count": r["Occurrences"]}
            for r in csv.DictReader(open(f"{prefix}_failures.csv"))],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default="8,16,32,64")
    parser.add_argument("--step-seconds", type=int, default=40)
    parser.add_argument("--base-urls", default="")
    args = parser.parse_args()
    out = HERE.parent.parent / "var" / "load"
    out.mkdir(parents=True, exist_ok=True)
    stack = None
    env = dict(os.environ)
    if args.base_urls:
        env["LOAD_BASE_URLS"] = args.base_urls
        pids = []
    else:
        from _stack import Stack

        stack = Stack("load", records=20000, accounts=400, real_limits=True,
                      extra_env={"TRUSTED_PROXY_COUNT": "1"})
        env.update({"LOAD_BASE_URLS": ",".join(stack.bases), "LOAD_RECORDS": "20000",
                    "LOAD_ACCOUNTS": "400"})
        pg_pid = int((stack.pg.dir / "postmaster.pid").read_text().split()[0])
        pids = [stack.procs["web1"].process.pid, stack.procs["web2"].process.pid, pg_pid]
    results = []
    try:
        steps = [int(s) for s in args.steps.split(",")]
        saturation = None
        for users in steps:
            before = tree_cpu(pids)
            result = run_step(users, args.step_seconds, env, out)
            result["cpu_ms_per_request"] = round(
                (tree_cpu(pids) - before) * 1000 / max(result["requests"], 1), 1) if pids else None
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)
            if len(results) > 1 and result["rps"] < results[-2]["rps"] * 1.10:
                saturation = results[-2]
                break
        saturation = saturation or results[-1]
        over = run_step(saturation["users"] * 3, args.step_seconds * 2, env, out)
        over["beyond"] = "3× saturation"
        results.append(over)
        print(json.dumps(over, ensure_ascii=False), flush=True)
        print(f"saturation at {saturation['users']} users, {saturation['rps']:.1f} requests/s")
        (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        if stack is not None:
            stack.destroy()


if __name__ == "__main__":
    main()
