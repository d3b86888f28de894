"""Compiling OpenDSS files that others wrote, without letting them run programs or touch files.

An OpenDSS script can do more than describe a feeder: ``Set Editor=<program>`` followed by
``Show`` runs that program, ``DOScmd`` runs a shell, ``Export``, ``Save``, ``Set DataPath`` and
``CD`` write or move files anywhere, ``Redirect`` follows any path, and a ``UserModel`` or
``DynaDLL`` property loads a native library. gridv2g needs the feeder only, so it never hands a
user's file to OpenDSS's own ``compile``. It reads the files itself and gives OpenDSS one
command at a time, after judging each (:func:`judge`):

- physics commands (``New``, ``Edit``, ``~``, ``Set`` with a physics option, ``Solve``, ...)
  run;
- report and plot commands (``Show``, ``Plot``, ``Export``, ``Save``, ...) are skipped, named
  in one warning;
- every other command (the editor, shells, changing folders, output options, actors) is an
  :class:`~gridv2g.errors.OpenDSSError` naming the file and line;
- ``Redirect``/``Compile`` targets and files named in a command (``file=``, ``csvfile=``,
  ``Buscoords``) must resolve inside the master file's folder (symbolic links followed); a
  redirect loop, or nesting deeper than :data:`MAX_DEPTH`, is an error.

A command's verb is found with OpenDSS's own parser (``opendssdirect.Parser``) and OpenDSS's
abbreviation rule (the exact name, else the first command in OpenDSS's list with that prefix),
so each command is judged as OpenDSS reads it. As a second line of defence, while a feeder is
built OpenDSS's editor, forms and ``DOScmd`` are switched off and its data path points at a
private scratch folder between commands (the user's settings are restored afterwards).
"""

from __future__ import annotations

import re
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gridv2g.errors import GridV2GWarning, OpenDSSError

#: deepest Redirect/Compile nesting accepted
MAX_DEPTH = 32
#: most command lines read from one feeder (all files together); a bigger model is refused
MAX_LINES = 5_000_000

#: commands that build or solve the circuit in memory
_RUN = {
    "new", "edit", "more", "m", "~", "select", "solve", "enable", "disable", "reset", "set",
    "open", "close", "//", "?", "next", "clear", "calcvoltagebases", "setkvbase", "buildy",
    "get", "init", "allocateloads", "makebuslist", "interpolate", "setloadandgenkv",
    "setbusxy", "batchedit", "variable", "var", "reprocessbuses", "uuids", "updatestorage",
    "finishtimestep", "_initsnap", "_solvenocontrol", "_samplecontrols", "_docontrolactions",
    "_solvedirect", "_solvepflow", "redirect", "compile", "buscoords", "latlongcoords",
}  # fmt: skip
#: commands that only report, plot or export: skipped with a warning
_SKIP = {
    "save", "show", "plot", "dump", "help", "about", "export", "voltages", "currents",
    "powers", "seqvoltages", "seqcurrents", "seqpowers", "losses", "phaselosses",
    "cktlosses", "totals", "capacity", "classes", "userclasses", "zsc", "zsc10", "zscrefresh",
    "ysc", "puvoltages", "varvalues", "varnames", "summary", "di_plot", "comparecases",
    "yearlycurves", "visualize", "closedi", "vdiff", "nodediff", "exportoverloads",
    "exportvviolations", "zsc012", "allpceatbus", "allpdeatbus", "totalpowers", "nodelist",
    "comhelp", "pstcalc", "addbusmarker", "clearbusmarkers", "estimate", "relcalc", "sample",
    "_showcontrolqueue", "calcincmatrix", "calcincmatrix_o", "calclaplacian",
    "refine_buslevels",
}  # fmt: skip
#: ``Set`` options refused: programs, folders, files written, logs, actors and threads
_SET_DENIED = {
    "editor", "datapath", "log", "recorder", "demandinterval", "diverbose", "casename",
    "overloadreport", "voltexceptionreport", "showexport", "querylog", "eventlogdefault",
    "registryupdate", "dssvisualizationtool", "showreports", "concatenatereports",
    "numcpus", "numcores", "numactors", "activeactor", "cpu", "actorprogress", "parallel",
    "numanodes", "processtime", "totaltime", "steptime",
}  # fmt: skip
#: property names that load native code
_NATIVE_PROPS = re.compile(r"(?i)^(usermodel|dynadll|dll|usercontrol|capusercontrol)$")
_NATIVE_FILE = re.compile(r"(?i)\.(dll|so|dylib)\b")
#: properties that size OpenDSS's arrays, and their largest accepted value: OpenDSS allocates
#: what they say, and ``phases=10000000`` on a transformer segfaults the interpreter
_SIZES = re.compile(r"(?i)^(n?phases?|windings?|nconds?|conductors?|nwires?|wires?|npts)$")
_SIZE_MAX = {"npts": 10**8}
_SIZE_MAX_DEFAULT = 100
#: a file named inside a value: file=..., csvfile=..., sngfile=..., dblfile=..., ...file=...
_FILE_REF = re.compile(r"""(?i)\b\w*file\s*=\s*("[^"]*"|'[^']*'|[^\s)\]},]+)""")


