"""Reading case files: YAML loaded safely (``yaml.compose``, no object construction),
validated against the case kind's schema, errors naming the file, the line and the field
(unknown fields listed with the valid ones); relative paths resolve against the case file's
folder."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from gridv2g.case.specs import Case, CaseError, StationCase, StochasticCase, V2ACase
from gridv2g.case.yamlio import load_yaml_file

#: the case kinds by their ``problem`` field; a case without one is a grid case
CASE_KINDS: dict[str, type[BaseModel]] = {
    "co_optimize": Case,
    "schedule_station": StationCase,
    "stochastic_station": StochasticCase,
    "v2a": V2ACase,
}


def _line_of(node, loc) -> int | None:
    """Line (1-based) of the YAML node at ``loc`` (pydantic error location), if found."""
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == key), None)
            if found is None:
                key_node = next((k for k, _ in node.value if k.value == key), None)
                return (key_node or node).start_mark.line + 1
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                break
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode) and loc:
        # an unknown key: point at the key itself
        for k, _ in node.value:
            if k.value == loc[-1]:
                return k.start_mark.line + 1
    return line


def _valid_fields(model: type[BaseModel], loc) -> list[str]:
    """Field names of the sub-model that ``loc`` points into."""
    current = model
    for key in loc[:-1]:
        if isinstance(key, int):
            continue
        field = current.model_fields.get(key)
        if field is None:
            break
        ann = field.annotation
        for cand in getattr(ann, "__args__", (ann,)):
            inner = getattr(cand, "__args__", (cand,))
            for c in inner:
                if isinstance(c, type) and issubclass(c, BaseModel):
                    current = c
                    break
    return list(current.model_fields)


def load_case(
    path: str | Path, allow_outside: bool = False, lift_limits: bool = False
) -> Case | StationCase | StochasticCase:
    """Read and validate a case YAML file; errors name the file, the line and the field.

    Files the case names (CSV profiles and sessions, feeder files) must lie in the case
    file's folder or below unless ``allow_outside`` is True (see :meth:`Case.path`); sizes
    beyond :data:`~gridv2g.case.specs.SIZE_LIMITS` are refused unless ``lift_limits``."""
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"case file not found: {path}")
    raw, node = load_yaml_file(path)
    if not isinstance(raw, dict):
        raise CaseError(f"{path}: a case file is a YAML mapping of fields")
    raw.setdefault("base_dir", str(path.resolve().parent))
    root = None if allow_outside else str(path.resolve().parent)
    return case_from_dict(raw, path.name, node, root=root, lift_limits=lift_limits)


def expand_shorthands(raw: dict) -> dict:
    """The case mapping with its shorthands written out (``feeder: ieee33`` is
    ``feeder: {shipped: ieee33}``), so that a field path means one thing."""
    raw = dict(raw)
    if isinstance(raw.get("feeder"), str):
        raw["feeder"] = {"shipped": raw["feeder"]}
    return raw


def case_from_dict(
    raw: dict,
    label: str,
    node=None,
    root: str | Path | None = None,
    lift_limits: bool = False,
):
    """Validate a case given as a mapping (a parsed YAML file, possibly edited, e.g. by a
    batch sweep). ``label`` names it in errors; ``node`` (the composed YAML) adds line
    numbers. Relative paths resolve against ``raw["base_dir"]``; with ``root``, every path
    the case names must lie inside that folder (see :meth:`Case.path`)."""
    raw = expand_shorthands(raw)
    problem = raw.get("problem")
    if problem is not None and (not isinstance(problem, str) or problem not in CASE_KINDS):
        raise CaseError(f"{label}: problem: {problem!r} is not one of {list(CASE_KINDS)}")
    model = CASE_KINDS.get(problem, Case)
    try:
        case = model.model_validate(raw, context={"lift_limits": lift_limits})
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            loc = err["loc"]
            where = ".".join(str(k) for k in loc)
            line = _line_of(node, loc) if node is not None else None
            at = f"{label}:{line}" if line else label
            if err["type"] == "extra_forbidden":
                valid = _valid_fields(model, loc)
                messages.append(f"{at}: unknown field '{where}'; valid fields: {valid}")
            else:
                messages.append(f"{at}: {where}: {err['msg']}")
        raise CaseError("invalid case\n  " + "\n  ".join(messages)) from None
    case._root = None if root is None else str(root)
    return case


def case_schema() -> dict:
    """JSON Schema of case files: a grid case (``problem: co_optimize``), a station case
    (``problem: schedule_station``), a stochastic station case (``stochastic_station``) or a
    vehicle-to-anything site (``v2a``)."""
    from pydantic import TypeAdapter

    return TypeAdapter(Case | StationCase | StochasticCase | V2ACase).json_schema()


def output_folder(out: str | Path, name: str) -> Path:
    """``out / <name>`` with the name made a safe folder name (letters, digits, ``._-``; no
    separator, no leading dot, at most 100 characters), so a case or sweep name from someone
    else's file can never place output outside ``out``."""
    parts = [p for p in str(name).replace("\\", "/").split("/") if p not in ("", ".", "..")]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in "_".join(parts)).lstrip(".")
    safe = safe[:100] or "case"
    folder = Path(out) / safe
    if not folder.resolve().is_relative_to(Path(out).resolve()):  # belt and braces
        raise CaseError(f"output name {name!r} leaves the output folder {out}")
    return folder
