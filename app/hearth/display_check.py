"""Before Qt starts: can the window's platform plugin load on this system?

Qt 6 needs system libraries that a minimal Linux lacks (libxcb-cursor0, libxcb-icccm4,
...). Without them, QApplication aborts with a screen of plugin lines that never names
the missing library. So the window's start first loads the plugin it will use with the
dynamic loader (``dlopen``; Qt loads the same libraries a moment later, so this costs
next to nothing when all is well), and when that fails reads the plugin's ELF dependency
tree the way ld.so(8) resolves it, names every library missing and the command that
installs them. Nothing here imports PySide6 itself: that would be too late.

``python -m hearth.display_check --install-command`` prints that command alone
(nothing when nothing is missing): scripts/run --install-system-deps runs it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import struct
import sys
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

# Exit status of `hearth` when the window cannot open (2 is a usage error, 3 another
# window holding the data folder).
EXIT_NO_DISPLAY = 4

# The platforms this module checks, in the order of preference where both displays are
# there; any other QT_QPA_PLATFORM (offscreen for tests, minimal, vnc, eglfs, a list) is
# left to Qt.
CHECKED_PLATFORMS = ("wayland", "xcb")

# Library soname -> (Debian/Ubuntu package, Fedora package): what Qt's xcb and wayland
# plugins and the Qt libraries they pull in need from the system. The Debian names are
# bookworm's (apt-get picks the t64-renamed package on newer releases by itself).
PACKAGES_BY_LIBRARY: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}

# ld.so's built-in directories after the cache (Debian's multiarch ones first).
SYSTEM_LIBRARY_DIRS = (
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
)
LD_SO_CACHE = Path("/etc/ld.so.cache")
OS_RELEASE = Path("/etc/os-release")


class DisplayUnavailable(Exception):
    """The window cannot open; ``str()`` is the one line for the user."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


# -- Reading ELF files ------------------------------------------------------------------

DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH, DT_RUNPATH = 1, 5, 10, 14, 15, 29
PT_LOAD, PT_DYNAMIC = 1, 2


class ElfDependencies(NamedTuple):
    """What the dynamic loader reads from a shared object to find its dependencies."""

    path: Path
    kind: tuple[int, int]  # (EI_CLASS, e_machine): the loader skips files of another
    needed: tuple[str, ...] = ()
    soname: str = ""
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()


def elf_kind(header: bytes) -> tuple[int, int] | None:
    """(class, machine) of an ELF header, or None for anything else."""
    if len(header) < 20 or header[:4] != b"\x7fELF" or header[4] not in (1, 2):
        return None
    order = "<" if header[5] == 1 else ">"
    (machine,) = struct.unpack_from(order + "H", header, 18)
    return header[4], machine


def read_elf_dependencies(path: Path) -> ElfDependencies:
    """DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH of a shared object (ValueError if it
    is not one), from its program headers: section headers may be stripped."""
    try:
        return _read_elf_dependencies(path)
    except struct.error as error:  # a truncated file
        raise ValueError(f"{path}: {error}") from error


def _read_elf_dependencies(path: Path) -> ElfDependencies:
    with open(path, "rb") as file:
        header = file.read(64)
        kind = elf_kind(header)
        if kind is None:
            raise ValueError(f"{path}: not an ELF file")
        wide = kind[0] == 2
        order = "<" if header[5] == 1 else ">"
        if wide:
            phoff, phentsize, phnum = struct.unpack_from(order + "Q14xHH", header, 32)
            program_header = order + "II QQ Q QQ"  # type, flags, offset, vaddr, -, filesz
            dynamic_entry = order + "qQ"
        else:
            phoff, phentsize, phnum = struct.unpack_from(order + "I10xHH", header, 28)
            program_header = order + "I I I I II"  # type, offset, vaddr, -, filesz, -
            dynamic_entry = order + "iI"
        file.seek(phoff)
        table = file.read(phentsize * phnum)
        loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
        dynamic: tuple[int, int] | None = None  # (offset, filesz)
        for number in range(phnum):
            fields = struct.unpack_from(program_header, table, number * phentsize)
            if wide:
                p_type, _, offset, vaddr, _, filesz = fields[:6]
            else:
                p_type, offset, vaddr, _, filesz = fields[:5]
            if p_type == PT_LOAD:
                loads.append((vaddr, offset, filesz))
            elif p_type == PT_DYNAMIC:
                dynamic = (offset, filesz)
        if dynamic is None:
            return ElfDependencies(path, kind)
        file.seek(dynamic[0])
        entries = struct.iter_unpack(dynamic_entry, file.read(dynamic[1]))
        tags: list[tuple[int, int]] = []
        strtab_vaddr = strsz = 0
        for tag, value in entries:
            if tag == 0:
                break
            if tag == DT_STRTAB:
                strtab_vaddr = value
            elif tag == DT_STRSZ:
                strsz = value
            elif tag in (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH):
                tags.append((tag, value))
        strtab_offset = next(
            (
                offset + strtab_vaddr - vaddr
                for vaddr, offset, size in loads
                if vaddr <= strtab_vaddr < vaddr + size
            ),
            None,
        )
        if strtab_offset is None:
            raise ValueError(f"{path}: its string table lies outside its loaded segments")
        file.seek(strtab_offset)
        strings = file.read(strsz)

    def string(offset: int) -> str:
        return strings[offset : strings.index(b"\0", offset)].decode("utf-8", "replace")

    needed = tuple(string(value) for tag, value in tags if tag == DT_NEEDED)
    soname = next((string(value) for tag, value in tags if tag == DT_SONAME), "")
    rpath = tuple(p for tag, v in tags if tag == DT_RPATH for p in string(v).split(":") if p)
    runpath = tuple(p for tag, v in tags if tag == DT_RUNPATH for p in string(v).split(":") if p)
    return ElfDependencies(path, kind, needed, soname, rpath, runpath)