def _dss():
    import opendssdirect

    return opendssdirect


_SCRATCH: Path | None = None


def scratch_dir() -> Path:
    """OpenDSS's data path between a feeder's commands: a private temporary folder (mode
    0700), so that any output OpenDSS writes on its own lands there and nowhere else."""
    global _SCRATCH
    if _SCRATCH is None or not _SCRATCH.is_dir():
        _SCRATCH = Path(tempfile.mkdtemp(prefix="gridv2g-opendss-"))
    return _SCRATCH


_SWITCHES = ("AllowEditor", "AllowForms", "AllowDOScmd", "AllowChangeDir")


@contextmanager
def hardened():
    """OpenDSS with what lets it start programs switched off, the process's folder fixed and
    its data path in the scratch folder; the user's settings come back afterwards (the
    engine is shared with the rest of the process)."""
    basic = _dss().Basic
    before = {name: getattr(basic, name)() for name in _SWITCHES}
    data_path = basic.DataPath()
    for name in _SWITCHES:
        getattr(basic, name)(False)
    basic.DataPath(str(scratch_dir()))
    try:
        yield
    finally:
        # the data path first, while OpenDSS may not change folders: with AllowChangeDir on,
        # setting it moves the whole process into that folder
        basic.DataPath(data_path)
        for name, value in before.items():
            getattr(basic, name)(value)


@dataclass
class _Names:
    """OpenDSS's command and ``Set`` option names in OpenDSS's own order."""

    commands: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


_NAMES = _Names()


def _names() -> _Names:
    if not _NAMES.commands:
        ex = _dss().Executive
        _NAMES.commands = [ex.Command(i).lower() for i in range(1, ex.NumCommands() + 1)]
        _NAMES.options = [ex.Option(i).lower() for i in range(1, ex.NumOptions() + 1)]
    return _NAMES


def _resolve_name(token: str, names: list[str]) -> str | None:
    """OpenDSS's rule: the exact name, else the first name in the list with that prefix."""
    token = token.lower()
    if not token:
        return None
    if token in names:
        return token
    return next((n for n in names if n.startswith(token)), None)


def _params(line: str, limit: int = 10_000) -> list[tuple[str, str]]:
    """(name, value) of every parameter of ``line``, read with OpenDSS's parser."""
    parser = _dss().Parser
    parser.CmdString(line)
    out = []
    empty = 0
    for _ in range(min(limit, len(line) + 2)):
        name, value = parser.NextParam(), parser.StrValue()
        if not name and not value:
            empty += 1
            if empty > 2:  # OpenDSS reads an empty pair between doubled delimiters
                break
            continue
        empty = 0
        out.append((name, value))
    return out


@dataclass
class Command:
    """One command line of a feeder, where it came from, and what is done with it."""

    text: str
    file: Path | None
    line: int
    folder: Path  # folder against which its relative file names resolve

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else f"commands[{self.line}]"


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _target(name: str, cmd: Command, root: Path, what: str) -> Path:
    """A file named by ``cmd``, resolved against its folder, that must lie inside ``root``."""
    name = name.strip().strip("\"'").replace("\\", "/")
    if not name:
        raise OpenDSSError(f"{cmd.where}: {what} names no file")
    path = Path(name)
    path = path if path.is_absolute() else cmd.folder / path
    if not _inside(path, root):
        raise OpenDSSError(
            f"{cmd.where}: {what} '{name}' lies outside the feeder's folder {root}; "
            "feeder files may only read files in the master file's folder and below"
        )
    return path.resolve()


