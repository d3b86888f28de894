"""Reading case files: YAML loaded safely (``yaml.compose``, no object construction),
validated against the case kind's schema, errors naming the file, the line and the field
(unknown fields listed with the valid ones); relative paths resolve against the case file's
folder."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from gridv2g.case.specs import Case, CaseError, StationCase, StochasticCase, V2ACase

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


def load_case(path: str | Path) -> Case | StationCase | StochasticCase:
    """Read and validate a case YAML file; errors name the file, the line and the field."""
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"case file not found: {path}")
    text = path.read_text()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CaseError(f"{path}: a case file is a YAML mapping of fields")
    raw.setdefault("base_dir", str(path.resolve().parent))
    return case_from_dict(raw, path.name, node)


def expand_shorthands(raw: dict) -> dict:
    """The case mapping with its shorthands written out (``feeder: ieee33`` is
    ``feeder: {shipped: ieee33}``), so that a field path means one thing."""
    raw = dict(raw)
    if isinstance(raw.get("feeder"), str):
        raw["feeder"] = {"shipped": raw["feeder"]}
    return raw


def case_from_dict(raw: dict, label: str, node=None):
    """Validate a case given as a mapping (a parsed YAML file, possibly edited, e.g. by a
    batch sweep). ``label`` names it in errors; ``node`` (the composed YAML) adds line
    numbers. Relative paths resolve against ``raw["base_dir"]``."""
    raw = expand_shorthands(raw)
    model = CASE_KINDS.get(raw.get("problem"), Case)
    try:
        return model.model_validate(raw)
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


def case_schema() -> dict:
    """JSON Schema of case files: a grid case (``problem: co_optimize``), a station case
    (``problem: schedule_station``), a stochastic station case (``stochastic_station``) or a
    vehicle-to-anything site (``v2a``)."""
    from pydantic import TypeAdapter

    return TypeAdapter(Case | StationCase | StochasticCase | V2ACase).json_schema()
