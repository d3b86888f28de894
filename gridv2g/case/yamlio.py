"""Reading YAML input files (cases, sweeps) that others wrote.

Loaded with PyYAML's safe loader (plain data only: no tag constructs an object), and refused
before any data is built when

- the bytes are not UTF-8 (the error names the line);
- a mapping repeats a key (YAML says keys are unique; PyYAML would keep the last silently);
- aliases expand the document beyond :data:`MAX_NODES` nodes ("billion laughs": a few hundred
  bytes of ``&a [*b, *b, ...]`` stand for billions of values, which a sweep would expand).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from gridv2g.case.specs import CaseError

#: most nodes a document may stand for once its aliases are expanded
MAX_NODES = 200_000


class YAMLInputError(CaseError):
    """A YAML input file cannot be read: bytes, syntax, duplicate keys or alias expansion;
    the message names the file and the line."""


def _expanded_size(node, memo: dict) -> int:
    """Nodes ``node`` stands for with every alias written out (memoized on node identity, so
    this costs one pass over the composed graph however large the expansion)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a cycle (not producible by the safe composer) counts once
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(v, memo) for v in node.value)
    else:
        size = 1
    memo[key] = size
    return size


def _duplicate_keys(node, label: str, seen: set) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict = {}
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                ident = (k.tag, k.value)
                if ident in keys:
                    raise YAMLInputError(
                        f"{label}:{k.start_mark.line + 1}: key '{k.value}' repeated "
                        f"(first at line {keys[ident]}); YAML keys must be unique"
                    )
                keys[ident] = k.start_mark.line + 1
            _duplicate_keys(v, label, seen)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            _duplicate_keys(v, label, seen)


def read_text(path: Path) -> str:
    """The file's text; non-UTF-8 bytes are a :class:`YAMLInputError` naming the line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YAMLInputError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save the file as UTF-8"
        ) from None


class _Loader(yaml.SafeLoader):
    """The safe loader, except that a timestamp stays the text it was written as: case fields
    take times as ISO text, and an impossible date (``day: 2024-02-30``) is then refused by
    the field's own check, naming the file, line and field, instead of by the YAML
    constructor with neither."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def load_yaml(text: str, label: str):
    """``(data, node)`` of one YAML document: the plain data and the composed node (for line
    numbers). ``label`` names the file in errors."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise YAMLInputError(f"{label}: not valid YAML: {exc}") from None
        if node is None:
            return None, None
        size = _expanded_size(node, {})
        if size > MAX_NODES:
            raise YAMLInputError(
                f"{label}: aliases expand the document to {size:,} values (at most "
                f"{MAX_NODES:,}); write the values out or use fewer aliases"
            )
        _duplicate_keys(node, label, set())
        try:
            data = loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise YAMLInputError(f"{label}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, node


def load_yaml_file(path: str | Path):
    """``(data, node)`` of a YAML file (see :func:`load_yaml`)."""
    path = Path(path)
    return load_yaml(read_text(path), str(path))