def judge(cmd: Command, root: Path) -> str:
    """What to do with one command: ``"run"``, ``"skip"``, ``"redirect"`` or ``"blank"``;
    raises :class:`OpenDSSError` (file and line) for a command gridv2g does not run."""
    names = _names()
    params = _params(cmd.text)
    if not params:
        return "blank"
    first_name, first_value = params[0]
    if _NATIVE_FILE.search(cmd.text) or any(_NATIVE_PROPS.match(n) for n, _ in params):
        raise OpenDSSError(f"{cmd.where}: loads a native library; gridv2g does not run these")
    for ref in _FILE_REF.findall(cmd.text):
        _target(ref, cmd, root, "file")
    for name, value in params:
        if name and _SIZES.match(name):
            limit = _SIZE_MAX.get(name.lower(), _SIZE_MAX_DEFAULT)
            try:
                ok = 0 <= float(value) <= limit
            except ValueError:
                ok = True  # not a number: OpenDSS reports it itself
            if not ok:
                raise OpenDSSError(
                    f"{cmd.where}: {name}={value} is outside 0-{limit}; OpenDSS would allocate "
                    "that many and crash"
                )
    if first_name:  # "Class.name.property=value": an edit of one property
        if "." not in first_name:
            raise OpenDSSError(f"{cmd.where}: '{cmd.text.strip()}' is not an OpenDSS command")
        return "run"
    verb = _resolve_name(first_value, names.commands)
    if verb is None:
        raise OpenDSSError(f"{cmd.where}: unknown OpenDSS command '{first_value}'")
    if verb in ("redirect", "compile"):
        return "redirect"
    if verb in ("buscoords", "latlongcoords"):
        if len(params) < 2:
            raise OpenDSSError(f"{cmd.where}: {verb} names no file")
        _target(params[1][1], cmd, root, verb)
        return "run"
    if verb == "set":
        for name, _value in params[1:]:
            option = _resolve_name(name, names.options)
            if option is None:
                raise OpenDSSError(
                    f"{cmd.where}: 'set {name or _value}' is not an OpenDSS option gridv2g runs"
                )
            if option in _SET_DENIED:
                raise OpenDSSError(
                    f"{cmd.where}: 'set {option}' is refused: gridv2g runs feeder files without "
                    "OpenDSS's editor, folders, reports or logs"
                )
        return "run"
    if verb in _RUN:
        return "run"
    if verb in _SKIP:
        return "skip"
    raise OpenDSSError(
        f"{cmd.where}: '{verb}' is refused: gridv2g runs only the commands that build and "
        "solve a circuit (no editor, shell, folder change, file output or actors)"
    )


