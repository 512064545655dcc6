"""Turn the PyInstaller folder (dist/hearth/) into a Debian package (scripts/package --deb).

The folder goes to /opt/hearth as it is; /usr/bin/hearth links to its executable (the
bootloader finds its files through /proc/self/exe, so a link works), and the menu entry,
icons and AppStream metadata go where desktops look. No maintainer scripts: Debian's
triggers refresh the icon and menu caches, and the user's data stays in the user's home.

Depends are read from the folder itself: every shared object's DT_NEEDED that no file in
the folder provides must come from the system, and each such library is mapped to its
Debian package. A library with no package here stops the build, so a new need is never
shipped unstated.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from fnmatch import fnmatchcase
from pathlib import Path

from render_icons import ICONS, SIZES

from hearth import __version__
from hearth.display_check import PACKAGES_BY_LIBRARY, elf_kind, read_elf_dependencies

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGING = REPO_ROOT / "packaging"
INSTALL_DIR = "opt/hearth"
METAINFO = "io.github.hearth.Hearth.metainfo.xml"
DEBIAN_DIR = "DEBIAN"

# Beyond the display libraries hearth.display_check knows: the C and C++ runtimes and the
# loaders of optional parts (bookworm's package names).
SYSTEM_PACKAGES = {
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "librt.so.1": "libc6",
    "libresolv.so.2": "libc6",
    "libutil.so.1": "libc6",
    "ld-linux-x86-64.so.2": "libc6",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libgomp.so.1": "libgomp1",
    "libz.so.1": "zlib1g",
    "libvulkan.so.1": "libvulkan1",
    "libdrm.so.2": "libdrm2",
    "libgtk-3.so.0": "libgtk-3-0",
    "libgdk-3.so.0": "libgtk-3-0",
} | {soname: packages[0] for soname, packages in PACKAGES_BY_LIBRARY.items()}

# Files loaded only where the computer has what they serve. Their libraries are not
# Depends: Wayland's plugins load only under Wayland (X11 is the fallback) and are
# Recommends; Qt's GTK theme plugin only beside GTK, and the framebuffer and KMS
# platforms never on a desktop: Suggests.
OPTIONAL_FILES = {
    "_internal/PySide6/Qt/plugins/platforms/libqwayland*": "Recommends",
    "_internal/PySide6/Qt/plugins/wayland-*": "Recommends",
    "_internal/*libQt6WaylandClient.so*": "Recommends",
    "_internal/*libQt6WlShellIntegration.so*": "Recommends",
    "_internal/PySide6/Qt/plugins/platformthemes/libqgtk3.so": "Suggests",
    "_internal/PySide6/Qt/plugins/platforms/libqeglfs.so": "Suggests",
    "_internal/PySide6/Qt/plugins/platforms/libqlinuxfb.so": "Suggests",
    "_internal/PySide6/Qt/plugins/egldeviceintegrations/*": "Suggests",
    "_internal/*libQt6EglFSDeviceIntegration.so*": "Suggests",
    "_internal/*libQt6EglFsKmsSupport.so*": "Suggests",
}
# Needs that are no library: the bundled fontconfig reads the system's /etc/fonts, and
# its package brings a font (Qt ships none).
DATA_DEPENDS = ("fontconfig-config",)
FIELDS = ("Depends", "Recommends", "Suggests")


def shared_objects(bundle: Path) -> list[Path]:
    """Every ELF file in the folder (executables, libraries, Python extensions)."""
    found = []
    for path in sorted(bundle.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        with open(path, "rb") as file:
            if elf_kind(file.read(20)) is not None:
                found.append(path)
    return found


def system_needs(bundle: Path) -> dict[str, dict[str, list[str]]]:
    """Each system library the folder needs, with the files that need it, under the field
    it belongs to (Depends unless only optional files need it). What any file in the
    folder provides (by name or soname) is not a need."""
    objects = [read_elf_dependencies(path) for path in shared_objects(bundle)]
    provided = {item.path.name for item in objects} | {item.soname for item in objects}
    provided |= {path.name for path in bundle.rglob("*.so*")}  # links such as libfoo.so.1
    needs: dict[str, dict[str, list[str]]] = {field: {} for field in FIELDS}
    for item in objects:
        relative = item.path.relative_to(bundle).as_posix()
        field = next(
            (f for pattern, f in OPTIONAL_FILES.items() if fnmatchcase(relative, pattern)),
            "Depends",
        )
        for soname in item.needed:
            if soname not in provided:
                needs[field].setdefault(soname, []).append(relative)
    return needs


def packages_for(needs: dict[str, list[str]]) -> list[str]:
    unknown = sorted(soname for soname in needs if soname not in SYSTEM_PACKAGES)
    if unknown:
        lines = [f"  {soname} (needed by {', '.join(needs[soname][:3])})" for soname in unknown]
        raise SystemExit(
            "build_deb: no Debian package known for these system libraries; add them to "
            "SYSTEM_PACKAGES in packaging/build_deb.py:\n" + "\n".join(lines)
        )
    return sorted({SYSTEM_PACKAGES[soname] for soname in needs})


def description() -> str:
    """The control file's Description, from the AppStream metadata's summary and text."""
    component = ElementTree.parse(PACKAGING / METAINFO).getroot()
    summary = (component.findtext("summary") or "").strip()
    paragraphs = [" ".join((p.text or "").split()) for p in component.iter("p")]
    body = "\n .\n".join(
        textwrap.fill(text, 79, initial_indent=" ", subsequent_indent=" ") for text in paragraphs
    )
    return f"{summary}\n{body}"


def installed_size_kib(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        if DEBIAN_DIR not in path.relative_to(root).parts[:1]:
            total += path.lstat().st_size if path.is_symlink() or path.is_file() else 0
    return (total + 1023) // 1024


def stage(bundle: Path, root: Path) -> None:
    """The package's files under ``root``: the folder hard-linked (no second copy of
    gigabytes; dpkg-deb stores each file whole), then the desktop's files."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(bundle, root / INSTALL_DIR, symlinks=True, copy_function=os.link)
    (root / "usr/bin").mkdir(parents=True)
    # Relative, so an unpacked copy (dpkg-deb -x into any folder) starts its own files.
    (root / "usr/bin/hearth").symlink_to(f"../../{INSTALL_DIR}/hearth")
    share = root / "usr/share"
    for source, target in (
        (PACKAGING / "hearth.desktop", share / "applications/hearth.desktop"),
        (PACKAGING / METAINFO, share / "metainfo" / METAINFO),
        (ICONS / "hearth.svg", share / "icons/hicolor/scalable/apps/hearth.svg"),
        (REPO_ROOT / "resources/licences/Apache-2.0.txt", share / "doc/hearth/Apache-2.0.txt"),
        (REPO_ROOT / "resources/licences/MODELS.txt", share / "doc/hearth/MODELS.txt"),
        *(
            (ICONS / f"hearth-{size}.png", share / f"icons/hicolor/{size}x{size}/apps/hearth.png")
            for size in SIZES
        ),
    ):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    (share / "doc/hearth/copyright").write_text(
        "Hearth is MIT-licensed. The bundled models are Apache-2.0 (MODELS.txt, Apache-2.0.txt);\n"
        "the Python packages in /opt/hearth carry their own licences beside them.\n",
        encoding="utf-8",
    )


