"""Event delivery seen from real clients (issue 18): a consumer in another process hears
an award that a third client's plain INSERT made through a trigger badge, after the
writer commits and only then, and never one of a rolled-back write.

The consumers are the README's, run as real processes that print one JSON line per event:
examples/node/consumer.js (node-postgres, needs `node`; its npm packages are installed by
`make test`, or here with `npm ci` when missing), examples/python/async_consumer.py
(psycopg's AsyncConnection) and the synchronous psycopg one, `gamification events --follow`;
then the README's two snippets, run as written.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NODE_DIR = EXAMPLES / "node"

POSTS = "CREATE TABLE public.post (id serial PRIMARY KEY, author text NOT NULL, body text)"
BADGE = """SELECT gamification.badge_register('{"code": "first_post", "name": "First post", "points": 7,
  "condition": "true", "trigger_condition": "insert", "trigger_table": "post", "user_field": "author"}')"""

QUIET = 1.5  # how long a consumer must stay silent while nothing is committed
PATIENCE = 30.0  # how long a committed award may take to arrive


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable, with examples/node's packages installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("no `node` installed: the Node consumer needs Node.js (as root, `make test` installs "
                    "Debian's nodejs and npm)")
    if not (NODE_DIR / "node_modules" / "pg" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"node is installed but npm is not, and {NODE_DIR}/node_modules is missing: "
                        "install npm, or run `npm ci` there")
        subprocess.run([npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--ignore-scripts",
                        "--loglevel=error"], check=True, timeout=600)
    return node


class Consumer:
    """A consumer process: its stdout lines in a queue, its stderr kept for messages."""

    def __init__(self, command: list[str], dsn: str, extra_env: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
        env.update(extra_env or {})
        params = conninfo_to_dict(dsn)
        env.update({f"PG{key.upper()}": str(params[key]) for key in ("host", "port", "user", "dbname")
                    if key in params})
        env["PGDATABASE"] = env.pop("PGDBNAME")
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env, cwd=EXAMPLES)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self.ready = threading.Event()
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # end of output

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)
            if line.strip() == "listening":
                self.ready.set()

    def wait_ready(self, timeout: float = PATIENCE) -> None:
        assert self.ready.wait(timeout), f"the consumer did not start listening: {''.join(self.stderr)}"

    def next_event(self, timeout: float) -> dict | None:
        """The next event it prints within ``timeout`` seconds, or None."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        assert line is not None, f"the consumer ended (exit {self.proc.poll()}): {''.join(self.stderr)}"
        return json.loads(line)

    def finish(self, interrupt: bool) -> tuple[int, list[str]]:
        """Its exit code (after Ctrl-C when ``interrupt``) and whatever else it printed."""
        if interrupt:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=PATIENCE)
        for thread in self._threads:
            thread.join(timeout=PATIENCE)
        rest = []
        while (line := self.lines.get_nowait()) is not None:
            rest.append(line)
        return code, rest

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(params=["node", "python-asyncio", "python-sync"])
def consumer(request: pytest.FixtureRequest, dsn: str):
    """A started consumer process listening for the events of this test's database.

    The Node and asyncio examples register their consumer themselves and stop after two
    events; the CLI (synchronous psycopg) reads a consumer registered here, until Ctrl-C.
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(POSTS)
        conn.execute(BADGE)
    if request.param == "node":
        command = [request.getfixturevalue("node"), str(NODE_DIR / "consumer.js"), "node", "2", "120"]
    elif request.param == "python-asyncio":
        command = [sys.executable, str(EXAMPLES / "python" / "async_consumer.py"), "asyncio", "2", "120"]
    else:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT gamification.consumer_register('sync')")
        command = [sys.executable, "-m", "gamification", "events", "--dsn", dsn, "--consumer", "sync", "--follow"]
    process = Consumer(command, dsn)
    try:
        if request.param == "python-sync":
            process.ready.set()  # no ready line; its consumer was registered before the writes
        process.wait_ready()
        yield request.param, process
    finally:
        process.kill()


