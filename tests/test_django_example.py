"""examples/django, the sample project of README.md's "Django" section (issue 20), followed
step by step on PostgreSQL 15 and 18 as its README says: a copy of the directory, the database
from the environment (DATABASE_URL, then libpq's PG* variables), migrate, gamification_sync,
seed_demo, the README's shell snippet, then the pages fetched with Django's test client show
the three badges (Pionner, Collector, Star) and the points.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytest.importorskip("django")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "django"

# Run by `manage.py shell -c`: the README's snippet (user bob), a user without badges
# (carol), then the pages.
CHECK = """
import json
from django.contrib.auth.models import User
from django.test import Client
from django.test.utils import setup_test_environment

setup_test_environment()
exec(open("readme_snippet.py").read())
User.objects.create_user("carol")
client = Client()
out = {}
for name in ("ada", "bob", "carol"):
    page = client.get(f"/users/{User.objects.get(username=name).pk}/")
    out[name] = [page.status_code, page.content.decode()]
page = client.get("/")
out["index"] = [page.status_code, page.content.decode()]
out["missing"] = client.get("/users/999999/").status_code
print("RESULT " + json.dumps(out))
"""


def readme_snippet() -> str:
    readme = (EXAMPLE / "README.md").read_text()
    return re.search(r"```python\n(.*?)```", readme, re.S).group(1)


def test_django_example(server, dsn, tmp_path):
    project = tmp_path / "django"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "check_page.py").write_text(CHECK)
    (project / "readme_snippet.py").write_text(readme_snippet())

    base = {k: v for k, v in os.environ.items()
            if k != "DATABASE_URL" and not k.startswith("PG") and not k.startswith("DJANGO_")}
    libpq = {"PGHOST": server.host, "PGPORT": str(server.port), "PGUSER": server.user,
             "PGDATABASE": server.dbname}
    # The URL form, as `make serve` prints it; a socket directory host goes through PG* only.
    by_url = ({"DATABASE_URL": f"postgresql://{server.user}@{server.host}:{server.port}/{server.dbname}"}
              if not server.host.startswith("/") else libpq)

    def manage(*argv: str, env: dict[str, str]) -> str:
        done = subprocess.run([sys.executable, "manage.py", *argv], cwd=project, capture_output=True,
                              text=True, timeout=300, env={**base, **env})
        assert done.returncode == 0, f"manage.py {' '.join(argv)}:\n{done.stdout}{done.stderr}"
        return done.stdout

    migrated = manage("migrate", "--noinput", env=by_url)
    assert "Applying gamification_pg.0001_initial... OK" in migrated, migrated
    assert "Applying sketches.0001_initial... OK" in migrated, migrated
    # The committed migration matches the model.
    assert "No changes detected" in manage("makemigrations", "--check", "--dry-run", env=by_url)
    synced = manage("gamification_sync", env=by_url)
    assert "Applied: 3 add" in synced, synced
    seeded = manage("seed_demo", env=by_url)
    assert re.search(r"ada \(id \d+\) holds: Pionner, Collector, Star; points: 35", seeded), seeded
    assert "/users/" in seeded
    checked = manage("shell", "-c", "exec(open('check_page.py').read())", env=libpq)
    pages = json.loads(checked.split("RESULT ", 1)[1])

    for name in ("ada", "bob"):   # seed_demo, then the README's snippet: the three badges, 35 points
        status, html = pages[name]
        assert status == 200
        badges = html.split('<ul id="badges">', 1)[1].split("</ul>", 1)[0]
        assert sorted(re.findall(r"<li>(\w+) \(\+(\d+)\), awarded \d{4}-", badges)) == \
            [("Collector", "5"), ("Pionner", "10"), ("Star", "20")], badges
        assert "Points: <strong>35</strong>" in html, html
        assert "a star sketcher" in html
        assert html.count(">held<") == 3, html
    status, html = pages["carol"]
    assert status == 200 and "Points: <strong>0</strong>" in html and "None yet." in html
    assert html.count("not yet") == 3 and "star sketcher" not in html
    status, html = pages["index"]
    assert status == 200
    rows = re.findall(r'<a href="/users/\d+/">(\w+)</a></td>\s*<td>(\d+)</td>\s*<td>(\d+)</td>', html)
    assert rows == [("ada", "35", "3"), ("bob", "35", "3"), ("carol", "0", "0")], html
    assert pages["missing"] == 404

    # What the pages show is what the extension holds.
    with psycopg.connect(dsn) as conn:
        held = conn.execute("SELECT u.username, array_agg(b.code ORDER BY b.code) FROM gamification.user_badges b "
                            "JOIN auth_user u ON u.id::text = b.user_id GROUP BY 1 ORDER BY 1").fetchall()
    assert held == [("ada", ["collector", "pionner", "star"]), ("bob", ["collector", "pionner", "star"])]
