"""Where the server's time goes per API call: real boto3-signed requests run in-process through Django's WSGI
handler (middleware included), timed stage by stage and profiled with cProfile.

    .venv/bin/python benchmarks/profile_api.py --database sqlite|postgresql [--calls 2000] [--top 35]

A boto3 client signs each request as usual; a ``before-send`` hook hands the signed request to
``WSGIHandler`` instead of the network, so only the server side is timed and profiled. Stages are timed by
wrapping the functions the API view calls (in this process only; nothing in src/ changes). gunicorn's own
HTTP work is not included: compare with benchmarks/api_bench.py phase B to see it.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import HIT_TYPE, HTML_QUESTION, PG_BASE_URL, _pg_admin

STAGES: dict[str, float] = defaultdict(float)
QUERIES: dict[str, int] = defaultdict(int)
WALL: dict[str, float] = defaultdict(float)  # wall time inside cursor.execute (includes the database's own work)
SQL_SAMPLES: dict[str, list[str]] = defaultdict(list)
_current = {"op": ""}


def configure(database: str) -> tuple[Path, str | None]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"kempelen-profile-{database}-"))
    for key in [k for k in os.environ if k.startswith("KEMPELEN_")]:
        del os.environ[key]
    os.environ.update(KEMPELEN_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="kempelen.settings",
                      KEMPELEN_LOG_LEVEL="WARNING")
    pg_name = None
    if database == "postgresql":
        pg_name = f"kempelen_profile_{os.getpid()}"
        _pg_admin(f'CREATE DATABASE "{pg_name}"')
        os.environ["KEMPELEN_DATABASE_URL"] = f"{PG_BASE_URL}/{pg_name}"
    return data_dir, pg_name


def timed(name: str, fn: Any) -> Any:
    @functools.wraps(fn)  # keeps csrf_exempt and friends
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            STAGES[f"{_current['op']}:{name}"] += time.thread_time() - started

    return wrapper


def instrument() -> None:
    """Wrap the stages of kempelen.mturk_api.views.endpoint (module attributes it looks up at call time)."""
    from django.db import connection

    from kempelen.mturk_api import dispatch, sigv4, validation, views, wire

    views.sigv4 = type(sys)("sigv4_timed")  # the view calls sigv4.verify(...)
    views.sigv4.verify = timed("sigv4.verify (incl. credential lookup)", sigv4.verify)
    views._Credentials.secret_for = timed("credential lookup + decrypt", views._Credentials.secret_for)
    views.wire = type(sys)("wire_timed")
    for name in ("parse_target", "error_body"):
        setattr(views.wire, name, getattr(wire, name))
    views.wire.parse_body = timed("wire.parse_body", wire.parse_body)
    views.wire.to_wire = timed("wire.to_wire", wire.to_wire)
    views.wire.encode = timed("wire.encode", wire.encode)
    views.validation = type(sys)("validation_timed")
    views.validation.validate_input = timed("validation.validate_input", validation.validate_input)
    views.handler_for = lambda op: timed("handler (ORM, actions, serialisers)", dispatch.handler_for(op))
    # API calls reach the view from kempelen.wsgi (past the page middleware), which looks it up at call time.
    views.endpoint = timed("view (endpoint)", views.endpoint)

    def count_queries(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started, wall = time.thread_time(), time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            op = _current["op"]
            STAGES[f"{op}:db execute, CPU in this process"] += time.thread_time() - started
            WALL[op] += time.perf_counter() - wall
            QUERIES[op] += 1
            if len(SQL_SAMPLES[op]) < 40:
                SQL_SAMPLES[op].append(sql[:160])

    connection.execute_wrappers.append(count_queries)  # the main thread's connection: the calls run here


def make_client(access_key_id: str, secret: str) -> Any:
    """A boto3 client whose requests are served by Django's WSGI handler in this process."""
    import boto3
    from botocore.awsrequest import AWSResponse

    from kempelen.wsgi import KempelenWSGIHandler

    handler = KempelenWSGIHandler()
    client = boto3.session.Session().client(
        "mturk", region_name="us-east-1", endpoint_url="http://127.0.0.1:8000",
        aws_access_key_id=access_key_id, aws_secret_access_key=secret,
    )
    profiler: dict[str, cProfile.Profile | None] = {"p": None}

    def serve(request: Any, **_: Any) -> AWSResponse:
        body = request.body if isinstance(request.body, bytes) else (request.body or b"").encode()
        environ = {
            "REQUEST_METHOD": request.method, "PATH_INFO": "/", "QUERY_STRING": "", "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": "127.0.0.1:8000",  # urllib3 would add Host
        }
        for name, value in request.headers.items():
            value = value.decode() if isinstance(value, bytes) else value
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = value
        status_headers: list[Any] = []
        p = profiler["p"]
        started = time.thread_time()
        if p:
            p.enable()
        response = handler(environ, lambda status, headers: status_headers.extend([status, headers]))
        content = b"".join(response)
        if p:
            p.disable()
        STAGES[f"{_current['op']}:WSGI total (middleware + view)"] += time.thread_time() - started
        raw = type("Raw", (), {"stream": lambda self, **k: iter([content])})()
        return AWSResponse(request.url, int(status_headers[0].split()[0]), dict(status_headers[1]), raw)

    client.meta.events.register("before-send.mturk", serve)
    client._profiler = profiler  # type: ignore[attr-defined]
    return client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--top", type=int, default=35, help="rows of the cProfile listing")
    parser.add_argument("--save", help="directory for the .prof files (snakeviz/pstats)")
    args = parser.parse_args()
    data_dir, pg_name = configure(args.database)
    try:
        return profile(args)
    finally:
        from django.db import connections

        connections.close_all()
        if pg_name:
            _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)