def _lines(path: Path):
    """(line number, text) of a DSS file, block comments (``/* ... */``) left out as OpenDSS
    does: a block opens on a line starting with ``/*`` and closes on a line containing ``*/``."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise OpenDSSError(f"cannot read {path}: {exc.strerror}") from None
    in_block = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not in_block and line.lstrip().startswith("/*"):
            in_block = True
        if in_block:
            if "*/" in line:
                in_block = False
            continue
        yield number, line


def commands_of(master: Path, root: Path, stack: tuple[Path, ...] = (), budget=None):
    """Every command of ``master`` with redirects followed (inside ``root``), judged; yields
    ``(Command, action)`` for the commands to run or skip."""
    budget = budget if budget is not None else [MAX_LINES]
    if master in stack:
        chain = " -> ".join(p.name for p in (*stack, master))
        raise OpenDSSError(f"redirect loop: {chain}")
    if len(stack) >= MAX_DEPTH:
        raise OpenDSSError(f"{master}: redirects nested deeper than {MAX_DEPTH}")
    for number, text in _lines(master):
        budget[0] -= 1
        if budget[0] < 0:
            raise OpenDSSError(f"{master}: the feeder has more than {MAX_LINES} command lines")
        cmd = Command(text, master, number, master.parent)
        action = judge(cmd, root)
        if action == "redirect":
            params = _params(text)
            if len(params) < 2:
                raise OpenDSSError(f"{cmd.where}: redirect names no file")
            target = _target(params[1][1], cmd, root, "redirect")
            if not target.is_file() and not target.suffix:
                target = target.with_suffix(".dss")  # OpenDSS tries the .dss extension
            if not target.is_file():
                raise OpenDSSError(f"{cmd.where}: redirect target not found: {params[1][1]}")
            yield from commands_of(target, root, (*stack, master), budget)
        elif action != "blank":
            yield cmd, action


def _continues(cmd: Command) -> bool:
    """Whether ``cmd`` is a ``~`` / ``More`` line, which edits the active element."""
    params = _params(cmd.text, limit=2)
    if not params or params[0][0]:
        return False
    return _resolve_name(params[0][1], _names().commands) in ("more", "m", "~")


def _check_edit_target(cmd: Command) -> None:
    """After an ``Edit Class.name``: OpenDSS accepts a missing element silently and leaves
    the previous one active, so the edit and the ``~`` lines after it would change another
    element (or crash, :func:`_active_object_exists`). Refuse it, naming file and line."""
    params = _params(cmd.text, limit=3)
    if len(params) < 2 or params[0][0] or _resolve_name(params[0][1], _names().commands) != "edit":
        return
    spec = params[1][1].strip().lower()
    cls, _, name = spec.partition(".")
    active_cls, _, active = _dss().Element.Name().lower().partition(".")
    if not (name == active and active_cls.startswith(cls)):
        raise OpenDSSError(
            f"{cmd.where}: '{cmd.text.strip()[:60]}' edits {params[1][1]}, which the feeder "
            "does not have (OpenDSS would edit the previous element instead)"
        )


def _active_object_exists() -> bool:
    """Whether the active class has an active element for a ``~`` line to edit.

    An ``Edit``, ``Select``, ``Open`` or ``Class.name.prop=`` of an element that does not exist
    leaves OpenDSS's active class without one, and the next ``~`` line dereferences nothing:
    a segmentation fault of the whole interpreter (DSS C-API 0.14). The active DSS object then
    still belongs to another class, which is how it is told apart."""
    dss = _dss()
    try:
        active = dss.Element.Name().split(".", 1)[0].lower()
        cls = dss.ActiveClass.ActiveClassName().lower()
    except Exception:  # no circuit yet: OpenDSS reports that itself
        return True
    return active == cls


def run_guarded(cmd: Command, run_command) -> None:
    """Run one judged command with OpenDSS reading relative file names from its folder."""
    dss = _dss()
    dss.Basic.DataPath(str(cmd.folder))
    try:
        run_command(cmd.text, source=cmd.where)
    finally:
        dss.Basic.DataPath(str(scratch_dir()))


def compile_guarded(master: Path, commands, run_command) -> None:
    """Clear OpenDSS and build the circuit of ``master`` (and the extra ``commands``, judged
    the same way, relative to its folder) command by command; see the module docstring."""
    root = master.parent.resolve()
    master = master.resolve()
    todo = list(commands_of(master, root))
    for i, text in enumerate(commands):
        cmd = Command(str(text), None, i, root)
        action = judge(cmd, root)
        if action == "redirect":
            raise OpenDSSError(f"{cmd.where}: a redirect in extra commands is not accepted")
        if action != "blank":
            todo.append((cmd, action))
    skipped = [
        f"{c.file.name if c.file else 'commands'}:{c.line} '{c.text.strip()}'"
        for c, a in todo
        if a == "skip"
    ]
    with hardened():
        run_command("clear")
        for cmd, action in todo:
            if action == "run":
                if _continues(cmd) and not _active_object_exists():
                    raise OpenDSSError(
                        f"{cmd.where}: '{cmd.text.strip()[:60]}' continues an element that does "
                        "not exist (an Edit, Select, Open or property line before it named one "
                        "the feeder lacks)"
                    )
                run_guarded(cmd, run_command)
                _check_edit_target(cmd)
    if skipped:
        shown = "; ".join(skipped[:5]) + (
            f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        )
        warnings.warn(
            f"{master.name}: {len(skipped)} report/plot commands skipped (gridv2g writes no "
            f"OpenDSS reports): {shown}",
            GridV2GWarning,
            stacklevel=3,
        )
