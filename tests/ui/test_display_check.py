"""Before Qt starts, the window's start names what Qt's platform plugin lacks.

The plugins are the real ones from PySide6. A library is "hidden" in two ways: from the
resolver, by handing it a system folder that holds every library the plugin needs but
one; and from the real loader, by a copy of PySide6 (symlinks) whose platforms folder
holds a copy of a plugin whose Qt library is not beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import PySide6
import pytest

from hearth.display_check import (
    EXIT_NO_DISPLAY,
    PACKAGES_BY_LIBRARY,
    DisplayUnavailable,
    LibrarySearch,
    PluginCheck,
    choose_platform,
    describe,
    install_command,
    read_elf_dependencies,
    resolve_dependencies,
    system_family,
)

PYSIDE = Path(PySide6.__file__).parent
SITE_PACKAGES = PYSIDE.parent
PLATFORMS = PYSIDE / "Qt" / "plugins" / "platforms"
XCB_PLUGIN = PLATFORMS / "libqxcb.so"

# Hearth's window start without the display variables of the machine running the tests.
NO_DISPLAY = ("QT_QPA_PLATFORM", "QT_QPA_PLATFORM_PLUGIN_PATH", "DISPLAY", "WAYLAND_DISPLAY")


def test_reads_the_xcb_plugins_dependencies_from_its_elf_header() -> None:
    plugin = read_elf_dependencies(XCB_PLUGIN)
    assert {"libQt6XcbQpa.so.6", "libxcb-cursor.so.0", "libxcb-icccm.so.4"} <= set(plugin.needed)
    assert plugin.runpath == ("$ORIGIN/../../lib",)
    assert plugin.kind == read_elf_dependencies(PYSIDE / "Qt" / "lib" / "libQt6Core.so.6").kind


@pytest.mark.skipif(shutil.which("ldd") is None, reason="needs ldd to compare with")
def test_resolves_the_plugin_as_the_loader_does() -> None:
    """Whatever this machine has installed, the resolver finds and misses exactly what
    ld.so itself (through ldd) finds and misses, in the same files."""
    listing = subprocess.run(
        ["ldd", str(XCB_PLUGIN)], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    loader_found: dict[str, str] = {}
    loader_missing: set[str] = set()
    for line in listing.splitlines():
        name, arrow, target = line.strip().partition(" => ")
        if arrow and target.startswith("not found"):
            loader_missing.add(name)
        elif arrow and not name.startswith("ld-linux"):
            loader_found[name] = target.split(" (")[0]
    tree = resolve_dependencies(XCB_PLUGIN, LibrarySearch.of_this_system())
    assert set(tree.missing) == loader_missing
    found = {name: os.path.realpath(path) for name, path in tree.found.items()}
    assert {name: found.get(name) for name in loader_found} == {
        name: os.path.realpath(path) for name, path in loader_found.items()
    }


def test_names_a_hidden_system_library_and_the_package_that_provides_it(tmp_path: Path) -> None:
    here = resolve_dependencies(XCB_PLUGIN, LibrarySearch.of_this_system())
    from_system = {
        name: path for name, path in here.found.items() if PYSIDE not in path.resolve().parents
    }
    candidates = [name for name in PACKAGES_BY_LIBRARY if name in from_system]
    assert candidates, f"no system library of the xcb plugin is installed here: {here.missing}"
    hidden = "libxcb-cursor.so.0" if "libxcb-cursor.so.0" in from_system else candidates[0]
    system = tmp_path / "system"
    system.mkdir()
    for name, path in from_system.items():
        if name != hidden:
            (system / name).symlink_to(path)
    search = LibrarySearch(library_path=(), cache={}, system_dirs=[str(system)])

    tree = resolve_dependencies(XCB_PLUGIN, search)

    assert hidden in tree.missing
    assert set(tree.missing) - {hidden} <= set(here.missing)  # nothing else lost
    check = PluginCheck("xcb", XCB_PLUGIN, f"{hidden}: cannot open", tuple(tree.missing))
    debian_package, fedora_package = PACKAGES_BY_LIBRARY[hidden]
    on_debian = describe(check, "debian", as_root=False)
    assert hidden in on_debian
    assert "sudo apt-get install " in on_debian
    assert debian_package in on_debian.split("sudo apt-get install ")[1].split()
    on_fedora = describe(check, "fedora", as_root=True)
    assert "sudo" not in on_fedora  # as root: the command is run as it is
    assert fedora_package in on_fedora.split("dnf install ")[1].split()
    assert "\n" not in on_debian


def test_the_message_is_one_line_with_one_command() -> None:
    check = PluginCheck(
        "xcb",
        XCB_PLUGIN,
        "libxcb-icccm.so.4: cannot open shared object file: No such file or directory",
        ("libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libglib-2.0.so.0", "libgthread-2.0.so.0"),
    )
    assert describe(check, "debian", as_root=True) == (
        "the window cannot open: Qt's xcb plugin needs libxcb-icccm.so.4, libxcb-keysyms.so.1,"
        " libglib-2.0.so.0 and libgthread-2.0.so.0, which are not installed;"
        " install with: apt-get install libxcb-icccm4 libxcb-keysyms1 libglib2.0-0"
    )
    qt_library = PluginCheck(
        "xcb", XCB_PLUGIN, "libQt6XcbQpa.so.6: cannot open", ("libQt6XcbQpa.so.6",)
    )
    assert describe(qt_library, "debian", as_root=False).endswith(
        "reinstall Hearth (its Qt libraries are incomplete)"
    )
    unknown = PluginCheck("xcb", XCB_PLUGIN, "libodd.so.1: cannot open", ("libodd.so.1",))
    assert describe(unknown, "", as_root=False).endswith("install the package that provides it")
    assert install_command(["libxcb-cursor.so.0"], "arch") == ""


@pytest.mark.parametrize(
    ("os_release", "family"),
    [
        ('ID=debian\nVERSION_ID="12"\n', "debian"),
        ("ID=ubuntu\nID_LIKE=debian\n", "debian"),
        ('ID=linuxmint\nID_LIKE="ubuntu debian"\n', "debian"),
        ("ID=fedora\n", "fedora"),
        ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', "fedora"),
        ("ID=arch\n", ""),
    ],
)
def test_knows_the_install_command_of_the_system_family(
    tmp_path: Path, os_release: str, family: str
) -> None:
    path = tmp_path / "os-release"
    path.write_text(os_release)
    assert system_family(path) == family


def test_leaves_other_platforms_to_qt_and_says_when_there_is_no_display() -> None:
    for platform in ("offscreen", "minimal", "wayland;xcb"):
        assert choose_platform({"QT_QPA_PLATFORM": platform}) is None
    with pytest.raises(DisplayUnavailable, match="no display"):
        choose_platform({})


# -- With the real loader: a copy of PySide6 whose plugins are chosen by the test --------


def shadow_pyside(root: Path, plugins: dict[str, Path]) -> Path:
    """A site folder whose PySide6 and shiboken6 are symlinks to the real ones, except
    that the platforms folder holds copies of ``plugins`` (name -> file to copy) and
    Qt/lib lacks libQt6XcbQpa.so.6. Copies, not links: ld.so takes $ORIGIN from the path
    it opened, so a copy looks for its Qt libraries in this tree."""
    site = root / "site"
    (site / "PySide6" / "Qt" / "plugins" / "platforms").mkdir(parents=True)
    (site / "PySide6" / "Qt" / "lib").mkdir()
    (site / "shiboken6").symlink_to(SITE_PACKAGES / "shiboken6")
    kept_apart = {"Qt", "plugins", "platforms", "lib"}
    for real, shadow in (
        (PYSIDE, site / "PySide6"),
        (PYSIDE / "Qt", site / "PySide6" / "Qt"),
        (PYSIDE / "Qt" / "plugins", site / "PySide6" / "Qt" / "plugins"),
    ):
        for entry in real.iterdir():
            if entry.name not in kept_apart:
                (shadow / entry.name).symlink_to(entry)
    for entry in (PYSIDE / "Qt" / "lib").iterdir():
        if entry.name != "libQt6XcbQpa.so.6":
            (site / "PySide6" / "Qt" / "lib" / entry.name).symlink_to(entry)
    platforms = site / "PySide6" / "Qt" / "plugins" / "platforms"
    for entry in PLATFORMS.iterdir():
        if entry.name in plugins:
            shutil.copyfile(plugins[entry.name], platforms / entry.name)
        else:
            (platforms / entry.name).symlink_to(entry)
    return site


def run_python(code: str, site: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in NO_DISPLAY}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "PYTHONPATH": str(site), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


CHOOSE = """
import json, os, sys
from hearth.display_check import choose_platform
print(json.dumps(choose_platform(dict(os.environ))))
"""


@pytest.mark.parametrize(
    ("stand_ins", "chosen"),
    [
        # A plugin that loads stands in for wayland (the offscreen one), and one that
        # cannot (the xcb plugin, its Qt library missing) for xcb; then the other way.
        ({"libqwayland.so": "libqoffscreen.so", "libqxcb.so": "libqxcb.so"}, "wayland"),
        ({"libqwayland.so": "libqxcb.so", "libqxcb.so": "libqoffscreen.so"}, "xcb"),
    ],
)
def test_wayland_where_its_plugin_loads_otherwise_xcb(
    tmp_path: Path, stand_ins: dict[str, str], chosen: str
) -> None:
    site = shadow_pyside(tmp_path, {name: PLATFORMS / real for name, real in stand_ins.items()})
    result = run_python(CHOOSE, site, {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == chosen
    # Under X alone, xcb is the only candidate.
    if chosen == "xcb":
        result = run_python(CHOOSE, site, {"DISPLAY": ":0"})
        assert json.loads(result.stdout) == "xcb"


START_WINDOW = """
import sys
from hearth.__main__ import main
status = main([])
print("QtGui", "imported" if "PySide6.QtGui" in sys.modules else "untouched")
sys.exit(status)
"""

BARE_QT = "from PySide6.QtWidgets import QApplication; QApplication([])"


def test_the_window_start_names_what_the_plugin_lacks_instead_of_a_qt_abort(
    tmp_path: Path, hearth_home: Path
) -> None:
    site = shadow_pyside(tmp_path, {"libqxcb.so": XCB_PLUGIN})
    env = {"DISPLAY": ":99", "HEARTH_HOME": str(hearth_home)}

    # Qt itself, given this plugin, aborts without naming the library.
    bare = run_python(BARE_QT, site, env)
    assert bare.returncode != 0
    assert "libQt6XcbQpa" not in bare.stderr

    result = run_python(START_WINDOW, site, env)

    assert result.returncode == EXIT_NO_DISPLAY, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        "hearth: the window cannot open: Qt's xcb plugin needs libQt6XcbQpa.so.6"
    )
    assert line.endswith("reinstall Hearth (its Qt libraries are incomplete)")
    assert "QtGui untouched" in result.stdout
    log = (hearth_home / "data" / "logs" / "hearth.log").read_text()
    assert f"{site}/PySide6/Qt/plugins/platforms/libqxcb.so" in log
    assert "libQt6XcbQpa.so.6: cannot open shared object file" in log


def test_scripts_run_installs_every_package_the_check_knows_for_xcb() -> None:
    """Before the first install there is no check to ask, so scripts/run's own lists are
    what --install-system-deps installs; they must be what the check would name."""
    script = (Path(__file__).parents[2] / "scripts" / "run").read_text()

    def listed(variable: str) -> set[str]:
        return set(script.split(f'{variable}="')[1].split('"')[0].split())

    xcb = {
        name: packages for name, packages in PACKAGES_BY_LIBRARY.items() if "wayland" not in name
    }
    assert listed("DEBIAN_PACKAGES") == {debian for debian, _ in xcb.values()}
    assert listed("FEDORA_PACKAGES") == {fedora for _, fedora in xcb.values()}
    # The README's two commands name the same packages.
    readme = (Path(__file__).parents[2] / "README.md").read_text().replace("\\\n", " ")
    # (Installing the built .deb, "sudo apt-get install ./dist/...", is another command.)
    [apt_line, dnf_line] = [
        next(
            line
            for line in readme.splitlines()
            if line.startswith(f"sudo {tool} install") and "./" not in line
        )
        for tool in ("apt-get", "dnf")
    ]
    assert set(apt_line.split("#")[0].split()[3:]) == listed("DEBIAN_PACKAGES")
    assert set(dnf_line.split("#")[0].split()[3:]) == listed("FEDORA_PACKAGES")


def test_the_libraries_the_bundle_carries_stand_in_for_a_system_without_them(
    tmp_path: Path,
) -> None:
    """The packaged app's bootloader puts its folder on LD_LIBRARY_PATH: with the xcb
    libraries packaging/hearth.spec carries there, a system lacking them all is enough."""
    spec = (Path(__file__).parents[2] / "packaging" / "hearth.spec").read_text()
    listing = spec.split("XCB_LIBRARIES_TO_CARRY = (")[1].split(")")[0]
    carried = [name.strip().strip('"') for name in listing.split(",") if name.strip()]
    assert "libxcb-cursor.so.0" in carried
    assert set(carried) <= set(PACKAGES_BY_LIBRARY)
    here = resolve_dependencies(XCB_PLUGIN, LibrarySearch.of_this_system())
    present = [name for name in carried if name in here.found]  # the build needs them all
    system, bundle = tmp_path / "system", tmp_path / "bundle"
    system.mkdir()
    bundle.mkdir()
    for name, path in here.found.items():
        if PYSIDE not in path.resolve().parents:
            (bundle if name in carried else system).joinpath(name).symlink_to(path)

    without_bundle = resolve_dependencies(XCB_PLUGIN, LibrarySearch((), {}, [str(system)]))
    with_bundle = resolve_dependencies(XCB_PLUGIN, LibrarySearch([str(bundle)], {}, [str(system)]))

    assert set(carried) <= set(without_bundle.missing)
    assert set(with_bundle.missing) == set(here.missing)
    assert all(with_bundle.found[name].parent == bundle for name in present)


def test_the_window_test_on_xvfb_skips_with_the_checks_own_line(tmp_path: Path) -> None:
    """Where Qt's xcb plugin cannot load, tests/ui/test_window_on_xvfb.py skips (each of
    its tests) and says why in the words the window's start would use, instead of failing."""
    if shutil.which("xvfb-run") is None:
        pytest.skip("without Xvfb the window test skips before it checks the plugin")
    site = shadow_pyside(tmp_path, {"libqxcb.so": XCB_PLUGIN})
    repository = Path(__file__).parents[2]
    clean = {key: value for key, value in os.environ.items() if key not in NO_DISPLAY}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            str(Path(__file__).with_name("test_window_on_xvfb.py")),
        ],
        cwd=repository,
        env={**clean, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "skipped" in summary
    assert "passed" not in summary
    assert "failed" not in summary
    expected = "the window cannot open: Qt's xcb plugin needs libQt6XcbQpa.so.6, which is not"
    assert expected in " ".join(result.stdout.split())