def profile(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from kempelen.accounts import actions as accounts
    from kempelen.core.actors import Actor
    from kempelen.ledger import actions as ledger

    operator = Actor.operator("profile")
    requester = accounts.create_requester(actor=operator, username="profile", display_name="Profile")
    issued = accounts.issue_credential(actor=operator, requester=requester)
    ledger.deposit(requester=requester, environment="live", cents=100_000_000, key="profile-deposit", actor=operator)
    instrument()
    client = make_client(issued.access_key_id, issued.secret_access_key)
    hit_type_id = client.create_hit_type(**HIT_TYPE)["HITTypeId"]
    hit_ids = [client.create_hit_with_hit_type(HITTypeId=hit_type_id, MaxAssignments=3, LifetimeInSeconds=3600,
                                               Question=HTML_QUESTION)["HIT"]["HITId"] for _ in range(50)]
    operations = {
        "GetHIT": lambda n: client.get_hit(HITId=hit_ids[n % len(hit_ids)]),
        "CreateHITWithHITType": lambda n: client.create_hit_with_hit_type(
            HITTypeId=hit_type_id, MaxAssignments=3, LifetimeInSeconds=3600, Question=HTML_QUESTION),
    }
    print(f"In-process profile on {args.database}, {args.calls} calls each; Python {sys.version.split()[0]}")
    for op, call in operations.items():
        for n in range(50):  # warm caches (model, compiled specs, decrypt)
            call(n)
        STAGES.clear()
        QUERIES.clear()
        WALL.clear()
        SQL_SAMPLES.clear()
        _current["op"] = op
        cpu_before = time.process_time()
        for n in range(args.calls):
            call(n)
        _current["op"] = ""
        print(f"\n=== {op}: {args.calls} calls, server CPU by stage (thread CPU time, not profiled) ===")
        print("  (stages nest: the view holds sigv4.verify and the handler; verify holds the credential lookup)")
        total = STAGES[f"{op}:WSGI total (middleware + view)"]
        view = STAGES[f"{op}:view (endpoint)"]
        rows = [(k.split(":", 1)[1], v) for k, v in STAGES.items() if k.startswith(op + ":")]
        for name, seconds in sorted(rows, key=lambda r: -r[1]):
            print(f"  {name:<42}{1000 * seconds / args.calls:>8.3f} ms/call {100 * seconds / total:>6.1f}%")
        print(f"  {'middleware + URL resolving (total - view)':<42}{1000 * (total - view) / args.calls:>8.3f} ms/call "
              f"{100 * (total - view) / total:>6.1f}%")
        print(f"  queries per call: {QUERIES[op] / args.calls:.1f}, wall time inside cursor.execute "
              f"{1000 * WALL[op] / args.calls:.3f} ms/call; this process's CPU incl. boto3 client: "
              f"{1000 * (time.process_time() - cpu_before) / args.calls:.2f} ms/call")
        sample = SQL_SAMPLES[op][: round(QUERIES[op] / args.calls)]
        for sql in sample:
            print(f"    SQL: {sql}")

        profiler = cProfile.Profile()
        client._profiler["p"] = profiler  # type: ignore[attr-defined]
        for n in range(args.calls):
            call(n)
        client._profiler["p"] = None  # type: ignore[attr-defined]
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"\n--- cProfile of {op} (server side only), by cumulative time ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20000])
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(f"\n--- cProfile of {op}, by own time ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(str(Path(args.save) / f"{args.database}-{op}.prof"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