def relations(bundle: Path) -> dict[str, str]:
    """Depends, Recommends and Suggests; a package only in the strongest field naming it."""
    needs = system_needs(bundle)
    # The folder's code, and the system libraries PyInstaller copied into it, were linked
    # against this glibc (bookworm's libstdc++ needs GLIBC_2.36).
    glibc = platform.libc_ver()[1]
    named: set[str] = set()
    found: dict[str, str] = {}
    for field in FIELDS:
        packages = [p for p in packages_for(needs[field]) if p not in named]
        if field == "Depends":
            packages = sorted({*packages, *DATA_DEPENDS})
        named.update(packages)
        versioned = (f"{p} (>= {glibc})" if p == "libc6" and glibc else p for p in packages)
        found[field] = ", ".join(versioned)
    return found


def control(root: Path, bundle: Path) -> str:
    fields = {
        "Package": "hearth",
        "Version": __version__,
        "Architecture": "amd64",
        "Maintainer": "Hearth developers <hearth@invalid>",
        "Installed-Size": str(installed_size_kib(root)),
        **relations(bundle),
        "Section": "utils",
        "Priority": "optional",
        "Description": description(),
    }
    return "".join(f"{key}: {value}\n" for key, value in fields.items() if value)


def build(bundle: Path, out_dir: Path, work: Path) -> Path:
    if not (bundle / "hearth").is_file():
        raise SystemExit(f"build_deb: no PyInstaller folder at {bundle}; run scripts/package")
    root = work / "root"
    stage(bundle, root)
    (root / DEBIAN_DIR).mkdir()
    (root / DEBIAN_DIR / "control").write_text(control(root, bundle), encoding="utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"hearth_{__version__}_amd64.deb"
    # zstd: xz (dpkg's default) took over an hour for 3 GB on 2 busy cores; every dpkg of a
    # system with the glibc this needs reads zstd (Debian 12, Ubuntu 22.10 and later).
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", str(root), str(deb)], check=True
    )
    shutil.rmtree(root)
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bundle", type=Path, default=REPO_ROOT / "dist" / "hearth")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist")
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "build" / "deb")
    args = parser.parse_args(argv)
    deb = build(args.bundle.resolve(), args.out.resolve(), args.work.resolve())
    print(f"{deb} ({deb.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