def test_an_award_by_a_plain_insert_arrives_after_commit_only(consumer, dsn):
    kind, process = consumer
    with psycopg.connect(dsn) as writer:
        writer.execute("INSERT INTO post (author, body) VALUES ('rob', 'never mind')")
        writer.rollback()
        writer.execute("INSERT INTO post (author, body) VALUES ('ann', 'hello')")
        # ann's award is written (staged for the commit) but the transaction is open.
        assert process.next_event(timeout=QUIET) is None, "an event arrived before the writer committed"
        before = datetime.now(timezone.utc)
        writer.commit()
        ann = process.next_event(timeout=PATIENCE)
        assert ann is not None, f"no event after the commit: {''.join(process.stderr)}"
        writer.execute("INSERT INTO post (author) VALUES ('cy')")
        writer.commit()
        cy = process.next_event(timeout=PATIENCE)
        assert cy is not None, f"no event after the second commit: {''.join(process.stderr)}"
        ids = dict(writer.execute("SELECT user_id, id FROM gamification.event").fetchall())
    code, rest = process.finish(interrupt=kind == "python-sync")
    assert code == 0, "".join(process.stderr)
    assert rest == [], "more events than the two committed awards"

    # rob's rolled-back award, which had the lower transaction id, never came: ann's is first.
    assert set(ids) == {"ann", "cy"}
    assert [(e["kind"], e["user_id"], e["subject"], e["points"]) for e in (ann, cy)] == [
        ("badge_awarded", "ann", "first_post", 7), ("badge_awarded", "cy", "first_post", 7)]
    # Types arrive usable: numbers as JSON numbers (not strings), the time as ISO 8601.
    for event in (ann, cy):
        assert type(event["points"]) is int and type(event["id"]) is int
        assert event["id"] == ids[event["user_id"]]
        assert isinstance(event["txid"], str) and event["txid"].isdigit()
        assert event["reason"] == "trigger" and event["data"] is None
        at = datetime.fromisoformat(event["at"])
        assert at.tzinfo is not None and before - timedelta(minutes=1) < at < before + timedelta(minutes=1)


# --- The README's snippets, as written ----------------------------------------------------

def readme_block(language: str, containing: str) -> str:
    readme = (EXAMPLES.parent / "README.md").read_text()
    [block] = [b for b in re.findall(rf"```{language}\n(.*?)```", readme, re.S) if containing in b]
    return block


@pytest.fixture
def push(dsn: str) -> psycopg.Connection:
    """The README's consumer 'push', registered before its loop starts, and a trigger badge."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(POSTS)
        conn.execute(BADGE)
        conn.execute("SELECT gamification.consumer_register('push')")
        yield conn


def acknowledged(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT acked_at IS NOT NULL FROM gamification.consumer WHERE name = 'push'").fetchone()[0]


def test_the_readme_asyncio_loop_hears_a_committed_insert(push, dsn):
    heard: list[tuple] = []

    async def notify_user(user_id, kind, subject):
        heard.append((user_id, kind, subject))

    namespace = {"psycopg": psycopg, "dsn": dsn, "notify_user": notify_user}
    exec("async def loop():\n" + textwrap.indent(readme_block("python", "AsyncConnection"), "    "), namespace)

    async def scenario() -> None:
        task = asyncio.create_task(namespace["loop"]())
        async with await psycopg.AsyncConnection.connect(dsn) as writer:
            await writer.execute("INSERT INTO post (author) VALUES ('ann')")
            await asyncio.sleep(QUIET)
            assert heard == [], "heard before the writer committed"
            await writer.commit()
        for _ in range(int(PATIENCE * 10)):
            if task.done():
                task.result()  # the snippet failed: raise its error
            if heard and acknowledged(push):
                break
            await asyncio.sleep(0.1)
        task.cancel()
        assert heard == [("ann", "badge_awarded", "first_post")]
        assert acknowledged(push)

    asyncio.run(scenario())


def test_the_readme_node_loop_hears_a_committed_insert(node, push, dsn, tmp_path):
    script = tmp_path / "readme.js"
    script.write_text("const notifyUser = async (...args) => console.log(JSON.stringify(args));\n"
                      "(async () => {\n" + readme_block("js", "require('pg')") + "})()"
                      ".catch((err) => { console.error(err.message); process.exit(1); });\n")
    process = Consumer([node, str(script)], dsn, {"NODE_PATH": str(NODE_DIR / "node_modules")})
    try:
        with psycopg.connect(dsn) as writer:
            writer.execute("INSERT INTO post (author) VALUES ('ann')")
            assert process.next_event(timeout=QUIET) is None, "heard before the writer committed"
            writer.commit()
        assert process.next_event(timeout=PATIENCE) == ["ann", "badge_awarded", "first_post"]
        for _ in range(int(PATIENCE * 10)):
            if acknowledged(push):
                break
            time.sleep(0.1)
        assert acknowledged(push), "".join(process.stderr)
        assert process.proc.poll() is None, "".join(process.stderr)
    finally:
        process.kill()