def read_ld_so_cache(path: Path = LD_SO_CACHE) -> dict[str, list[str]]:
    """soname -> paths from ldconfig's cache (glibc's "ld.so-cache1.1" format, alone or
    after the old one); empty when there is none."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    start = data.find(b"glibc-ld.so.cache1.1")
    if start < 0:
        return {}
    (count,) = struct.unpack_from("<I", data, start + 20)
    by_soname: dict[str, list[str]] = {}

    def string(offset: int) -> str:
        offset += start  # the new format's offsets count from its own header
        return data[offset : data.index(b"\0", offset)].decode("utf-8", "replace")

    for number in range(count):
        _, key, value = struct.unpack_from("<iII", data, start + 48 + number * 24)
        by_soname.setdefault(string(key), []).append(string(value))
    return by_soname


# -- Resolving dependencies as ld.so does -----------------------------------------------


class LibrarySearch:
    """Where the dynamic loader looks for a library, in its order (ld.so(8)): the
    object's DT_RPATH and its loaders' (only when the object has no DT_RUNPATH),
    LD_LIBRARY_PATH, the object's DT_RUNPATH, ldconfig's cache, the system directories.
    (glibc-hwcaps subdirectories are left out: what lives there is in the cache.)"""

    def __init__(
        self,
        library_path: Sequence[str] = (),
        cache: Mapping[str, Sequence[str]] | None = None,
        system_dirs: Sequence[str] = SYSTEM_LIBRARY_DIRS,
    ) -> None:
        self.library_path = library_path
        self.cache = cache or {}
        self.system_dirs = system_dirs

    @classmethod
    def of_this_system(cls, env: Mapping[str, str] = os.environ) -> LibrarySearch:
        entries = env.get("LD_LIBRARY_PATH", "").replace(";", ":").split(":")
        return cls([entry for entry in entries if entry], read_ld_so_cache())

    def candidates(
        self, soname: str, requester: ElfDependencies, loader_rpaths: Sequence[str]
    ) -> Iterator[str]:
        if "/" in soname:
            yield soname
            return
        origin = str(requester.path.parent)
        directories: list[str] = []
        if not requester.runpath:
            directories += expand_origin(requester.rpath, origin)
            directories += loader_rpaths
        directories += self.library_path
        directories += expand_origin(requester.runpath, origin)
        for directory in directories:
            yield os.path.join(directory, soname)
        yield from self.cache.get(soname, ())
        for directory in self.system_dirs:
            yield os.path.join(directory, soname)

    def find(
        self, soname: str, requester: ElfDependencies, loader_rpaths: Sequence[str]
    ) -> ElfDependencies | None:
        for candidate in self.candidates(soname, requester, loader_rpaths):
            try:
                found = read_elf_dependencies(Path(candidate))
            except (OSError, ValueError):
                continue
            if found.kind == requester.kind:  # a 32-bit copy is skipped, as ld.so does
                return found
        return None


def expand_origin(paths: Sequence[str], origin: str) -> list[str]:
    expanded = [entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin) for entry in paths]
    return [entry for entry in expanded if "$" not in entry]  # $LIB, $PLATFORM: Qt uses neither


class DependencyTree(NamedTuple):
    """A shared object's dependencies as ld.so would resolve them."""

    found: dict[str, Path]  # soname -> the file ld.so takes
    missing: list[str]


