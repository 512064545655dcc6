"""Slow: the Debian package `scripts/package --deb` makes. Skipped unless HEARTH_SLOW_TESTS=1.

Unpacked with dpkg-deb into a temporary root, the copy has what a desktop reads (menu
entry, icons, AppStream metadata), `hearth` on its PATH, and opens its window under Xvfb.
Where the test runs as root with apt-get, the package is installed and purged for real,
and nothing may stay but the user's own Hearth folders. HEARTH_DEB=FILE tests a package
already built; otherwise the test builds one (many minutes, gigabytes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hearth import __version__
from tests.ui.test_window_on_xvfb import skip_unless_xcb_loads

ROOT = Path(__file__).resolve().parents[1]
DPKG_DEB = shutil.which("dpkg-deb")
XVFB_RUN = shutil.which("xvfb-run")
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
# What dpkg and apt change by themselves on any install; everything else is the package's.
SYSTEM_FOLDERS = ("/opt", "/usr", "/etc", "/var/lib")
PACKAGE_MANAGER_STATE = ("/var/lib/dpkg", "/var/lib/apt", "/var/lib/ucf")
# A user's own Hearth folders (platformdirs' on Linux): the only things a purge leaves.
# The installed command by its path: a virtual environment's `hearth` may come first on PATH.
INSTALLED = "/usr/bin/hearth"
HEARTH_FOLDERS = (".local/share/Hearth", ".config/Hearth", ".cache/Hearth")
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HEARTH_SLOW_TESTS") != "1", reason="set HEARTH_SLOW_TESTS=1"
    ),
    pytest.mark.skipif(DPKG_DEB is None, reason="needs dpkg-deb (Debian, Ubuntu)"),
    pytest.mark.timeout(5400),
]


@pytest.fixture(scope="module")
def deb() -> Path:
    given = os.environ.get("HEARTH_DEB")
    if given:
        return Path(given).resolve()
    subprocess.run([str(ROOT / "scripts" / "package"), "--deb"], check=True, timeout=5000)
    return ROOT / "dist" / f"hearth_{__version__}_amd64.deb"


def on_x_display(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``command`` on a fresh Xvfb display, as the window test runs Hearth."""
    assert XVFB_RUN is not None
    return subprocess.run(
        [XVFB_RUN, "-a", "-s", "-screen 0 1280x800x24", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def desktop_env(**extra: str) -> dict[str, str]:
    """This environment without the test suite's offscreen Qt and without HEARTH_HOME."""
    left_out = ("QT_QPA_PLATFORM", "QT_QPA_PLATFORM_PLUGIN_PATH", "WAYLAND_DISPLAY", "HEARTH_HOME")
    return {key: value for key, value in os.environ.items() if key not in left_out} | extra


@pytest.mark.display
@pytest.mark.skipif(XVFB_RUN is None, reason="needs Xvfb (Debian: apt-get install xvfb)")
def test_the_unpacked_package_opens_its_window(deb: Path, tmp_path: Path) -> None:
    skip_unless_xcb_loads()
    assert DPKG_DEB is not None
    fields = subprocess.run(
        [DPKG_DEB, "-f", str(deb), "Package", "Version", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"Version: {__version__}" in fields
    assert "libxcb1" in fields, fields
    assert "libc6" in fields, fields
    root = tmp_path / "root"
    subprocess.run([DPKG_DEB, "-x", str(deb), str(root)], check=True, timeout=900)

    share = root / "usr/share"
    desktop_entry = (share / "applications/hearth.desktop").read_text(encoding="utf-8")
    assert "Exec=hearth\n" in desktop_entry
    assert "Icon=hearth\n" in desktop_entry
    metainfo = share / "metainfo/io.github.hearth.Hearth.metainfo.xml"
    assert metainfo.is_file()
    # Debian's own validators, where installed: what software centres and menus accept.
    validators = {
        ("appstreamcli", "validate", "--no-net"): metainfo,
        ("desktop-file-validate",): share / "applications/hearth.desktop",
    }
    for validator, target in validators.items():
        if shutil.which(validator[0]) is not None:
            checked = subprocess.run([*validator, str(target)], capture_output=True, text=True)
            assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (share / "icons/hicolor/scalable/apps/hearth.svg").is_file()
    for size in ICON_SIZES:
        assert (share / f"icons/hicolor/{size}x{size}/apps/hearth.png").is_file()
    on_path = root / "usr/bin/hearth"
    assert on_path.is_symlink()
    assert on_path.resolve() == (root / "opt/hearth/hearth").resolve()

    version = subprocess.run(
        [str(on_path), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert version.stdout.strip() == f"hearth {__version__}", version.stderr[-2000:]
    home = tmp_path / "hearth-home"
    shown = on_x_display(
        [str(on_path)], desktop_env(HEARTH_HOME=str(home), HEARTH_EXIT_WHEN_SHOWN="1")
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert any(line.startswith("shown ") for line in shown.stdout.splitlines()), shown.stdout
    assert "the window opens on xcb" in (home / "data/logs/hearth.log").read_text()


def system_files() -> set[str]:
    """Every path under the folders a package writes to, less the package manager's state."""
    paths: set[str] = set()
    for top in SYSTEM_FOLDERS:
        for folder, subfolders, files in os.walk(top):
            subfolders[:] = [
                name
                for name in subfolders
                if os.path.join(folder, name) not in PACKAGE_MANAGER_STATE
            ]
            paths.update(os.path.join(folder, name) for name in (*subfolders, *files))
    return paths


def users_files(home: Path) -> list[str]:
    """Every file in ``home`` and every folder with nothing in it, relative to it."""
    return sorted(
        str(path.relative_to(home))
        for path in home.rglob("*")
        if not path.is_dir() or not any(path.iterdir())
    )


def installed_packages() -> set[str]:
    listing = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}:${Architecture} ${db:Status-Status}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split()[0] for line in listing.splitlines() if line.endswith(" installed")}


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("apt-get") is None,
    reason="installs the package for real: only as root, with apt-get",
)
def test_install_and_purge_leave_only_the_users_folders(deb: Path, tmp_path: Path) -> None:
    if subprocess.run(["dpkg-query", "-W", "hearth"], capture_output=True).returncode == 0:
        pytest.skip("a package named hearth is installed here already")
    home = tmp_path / "user"
    home.mkdir()
    # The user's own run, in a home of its own so that what it leaves can be read there.
    env = desktop_env(HOME=str(home))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env.pop(name, None)
    files_before, packages_before = system_files(), installed_packages()
    subprocess.run([*APT, "install", str(deb)], check=True, timeout=1800)
    # What apt installed for its Depends and Recommends goes with it.
    added = installed_packages() - packages_before - {"hearth:amd64"}
    try:
        version = subprocess.run(
            [INSTALLED, "--version"], capture_output=True, text=True, timeout=120, env=env
        )
        assert version.stdout.strip() == f"hearth {__version__}", version.stderr[-2000:]
        if XVFB_RUN is not None:
            shown = on_x_display([INSTALLED], env | {"HEARTH_EXIT_WHEN_SHOWN": "1"})
            assert shown.returncode == 0, shown.stderr[-3000:]
        else:
            subprocess.run([INSTALLED, "doctor"], env=env, timeout=300, check=True)
    finally:
        subprocess.run([*APT, "purge", "hearth", *sorted(added)], check=True, timeout=1800)

    files_after = system_files()
    assert sorted(files_after - files_before) == []
    assert sorted(files_before - files_after) == []
    kept = users_files(home)
    print(f"apt added {sorted(added)}; left in the user's home: {kept}")
    others = [p for p in kept if not any(p == f or p.startswith(f"{f}/") for f in HEARTH_FOLDERS)]
    assert others == [], kept
