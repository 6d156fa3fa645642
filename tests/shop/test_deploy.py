"""The deployment files checked without a Docker daemon: compose.yaml parsed and each of its
services' commands checked against the code, the Dockerfile and the docs (docs/deploy.md,
docs/runbook.md); the gunicorn config file loaded by gunicorn's own settings and run for
real, adding its workers' metrics up."""
from __future__ import annotations

import importlib
import os
import re
import runpy
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DEPLOY_DOC = (ROOT / "docs" / "deploy.md").read_text()
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()
SHOP_SERVICES = ("migrate", "web", "worker", "beat")


def command_of(service: str) -> list[str]:
    command = SERVICES[service].get("command")
    return shlex.split(command) if isinstance(command, str) else list(command or [])


def management_commands() -> set[str]:
    from django.core.management import get_commands

    return set(get_commands())


def test_compose_has_the_shop_processes_their_backing_services_and_a_demo_stripe():
    assert set(SERVICES) == {"db", "redis", "migrate", "web", "worker", "beat", "localstripe", "localstripe-webhook"}
    assert SERVICES["db"]["image"].startswith("postgres:") and SERVICES["redis"]["image"].startswith("redis:")
    for name in ("localstripe", "localstripe-webhook"):
        assert SERVICES[name]["profiles"] == ["demo"]
    for name in ("db", "redis", *SHOP_SERVICES):
        assert "profiles" not in SERVICES[name], name
    for name in SHOP_SERVICES:
        service = SERVICES[name]
        assert service["build"] == "." and service["env_file"] == ".env"
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://shop:") and "@db:5432/shop" in service["environment"]["DATABASE_URL"]
    # The shop's processes wait for the migration; it waits for a healthy database.
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert SERVICES["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert SERVICES["migrate"]["restart"] == "no"
    assert set(COMPOSE["volumes"]) == {"pgdata", "redisdata"}


def test_every_command_in_compose_exists_in_this_repository():
    venv_bin = Path(sys.executable).parent
    commands = management_commands()
    for name, service in SERVICES.items():
        argv = command_of(name)
        if name in ("db", "redis"):
            continue  # the images' own programs
        assert argv, name
        program = argv[0]
        assert (venv_bin / program).exists() or program == "python", f"{name}: {program} is not installed by requirements.txt"
        if program == "python" and argv[1] == "manage.py":
            assert argv[2] in commands, f"{name}: manage.py {argv[2]}"
        elif program == "python":
            assert (ROOT / argv[1]).is_file(), f"{name}: {argv[1]}"
        elif program == "gunicorn":
            assert argv[argv.index("--config") + 1] == "deploy/gunicorn.conf.py"
            assert argv[-1] == "shop.wsgi" and importlib.util.find_spec("shop.wsgi")
        elif program == "celery":
            assert argv[1:3] == ["-A", "shop"] and argv[3] in ("worker", "beat")
            from shop.celery import app

            assert app.main == "shop"
    assert command_of("worker")[3] == "worker" and command_of("beat")[3] == "beat"


def test_the_web_service_runs_what_the_image_runs_and_checks_its_health():
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.M)
    assert cmd and yaml.safe_load(cmd.group(1)) == command_of("web")
    check = SERVICES["web"]["healthcheck"]["test"]
    assert "http://127.0.0.1:8000/healthz" in " ".join(check)


def test_dockerfile_is_slim_non_root_installs_the_pins_and_collects_static():
    assert re.search(r"^FROM python:3\.\d+-slim", DOCKERFILE, re.M)
    assert "pip install -r requirements.txt" in DOCKERFILE
    assert "manage.py collectstatic --noinput" in DOCKERFILE
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert users and users[-1] not in ("root", "0")
    assert DOCKERFILE.index("collectstatic") < DOCKERFILE.rindex("USER ")  # collected as root, served as the user
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", ".pgdata", ".run"} <= set(ignored)


