"""The bundle's wheels: the project's own (built here, no network) and the agent's dependencies.

Dependencies come from PyPI (`pip download` for the target's platform), from a directory of wheels at
hand (`--find-links`, no index), or are repacked from this Python's installed distributions (pure-Python
ones only: a station without internet can still build a bundle for any architecture).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from broadcast.agent_bundle.manifest import APT_PROVIDED, VENV_PROVIDED, BundleError, Target, requirements_of

SOURCE_PARTS = ("pyproject.toml", "README.md", "broadcast", "edge_agent")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same files make the same wheel


def _pip(*args: str, timeout: float) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise BundleError(f"pip {args[0]} failed: {(done.stderr or done.stdout).strip()[-1500:]}")


def build_project_wheel(source: Path, out: Path) -> Path:
    """Build the project's wheel from a source tree into `out`, offline (this venv's setuptools)."""
    if not (source / "pyproject.toml").is_file():
        raise BundleError(f"no pyproject.toml in {source}: give the project's source tree or --project-wheel")
    with tempfile.TemporaryDirectory(prefix="loa-wheel-") as tmp:
        # A clean copy: the build leaves build/ and *.egg-info behind, and the checkout may be in use.
        tree = Path(tmp) / "src"
        tree.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        for part in SOURCE_PARTS:
            origin = source / part
            if origin.is_dir():
                shutil.copytree(origin, tree / part, ignore=ignore)
            elif origin.is_file():
                shutil.copy2(origin, tree / part)
        built = Path(tmp) / "dist"
        _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(built), str(tree),
             timeout=300)  # fmt: skip
        wheels = list(built.glob("*.whl"))
        if len(wheels) != 1:
            raise BundleError(f"the project build made {len(wheels)} wheels")
        out.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheels[0], out / wheels[0].name))


def wheel_metadata(wheel: Path) -> str:
    """Return the METADATA text of a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        if len(names) != 1:
            raise BundleError(f"{wheel.name} has no single METADATA")
        return archive.read(names[0]).decode()


def download(requirements: list[Requirement], target: Target, out: Path, find_links: Path | None) -> None:
    """Fetch binary wheels for the target (and their dependencies) with pip download."""
    if not requirements:
        return
    args = ["download", "-q", "--only-binary=:all:", "--dest", str(out)]
    for platform in target.pip_platforms():
        args += ["--platform", platform]
    args += ["--python-version", target.python_version, "--implementation", "cp"]
    if find_links is not None:
        args += ["--no-index", "--find-links", str(find_links)]
    _pip(*args, *(str(r) for r in requirements), timeout=600)
    for wheel in out.glob("*.whl"):
        name = canonicalize_name(wheel.name.split("-")[0])
        if name in VENV_PROVIDED:  # colorzero asks for setuptools: the Pi's new venv has it already
            wheel.unlink()
        elif name in APT_PROVIDED:  # pulled by a dependency: Debian's package serves it on the Pi
            raise BundleError(f"a dependency needs {name} from PyPI; the agent takes Debian's")


def repack_installed(requirements: list[Requirement], target: Target, out: Path) -> list[str]:
    """Write wheels of the installed distributions that meet `requirements` (and their dependencies).

    Only pure-Python distributions installed from wheels qualify: they run on any architecture.
    Return the names written.
    """
    env = target.marker_environment()
    pending = list(requirements)
    done: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in done or name in APT_PROVIDED | VENV_PROVIDED:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise BundleError(f"{name} is not installed here: build the bundle online") from None
        if dist.version not in requirement.specifier:
            raise BundleError(f"{name} {dist.version} installed here does not meet {requirement}")
        write_wheel(dist, out)
        done.add(name)
        text = dist.read_text("METADATA") or ""
        pending += requirements_of(text, "", env)
    return sorted(done)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(dist: metadata.Distribution, out: Path) -> Path:
    """Pack an installed pure-Python distribution back into a py3-none-any wheel."""
    wheel_text = dist.read_text("WHEEL") or ""
    info = Parser().parsestr(wheel_text)
    tags = info.get_all("Tag") or []
    if info.get("Root-Is-Purelib", "").strip().lower() != "true" or not any(
        t.strip().startswith(("py3-none-", "py2.py3-none-")) and t.strip().endswith("-any") for t in tags
    ):
        raise BundleError(f"{dist.metadata['Name']} is not a pure-Python wheel here: build the bundle online")
    files = [f for f in dist.files or [] if not _skipped(f.as_posix())]
    info_dir = next((f.parts[0] for f in files if f.parts[0].endswith(".dist-info")), None)
    if info_dir is None:
        raise BundleError(f"{dist.metadata['Name']}: no .dist-info among its files")
    stem = info_dir.removesuffix(".dist-info")  # name_version, as the wheel that installed it
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}-py3-none-any.whl"
    record: list[str] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(files, key=lambda f: f.as_posix()):
            data = Path(str(dist.locate_file(file))).read_bytes()
            _add(archive, file.as_posix(), data)
            record.append(f"{file.as_posix()},{_record_hash(data)},{len(data)}")
        record.append(f"{info_dir}/RECORD,,")
        _add(archive, f"{info_dir}/RECORD", ("\n".join(record) + "\n").encode())
    return path


def _skipped(name: str) -> bool:
    """Files of an installation that are not part of the wheel (scripts, bytecode, installer notes)."""
    base = name.rsplit("/", 1)[-1]
    return (
        name.startswith("..")
        or "__pycache__/" in name
        or name.endswith(".pyc")
        or (".dist-info/" in name and base in {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
    )


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(name, _ZIP_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    archive.writestr(entry, data)