def resolve_dependencies(plugin: Path, search: LibrarySearch) -> DependencyTree:
    """Walk ``plugin``'s dependency tree breadth first, in the order ld.so loads it. A
    soname found once counts as found for every later object that needs it, as an
    already loaded library does."""
    root = read_elf_dependencies(plugin)
    tree = DependencyTree({}, [])
    seen = {root.soname, plugin.name}
    queue: deque[tuple[ElfDependencies, tuple[str, ...]]] = deque([(root, ())])
    while queue:
        requester, loader_rpaths = queue.popleft()
        # The RPATHs of the objects that led here apply to its dependencies too, unless
        # it has a RUNPATH.
        own_rpath = (
            ()
            if requester.runpath
            else tuple(expand_origin(requester.rpath, str(requester.path.parent)))
        )
        for soname in requester.needed:
            if soname in seen:
                continue
            seen.add(soname)
            dependency = search.find(soname, requester, loader_rpaths)
            if dependency is None:
                tree.missing.append(soname)
                continue
            tree.found[soname] = dependency.path
            seen.add(dependency.soname)
            queue.append((dependency, (*own_rpath, *loader_rpaths)))
    return tree


def plugin_load_error(plugin: Path) -> str | None:
    """Why the dynamic loader cannot load ``plugin`` (its own words), or None when it
    loads. RTLD_LAZY: only the libraries must be there, as when Qt loads it."""
    import _ctypes  # here: a start that checks nothing (offscreen) need not load it

    try:
        _ctypes.dlopen(str(plugin), os.RTLD_LAZY)
    except OSError as error:
        return str(error)
    return None


class PluginCheck(NamedTuple):
    """Whether a platform plugin loads and, when not, which libraries it lacks."""

    platform: str
    plugin: Path
    load_error: str | None = None
    missing: tuple[str, ...] = ()

    @property
    def loads(self) -> bool:
        return self.load_error is None


def check_plugin(platform: str, plugin: Path, search: LibrarySearch | None = None) -> PluginCheck:
    """Load ``plugin``; only when that fails, walk its tree to name every missing library
    (the loader stops at the first)."""
    load_error = plugin_load_error(plugin)
    if load_error is None:
        return PluginCheck(platform, plugin)
    try:
        missing = resolve_dependencies(plugin, search or LibrarySearch.of_this_system()).missing
    except (OSError, ValueError) as error:
        log.warning("could not read the dependencies of %s: %s", plugin, error)
        missing = []
    named_by_loader, _, reason = load_error.partition(": ")
    if not missing and "/" not in named_by_loader and "cannot open shared object" in reason:
        missing = [named_by_loader]
    return PluginCheck(platform, plugin, load_error, tuple(missing))


# -- What to tell the user --------------------------------------------------------------


def system_family(os_release: Path = OS_RELEASE) -> str:
    """The family of this Linux for its install command: "debian" (apt-get), "fedora"
    (dnf), or "" when neither."""
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    words: list[str] = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            words += value.strip().strip("\"'").lower().split()
    if any(word in ("debian", "ubuntu") for word in words):
        return "debian"
    if any(word in ("fedora", "rhel", "centos") for word in words):
        return "fedora"
    return ""


def install_command(libraries: Sequence[str], family: str) -> str:
    """The command that installs the packages providing ``libraries`` on this family of
    systems (without sudo), or "" when none of them has a known package."""
    column = {"debian": 0, "fedora": 1}.get(family)
    if column is None:
        return ""
    packages = dict.fromkeys(
        PACKAGES_BY_LIBRARY[name][column] for name in libraries if name in PACKAGES_BY_LIBRARY
    )
    if not packages:
        return ""
    tool = "apt-get" if family == "debian" else "dnf"
    return f"{tool} install {' '.join(packages)}"


