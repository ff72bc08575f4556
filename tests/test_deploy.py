"""The container, without Docker (there is none where the tests run): the Dockerfile and the
compose file pass their linters (hadolint, the Compose Specification's schema), the build
context keeps local data out, and what the image runs — its ENTRYPOINT and CMD, then its
HEALTHCHECK — is run here as a process, on an SQLite volume and on PostgreSQL."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from docker.utils.build import exclude_paths
from sqlalchemy import text

from bot.config import Settings
from bot.store.db import Database
from tests.support.botapi import BotApiEmulator
from tests.support.db import POSTGRES_URL, _postgres_reachable, _require_postgres, run

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKEN = "7234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


@dataclass
class Image:
    """What the Dockerfile's last stage says the container is."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = "root"
    volumes: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    healthcheck_options: dict[str, str] = field(default_factory=dict)


def read_dockerfile(path: Path) -> Image:
    lines, joined = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        joined += raw.rstrip().removesuffix("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(joined.strip())
            joined = ""
    image = Image()
    for line in lines:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            image = Image()  # only the last stage is the image
        elif word == "ENV":
            image.env.update(dict(kv.split("=", 1) for kv in shlex.split(rest)))
        elif word == "WORKDIR":
            image.workdir = rest
        elif word == "USER":
            image.user = rest
        elif word == "VOLUME":
            image.volumes = json.loads(rest)
        elif word in ("ENTRYPOINT", "CMD"):
            setattr(image, word.lower(), json.loads(rest))
        elif word == "HEALTHCHECK":
            options, _, command = rest.partition(" CMD ")
            image.healthcheck = json.loads(command)
            image.healthcheck_options = dict(o.lstrip("-").split("=") for o in options.split())
    return image


IMAGE = read_dockerfile(ROOT / "Dockerfile")


def test_dockerfile_and_compose_file_pass_their_linters() -> None:
    lint = subprocess.run(
        [BIN / "hadolint", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    schema = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_the_image_runs_unprivileged_and_checks_its_health() -> None:
    user = IMAGE.user.split(":")[0]
    assert user.isdigit() and int(user) >= 1000  # not root, and numeric (runAsNonRoot)
    assert IMAGE.entrypoint == ["ita-duty-bot"] and IMAGE.cmd == ["run"]
    assert IMAGE.healthcheck[:2] == ["ita-duty-bot", "health"]
    assert float(IMAGE.healthcheck_options["start-period"].rstrip("s")) >= 60
    # the SQLite default (data/bot.db, relative to the working directory) is on the volume
    assert IMAGE.volumes == [f"{IMAGE.workdir}/data"]


def test_compose_starts_the_bot_once_the_database_is_healthy() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    db, bot = compose["services"]["db"], compose["services"]["bot"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["build"] == "." and "healthcheck" not in bot  # the image's HEALTHCHECK
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_the_build_context_leaves_local_data_out(tmp_path: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    local = ["data/bot.db", "data/bot.db-wal", "data/bot.db-shm", "data/other.sqlite3", ".env",
             "config/.env", ".venv/bin/python", "bot/__pycache__/cli.cpython-311.pyc",
             "build/lib/bot/cli.py", "calendar-2570/legal_officer.ics", "backups/bot.db"]  # fmt: skip
    for name in [*tracked, *local]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    patterns = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    sent = set(exclude_paths(str(tmp_path), [p for p in patterns if p and not p.startswith("#")]))
    assert sent.isdisjoint(local)
    needed = [n for n in tracked if n.startswith(("bot/", "migrations/", "data/"))]
    assert {"pyproject.toml", "README.md", *needed} <= sent


# -- what the image runs, run here ------------------------------------------------------------


@pytest.fixture(params=["sqlite volume", "postgres"])
def database_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The settings an operator gives the container for its database: none (the SQLite
    default, on the volume), or a PostgreSQL URL and an empty schema of its own."""
    if request.param == "sqlite volume":
        yield {}
        return
    if not run(_postgres_reachable()):
        if _require_postgres():
            pytest.fail(f"PostgreSQL is required here but {POSTGRES_URL} cannot be reached")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    run(_sql(f'CREATE SCHEMA "{schema}"'))
    try:
        yield {"DATABASE_URL": POSTGRES_URL, "DATABASE_SCHEMA": schema}
    finally:
        run(_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


async def _sql(statement: str) -> None:
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(statement))
    await admin.dispose()


def container_env(image: Image, emu: BotApiEmulator, extra: dict[str, str]) -> dict[str, str]:
    """The image's ENV and what an operator's --env-file gives; none of this shell's settings."""
    mine = {name.upper() for name in Settings.model_fields}
    clean = {k: v for k, v in os.environ.items() if k.upper() not in mine}
    return {**clean, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **image.env,
            "BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": emu.base_url, **extra}  # fmt: skip


@pytest.mark.slow
@pytest.mark.postgres
def test_the_entrypoint_serves_and_the_healthcheck_passes(
    database_env: dict[str, str], tmp_path: Path
) -> None:
    workdir = tmp_path / IMAGE.workdir.strip("/")  # the container's /app; its data/ is the volume
    (workdir / "data").mkdir(parents=True)
    with BotApiEmulator(token=TOKEN) as emu:
        env = container_env(IMAGE, emu, database_env)

        def docker_run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*IMAGE.entrypoint, *args], cwd=workdir, env=env,
                                  capture_output=True, text=True, timeout=120)  # fmt: skip

        init = docker_run("org", "init", "--name", "อบต.ทดสอบ")
        assert init.returncode == 0, init.stderr
        assert docker_run(*IMAGE.healthcheck[1:]).returncode == 1  # not running yet: no job ran
        log = (tmp_path / "bot.log").open("w")
        bot = subprocess.Popen([*IMAGE.entrypoint, *IMAGE.cmd], cwd=workdir, env=env,
                               stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            emu.wait_for_calls(1, method="setMyCommands", timeout=60)
            deadline = time.monotonic() + 60
            while True:  # Docker runs the HEALTHCHECK until it passes (the start period)
                check = docker_run(*IMAGE.healthcheck[1:])
                if check.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        finally:
            bot.send_signal(signal.SIGINT)
            bot.wait(timeout=60)
            log.close()
    logged = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert check.returncode == 0, check.stdout + check.stderr + logged[-2000:]
    assert "job tick: ok" in check.stdout and "telegram: ok" in check.stdout
    assert TOKEN not in check.stdout + check.stderr + logged
    if not database_env:
        assert (workdir / "data" / "bot.db").is_file()  # on the volume
    assert [p.name for p in workdir.iterdir()] == ["data"]  # nothing written elsewhere


# -- systemd ------------------------------------------------------------------------------------

UNIT = ROOT / "config" / "ita-duty-bot.service"


def test_the_systemd_unit_is_valid_and_runs_our_commands(tmp_path: Path) -> None:
    from bot.cli import build_parser

    text = UNIT.read_text(encoding="utf-8")
    assert text.rstrip("\n") in (ROOT / "README.md").read_text(encoding="utf-8")  # shown there
    unit = {
        k: v for k, _, v in (ln.partition("=") for ln in text.splitlines()) if v and k[0] != "#"
    }
    for key in ("ExecStartPre", "ExecStart"):
        program, *args = shlex.split(unit[key])
        assert program == "/opt/ita-duty-bot/bin/ita-duty-bot"
        build_parser().parse_args(args)  # a command the bot has (argparse exits otherwise)
    assert unit["User"] != "root" and unit["Restart"] == "on-failure"
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here: the unit's syntax is not checked")
    here = tmp_path / UNIT.name  # verify needs the executables to exist: point at ours
    here.write_text(text.replace("/opt/ita-duty-bot/bin/", f"{BIN}/"), encoding="utf-8")
    check = subprocess.run([analyze, "verify", str(here)], capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout + check.stderr == "", check.stderr