def test_gunicorn_config_holds_only_gunicorn_settings_and_the_multiprocess_hook():
    from gunicorn.config import KNOWN_SETTINGS

    known = {setting.name for setting in KNOWN_SETTINGS}
    values = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    names = {k for k in values if not k.startswith("_") and k.islower() and not isinstance(values[k], type(os))}
    names -= {"annotations", "multiprocessing", "shutil", "path"}
    assert names - {"Path"} <= known, names - known
    assert callable(values["child_exit"]) and callable(values["on_starting"])
    assert values["timeout"] >= 20  # above a payment request's worst case (about 15 s)


def test_deploy_doc_names_every_service_and_command_of_compose():
    for name in SERVICES:
        assert f"`{name}`" in DEPLOY_DOC, name
    for name in ("web", "worker", "beat", "migrate"):
        assert " ".join(command_of(name)) in DEPLOY_DOC, name
    for topic in ("## The processes", "## The environment", "## First deployment", "## Stripe webhooks",
                  "## Upgrades: rolling restart", "## Backups and restore", "pg_dump", "pg_restore"):
        assert topic in DEPLOY_DOC, topic


def test_runbook_covers_each_incident():
    for title in ("## Stuck reservations", "## Webhook backlog", "## Failed refunds", "## Stale exchange rates",
                  "## Stock drift alarm", "## Redis down"):
        assert title in RUNBOOK, title


def test_every_manage_py_command_in_the_docs_exists():
    commands = management_commands()
    used = set()
    for text in (DEPLOY_DOC, RUNBOOK):
        used |= set(re.findall(r"manage\.py ([a-z_]+)", text))
    assert {"expire_reservations", "check_stock", "update_rates", "migrate", "shell"} <= used
    assert used <= commands, used - commands


def shell_snippets() -> list[str]:
    return re.findall(r'manage\.py shell -c "([^"]+)"', DEPLOY_DOC + RUNBOOK)


def test_the_runbooks_shell_one_liners_run(db, capsys):
    snippets = shell_snippets()
    assert len(snippets) >= 2
    for code in snippets:
        exec(compile(code, "<runbook>", "exec"), {})  # noqa: S102 - the docs' own commands, on an empty database
    printed = capsys.readouterr().out.split()
    assert printed == ["[]", "0"]


def test_the_runbooks_sql_names_real_tables_and_columns(db):
    from django.db import connection

    statements = re.findall(r"^ *```sql\n(.*?)^ *```", RUNBOOK, re.S | re.M)
    statements += re.findall(r"`(SELECT [^`]+;)`", RUNBOOK)
    assert len(statements) >= 4
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def test_environment_files_set_only_settings_the_shop_reads():
    read = (ROOT / "shop" / "settings.py").read_text() + (ROOT / "deploy" / "gunicorn.conf.py").read_text() + (ROOT / "compose.yaml").read_text()
    for name in ("env.example", "env.demo"):
        keys = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / "deploy" / name).read_text(), re.M)
        assert keys, name
        for key in keys:
            assert f'"{key}"' in read or f"${{{key}" in read, f"{name}: {key} is read by nothing"


@pytest.mark.slow
def test_gunicorn_with_the_config_adds_up_its_workers_metrics(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "DEBUG": "1",
        "LOG_FORMAT": "json",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "3",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "CELERY_FILESYSTEM_BROKER_DIR": str(tmp_path / "celery"),
    }
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "stale_counter_123.db").write_bytes(b"old")  # emptied at start
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "shop.wsgi"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()[-3000:]
                time.sleep(0.3)
        before = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        for _ in range(30):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    def health_requests(exposition: str) -> float:
        lines = [line for line in exposition.splitlines() if line.startswith("shop_http_requests_total{") and 'route="health"' in line]
        assert len(lines) == 1
        return float(lines[0].rsplit(" ", 1)[1])

    # Three workers answered them; /metrics of any one of them counts all 30.
    assert health_requests(text) - health_requests(before) == 30.0
    assert not (tmp_path / "prometheus" / "stale_counter_123.db").exists()
    first_line = (tmp_path / "gunicorn.log").read_text().splitlines()[0]
    assert '"logger": "gunicorn.error"' in first_line  # gunicorn's own lines are JSON too
