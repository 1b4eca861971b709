"""The wheel carries the whole desk: built, installed into a fresh virtualenv, run from elsewhere.

An editable install hides a package or data file missing from ``pyproject.toml``'s explicit
lists: the source tree answers for it. So the wheel is built from a copy of what it is declared
to contain, installed into a new virtualenv that borrows only the dependencies of this one, and
run in a folder outside the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES: list[str] = PROJECT["tool"]["setuptools"]["packages"]
TOP_LEVEL = sorted({name.split(".")[0] for name in PACKAGES})


def test_every_package_of_the_source_tree_is_listed() -> None:
    """A folder with an ``__init__.py`` under a listed package is itself listed (setuptools
    would leave it out of the wheel without a word)."""
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in TOP_LEVEL
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert sorted(found - set(PACKAGES)) == []


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command[:4]} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow  # builds a wheel and a virtualenv: about 30-60 s
def test_the_wheel_installs_and_runs_outside_the_source_tree(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for top in TOP_LEVEL:
        shutil.copytree(ROOT / top, source / top, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        tmp_path,
        env,
    )
    (wheel,) = wheels.glob("privacy_desk-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        tmp_path,
        env,
    )
    # The dependencies are this test venv's: a path line in a .pth file, appended after the new
    # venv's own site-packages (and, unlike a site dir, its editable-install finders not run).
    ours = sysconfig.get_paths()["purelib"]
    theirs = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(theirs, "test-dependencies.pth").write_text(ours + "\n", encoding="utf-8")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    helped = _run([str(venv / "bin" / "privacy-desk"), "--help"], elsewhere, env)
    assert "classify" in helped.stdout and "approve" in helped.stdout

    where = _run(
        [
            str(python),
            "-c",
            "import json, bot.cli, bot.wiring, handlers.model, mail.parse, storage.db, templates;"
            "from importlib import resources as r;"
            "print(json.dumps({m.__name__: m.__file__ for m in "
            "(bot.cli, bot.wiring, handlers.model, mail.parse, storage.db, templates)} | {"
            "'model.npz': str(r.files('handlers') / 'data' / 'model.npz'),"
            "'ack.ja.txt.j2': str(r.files('templates') / 'mail' / 'ack.ja.txt.j2'),"
            "'case.html.j2': str(r.files('templates') / 'web' / 'case.html.j2'),"
            "'desk.css': str(r.files('templates') / 'web' / 'desk.css'),"
            "'bot.web.pages': str(r.files('bot.web') / 'pages.py'),"
            "'script.py.mako': str(r.files('storage.migrations') / 'script.py.mako')}))",
        ],
        elsewhere,
        env,
    )
    for name, path in json.loads(where.stdout).items():
        assert Path(path).is_relative_to(venv), f"{name} comes from {path}, not the new venv"
        assert Path(path).is_file(), f"{name} is not in the wheel"

    # A real command on the installed package: the schema from its migrations, a message
    # classified with its packaged model.
    env |= {"PD_DATABASE_URL": f"sqlite:///{elsewhere / 'desk.db'}"}
    upgraded = _run([str(venv / "bin" / "privacy-desk"), "db", "upgrade"], elsewhere, env)
    assert "schema upgraded" in upgraded.stdout
    classified = _run(
        [
            str(venv / "bin" / "privacy-desk"),
            "classify",
            "--json",
            str(ROOT / "examples" / "mail" / "001.eml"),
        ],
        elsewhere,
        env,
    )
    assert json.loads(classified.stdout)["file"].endswith("001.eml")