def describe(check: PluginCheck, family: str, as_root: bool) -> str:
    """One line for the user about a plugin that does not load."""
    platform = f"Qt's {check.platform} plugin"
    if not check.missing:
        return f"the window cannot open: {platform} does not load: {check.load_error}"
    *others, last = check.missing
    named = f"{', '.join(others)} and {last}" if others else last
    command = install_command(check.missing, family)
    remedies = [f"install with: {'' if as_root else 'sudo '}{command}"] if command else []
    if any(name.startswith("libQt6") for name in check.missing):
        remedies.append("reinstall Hearth (its Qt libraries are incomplete)")
    if not remedies:
        remedies.append(
            "install the packages that provide them"
            if others
            else "install the package that provides it"
        )
    return (
        f"the window cannot open: {platform} needs {named}, "
        f"which {'are' if others else 'is'} not installed; {'; '.join(remedies)}"
    )


# -- Choosing and checking the platform -------------------------------------------------


def platform_plugins(platform: str, env: Mapping[str, str] = os.environ) -> list[Path]:
    """Qt's plugin files for ``platform``, in the order Qt tries them: the folder in
    QT_QPA_PLATFORM_PLUGIN_PATH, then PySide6's own (found without importing it)."""
    file_name = f"libq{platform}.so"
    folders: list[Path] = []
    if env.get("QT_QPA_PLATFORM_PLUGIN_PATH"):
        folders.append(Path(env["QT_QPA_PLATFORM_PLUGIN_PATH"]))
    spec = importlib.util.find_spec("PySide6")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            folders.append(Path(location) / "Qt" / "plugins" / "platforms")
    return [folder / file_name for folder in folders if (folder / file_name).is_file()]


def check_platform(platform: str, env: Mapping[str, str] = os.environ) -> PluginCheck | None:
    """The first of ``platform``'s plugin files that loads, or else the first one's
    failure; None when there is no plugin file to check."""
    checks: list[PluginCheck] = []
    for plugin in platform_plugins(platform, env):
        check = check_plugin(platform, plugin)
        if check.loads:
            return check
        checks.append(check)
    return checks[0] if checks else None


def display_named(platform: str, env: Mapping[str, str]) -> bool:
    return bool(env.get("WAYLAND_DISPLAY" if platform == "wayland" else "DISPLAY"))


def choose_platform(env: Mapping[str, str] = os.environ) -> str | None:
    """The platform to start Qt with: wayland where WAYLAND_DISPLAY is set and its plugin
    loads, otherwise xcb. None leaves the choice to Qt: QT_QPA_PLATFORM names a platform
    not checked here (offscreen in tests), this is not Linux, or no plugin file is found.
    Raises DisplayUnavailable, with one line for the user, when the window cannot open."""
    if not sys.platform.startswith("linux"):
        return None
    requested = env.get("QT_QPA_PLATFORM", "")
    if requested and requested not in CHECKED_PLATFORMS:
        return None
    wanted = [requested] if requested else [p for p in CHECKED_PLATFORMS if display_named(p, env)]
    if not wanted:
        raise DisplayUnavailable(
            "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
            "the command line works without one: hearth --help"
        )
    failed: list[PluginCheck] = []
    for platform in wanted:
        check = check_platform(platform, env)
        if check is None:
            log.info("no %s plugin file found; Qt chooses its platform", platform)
            return None
        if check.loads:
            for earlier in failed:
                log.info("not using %s: %s", earlier.platform, earlier.load_error)
            log.info("the window opens on %s (%s)", platform, check.plugin)
            return platform
        failed.append(check)
    first = failed[0]  # the preferred platform: installing what it lacks is enough
    details = "; ".join(
        f"{c.plugin}: {c.load_error} (missing: {', '.join(c.missing)})" for c in failed
    )
    raise DisplayUnavailable(describe(first, system_family(), os.geteuid() == 0), details)


def libraries_to_install(env: Mapping[str, str] = os.environ) -> list[str]:
    """What Qt's xcb plugin (and the wayland one, under Wayland) lacks, whether or not a
    display is there: scripts/run --install-system-deps may run before there is one."""
    missing: list[str] = []
    for platform in ("xcb", "wayland") if env.get("WAYLAND_DISPLAY") else ("xcb",):
        check = check_platform(platform, env)
        if check is not None:
            missing += check.missing
    return list(dict.fromkeys(missing))


def main(argv: Sequence[str] | None = None) -> int:
    """``--install-command``: print the command that installs what the window lacks on
    this system (nothing when nothing is missing); exit 1 when no command is known."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args != ["--install-command"]:
        print("usage: python -m hearth.display_check --install-command", file=sys.stderr)
        return 2
    missing = libraries_to_install()
    if not missing:
        return 0
    command = install_command(missing, system_family())
    if not command:
        print(
            f"hearth: missing {', '.join(missing)}; no install command known here", file=sys.stderr
        )
        return 1
    print(command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
