# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Command-line options generated from config dataclasses, so that each option is written once (as TRL's
``HfArgumentParser`` / ``TrlParser`` do).

A command module declares its options as a dataclass and exposes ``CONFIG``, ``HELP`` and ``run(config) -> int``::

    @dataclass
    class TinyModelConfig:
        output: str = field(metadata={"help": "Folder to write."})
        seed: int = field(default=0, metadata={"help": "Seed of the random initialisation."})

        def __post_init__(self):
            if self.seed < 0:
                raise EhrR1Error(f"--seed must be >= 0, got {self.seed}")

    CONFIG, HELP = TinyModelConfig, "Write a tiny model."

    def run(config: TinyModelConfig) -> int: ...

``ehr-r1`` then calls ``add_dataclass_arguments(subparser, CONFIG)`` and ``parse_config(CONFIG, namespace)``. A module
serving several commands sets ``CONFIG = {"build-bench": BenchConfig, "build-ins": InsConfig}`` (command name →
dataclass; subclasses that only change a default or hide a field are the easy way). Outside the CLI, ``parse_args(cls,
argv)`` does both steps.

Each field (``init=True``) becomes one option ``--field-name`` (underscores → dashes). Field ``metadata`` keys:

- ``help`` (required): the help text; ``(default: X)`` or ``(required)`` is appended.
- ``choices``: allowed values (or annotate ``typing.Literal[...]``).
- ``aliases``: extra spellings, e.g. ``["--out", "-o"]``.
- ``flag``: the main spelling instead of ``--field-name`` (e.g. when the field is called ``config``).
- ``sep``: for list/tuple fields, values may also be joined by this separator (``--modules hosp,icu``).
- ``metavar``: the argparse metavar.
- ``cli``: ``False`` hides the field (it keeps its default; ``--config`` cannot set it either).
- ``positional``: ``True`` also takes the (scalar) value as the command's positional argument (``push-model DIR``);
  ``--field-name`` keeps working.

Types come from the annotations: ``str``, ``int``, ``float``, ``bool``, ``list[X]`` / ``tuple[X, ...]``
(``nargs="+"``), ``X | None`` and ``Literal[...]``. A bool defaulting to ``False`` is a ``--flag``; one defaulting to
``True`` is a ``--no-flag`` that sets it to ``False``; ``bool | None`` defaulting to ``None`` gets both. A field without
a default is required (on the command line or in ``--config``). A field whose type is a dataclass is flattened: its
fields become top-level options (in a help group named after the field) and the nested object is built from them; leaf
names must be unique across the whole tree.

Every generated parser takes ``--config FILE.yaml``: a mapping of field names (``_`` or ``-``) to values; nested
dataclass fields may be given flat or as a nested mapping. Precedence: dataclass defaults < YAML < command line.
Unknown keys, values of the wrong type, and files that do not parse or are not mappings raise a one-line
:class:`~ehr_r1.errors.EhrR1Error` naming the file and key. Range checks belong in the dataclass's ``__post_init__``,
raising ``EhrR1Error`` with the option's spelling (``--limit must be >= 1, got 0``); the CLI prints it and exits 2.

Mistakes in a dataclass (no ``help``, an unknown metadata key, an unsupported type, two options with one name) raise
``TypeError`` when the parser is built, so a test that builds every command's parser catches them.
"""

import argparse
import dataclasses
import difflib
import functools
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from ehr_r1.errors import EhrR1Error


__all__ = ["CONFIG_FLAG", "Option", "add_dataclass_arguments", "dataclass_options", "parse_args", "parse_config"]

CONFIG_FLAG = "--config"
CONFIG_DEST = "_config_file"
METADATA_KEYS = frozenset({"help", "choices", "aliases", "flag", "sep", "metavar", "cli", "positional"})
_SCALARS = (str, int, float, bool)
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


@dataclasses.dataclass(frozen=True)
class Option:
    """One generated option: a leaf field of the config dataclass tree.

    Args:
        name (`str`): the field name, also the argparse ``dest`` and the YAML key.
        path (`tuple[str, ...]`): field names from the root dataclass down to this field.
        base (`type`): ``str``, ``int``, ``float`` or ``bool`` (of the elements for a list / tuple).
        container (`type | None`): ``list`` or ``tuple`` for a sequence field.
        optional (`bool`): the annotation allows ``None``.
        choices (`tuple | None`): allowed values.
        default (`Any`): the default value, ``dataclasses.MISSING`` when required.
        flags (`tuple[str, ...]`): option strings, the main one first.
        help (`str`): help text as shown (default appended).
        sep (`str | None`): separator of joined sequence values.
        metavar (`str | None`): the argparse metavar.
        positional (`bool`): also accepted as the positional argument.
    """

    name: str
    path: tuple[str, ...]
    base: type
    container: type | None
    optional: bool
    choices: tuple | None
    default: Any
    flags: tuple[str, ...]
    help: str
    sep: str | None = None
    metavar: str | None = None
    positional: bool = False

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    @property
    def flag(self) -> str:
        return self.flags[0]


# ----------------------------------------------------------------------------------------------- dataclass -> options


@functools.cache
def dataclass_options(cls: type) -> tuple[Option, ...]:
    """The options of ``cls``, nested dataclasses flattened, in field order. Raises `TypeError` on a bad definition."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    options = tuple(_walk(cls, (), dataclasses.MISSING))
    seen: dict[str, str] = {}
    for opt in options:
        for key in (opt.name, *opt.flags):
            if key in seen or key in (CONFIG_FLAG, "-h", "--help"):
                where = seen.get(key, f"the built-in {key}")
                raise TypeError(f"{cls.__name__}: {'.'.join(opt.path)} and {where} both define {key!r}")
            seen[key] = ".".join(opt.path)
    return options


def _nested_fields(cls: type) -> dict[str, type]:
    """Fields of ``cls`` whose type is a dataclass (flattened into their own options)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in _init_fields(cls) if dataclasses.is_dataclass(hints[f.name])}


def _init_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _field_default(f: dataclasses.Field, parent: Any) -> Any:
    """The default of field ``f``: taken from the parent's default object when there is one."""
    if parent is not dataclasses.MISSING:
        return getattr(parent, f.name)
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _walk(cls: type, path: tuple[str, ...], parent: Any):
    hints = typing.get_type_hints(cls, include_extras=False)
    for f in _init_fields(cls):
        where = f"{cls.__name__}.{f.name}"
        unknown = set(f.metadata) - METADATA_KEYS
        if unknown:
            raise TypeError(f"{where}: unknown metadata key(s) {sorted(unknown)} (known: {sorted(METADATA_KEYS)})")
        if f.metadata.get("cli", True) is False:
            continue
        hint, default = hints[f.name], _field_default(f, parent)
        if dataclasses.is_dataclass(hint):
            yield from _walk(hint, (*path, f.name), default)
            continue
        if not f.metadata.get("help"):
            raise TypeError(f"{where}: metadata['help'] is required for a command-line option")
        yield _option(where, f, hint, (*path, f.name), default)


def _option(where: str, f: dataclasses.Field, hint: Any, path: tuple[str, ...], default: Any) -> Option:
    base, container, optional, choices = _parse_type(where, hint)
    if "choices" in f.metadata:
        choices = tuple(f.metadata["choices"])
    sep = f.metadata.get("sep")
    if base is bool and not container and not optional and default not in (True, False):
        raise TypeError(f"{where}: a bool option needs a default of True or False (or annotate `bool | None`)")
    if sep and not container:
        raise TypeError(f"{where}: metadata['sep'] needs a list or tuple field")
    positional = bool(f.metadata.get("positional"))
    if positional and (container or base is bool):
        raise TypeError(f"{where}: metadata['positional'] needs a scalar, non-bool field")
    dashed = f.name.replace("_", "-")
    main = f.metadata.get("flag") or (
        f"--no-{dashed}" if base is bool and not optional and default is True else f"--{dashed}"
    )
    flags = (main, *f.metadata.get("aliases", ()))
    metavar = f.metadata.get("metavar")
    opt = Option(f.name, path, base, container, optional, choices, default, flags, "", sep, metavar, positional)
    return dataclasses.replace(opt, help=_help_text(f.metadata["help"], opt))


def _parse_type(where: str, hint: Any) -> tuple[type, type | None, bool, tuple | None]:
    """``(base, container, optional, choices)`` of a supported annotation."""
    optional = False
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1 or len(typing.get_args(hint)) != 2:
            raise TypeError(f"{where}: unsupported union {hint!r} (only `X | None`)")
        hint, optional = args[0], True
    container = None
    if typing.get_origin(hint) in (list, tuple):
        container, args = typing.get_origin(hint), typing.get_args(hint)
        if container is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            raise TypeError(f"{where}: unsupported tuple {hint!r} (only `tuple[X, ...]`)")
        if not args:
            raise TypeError(f"{where}: give the element type of {hint!r}")
        hint = args[0]
    choices = None
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        kinds = {type(c) for c in choices}
        if len(kinds) != 1 or kinds.pop() not in _SCALARS:
            raise TypeError(f"{where}: Literal values must share one type of {[t.__name__ for t in _SCALARS]}")
        hint = type(choices[0])
    if hint not in _SCALARS or (container and hint is bool):
        raise TypeError(f"{where}: unsupported type {hint!r}")
    return hint, container, optional, choices


def _format(value: Any, sep: str | None) -> str:
    if isinstance(value, list | tuple):
        return (sep or " ").join(str(v) for v in value)
    return str(value)


def _help_text(text: str, opt: Option) -> str:
    if opt.required:
        text += " (required)"
    elif opt.base is bool and not opt.container:
        if opt.optional and opt.default is not None:
            text += f" (default: {'on' if opt.default else 'off'})"
        elif opt.default is True:
            text += " (on by default; this flag turns it off)"
    elif opt.default is not None and opt.default != [] and opt.default != ():
        text += f" (default: {_format(opt.default, opt.sep)})"
    return text.replace("%", "%%")


# ----------------------------------------------------------------------------------------------------- argparse side


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one option per (flattened) field of ``cls`` and ``--config FILE.yaml`` to ``parser``.

    Options default to ``argparse.SUPPRESS``: the namespace holds only what was given, so that `parse_config` can put
    the command line over the YAML file over the dataclass defaults.
    """
    options = dataclass_options(cls)
    parser.add_argument(
        CONFIG_FLAG,
        dest=CONFIG_DEST,
        metavar="FILE.yaml",
        default=None,
        help="YAML mapping of option names (field names) to values; command-line options override it.",
    )
    groups = {(): parser}
    for opt in options:
        group_path = opt.path[:-1]
        if group_path not in groups:
            nested = _nested_class(cls, group_path)
            doc = (nested.__doc__ or "").strip().split("\n")[0]
            groups[group_path] = parser.add_argument_group(f"{'.'.join(group_path)} ({nested.__name__})", doc or None)
        _add(groups[group_path], opt)


def _nested_class(cls: type, path: tuple[str, ...]) -> type:
    for name in path:
        cls = _nested_fields(cls)[name]
    return cls


def _add(parser: argparse.ArgumentParser | argparse._ArgumentGroup, opt: Option) -> None:
    kwargs: dict[str, Any] = {"dest": opt.name, "default": argparse.SUPPRESS, "help": opt.help}
    if opt.metavar:
        kwargs["metavar"] = opt.metavar
    if opt.base is bool and opt.optional:
        kwargs["action"] = argparse.BooleanOptionalAction
        kwargs.pop("metavar", None)
    elif opt.base is bool:
        kwargs["action"] = "store_false" if opt.default is True else "store_true"
        kwargs.pop("metavar", None)
    else:
        kwargs["type"] = opt.base
        if opt.choices and not opt.sep:
            kwargs["choices"] = opt.choices
        if opt.container:
            kwargs["nargs"] = "+"
    parser.add_argument(*opt.flags, **kwargs)
    if opt.positional:
        kwargs.pop("dest")
        kwargs.update(nargs="?", metavar=opt.metavar or opt.name.upper(), help=f"same as {opt.flag}")
        parser.add_argument(opt.name, **kwargs)


def parse_config(cls: type, namespace: argparse.Namespace) -> Any:
    """Build a ``cls`` instance from a namespace parsed by a parser that `add_dataclass_arguments` set up.

    Values come from the command line, then the ``--config`` YAML file, then the dataclass defaults. Raises
    `EhrR1Error` for a bad YAML file, a missing required option, or whatever ``__post_init__`` rejects.
    """
    options = dataclass_options(cls)
    path = getattr(namespace, CONFIG_DEST, None)
    values = load_config_file(cls, path) if path else {}
    given = vars(namespace)
    for opt in options:
        if opt.name in given:
            values[opt.name] = _from_cli(opt, given[opt.name])
    missing = [opt.flag for opt in options if opt.required and opt.name not in values]
    if missing:
        raise EhrR1Error(
            f"missing required option{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(give {'them' if len(missing) > 1 else 'it'} on the command line or in {CONFIG_FLAG} FILE.yaml)"
        )
    return _build(cls, values, dataclasses.MISSING)


def parse_args(cls: type, argv: list[str] | None = None, prog: str | None = None) -> Any:
    """A parser for ``cls`` alone: parse ``argv`` (default ``sys.argv[1:]``) and return the ``cls`` instance."""
    parser = argparse.ArgumentParser(prog=prog, description=(cls.__doc__ or "").strip().split("\n")[0])
    add_dataclass_arguments(parser, cls)
    return parse_config(cls, parser.parse_args(argv))


def _from_cli(opt: Option, value: Any) -> Any:
    if opt.container is None:
        return value
    if opt.sep:
        value = [part.strip() for v in value for part in v.split(opt.sep) if part.strip()]
        if opt.choices:
            bad = [v for v in value if v not in opt.choices]
            if bad:
                choices = ", ".join(map(str, opt.choices))
                raise EhrR1Error(f"{opt.flag}: invalid choice {bad[0]!r} (choose from {choices})")
    return opt.container(value)


def _build(cls: type, values: dict[str, Any], parent: Any) -> Any:
    """``cls(**kwargs)`` from the flat ``values``; nested dataclasses are built from their own leaves."""
    hints, kwargs = typing.get_type_hints(cls), {}
    for f in _init_fields(cls):
        default = parent if parent is dataclasses.MISSING else getattr(parent, f.name)
        if dataclasses.is_dataclass(hints[f.name]) and f.metadata.get("cli", True) is not False:
            sub_parent = default if default is not dataclasses.MISSING else _field_default(f, dataclasses.MISSING)
            kwargs[f.name] = _build(hints[f.name], values, sub_parent)
        elif f.name in values and f.metadata.get("cli", True) is not False:
            kwargs[f.name] = values[f.name]
        elif default is not dataclasses.MISSING:
            kwargs[f.name] = default
    return cls(**kwargs)


# --------------------------------------------------------------------------------------------------------- YAML side


def load_config_file(cls: type, path: str | Path) -> dict[str, Any]:
    """The ``--config`` YAML file as flat ``{field name: value}``, checked against the options of ``cls``."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise EhrR1Error(f"{path}: cannot read the config file ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise EhrR1Error(f"{path}: not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EhrR1Error(f"{path}: a config file must be a mapping of option names to values, got {_kind(data)}")
    options = {opt.name: opt for opt in dataclass_options(cls)}
    values: dict[str, Any] = {}
    _flatten(path, cls, data, (), options, values)
    return values


def _flatten(path, cls: type, data: dict, prefix: tuple[str, ...], options: dict, values: dict) -> None:
    nested = _nested_fields(cls)
    known = [n for n, o in options.items() if o.path[: len(prefix)] == prefix] + list(nested)
    unknown = []
    for raw_key, value in data.items():
        key = str(raw_key).replace("-", "_")
        if key in nested and isinstance(value, dict):
            _flatten(path, nested[key], value, (*prefix, key), options, values)
        elif key in nested:
            raise EhrR1Error(f"{path}: {raw_key} must be a mapping of its options, got {_kind(value)}")
        elif key in options and options[key].path[: len(prefix)] == prefix:
            if key in values:
                raise EhrR1Error(f"{path}: {key} is given twice")
            values[key] = _coerce(path, options[key], value)
        else:
            unknown.append(str(raw_key))
    if unknown:
        hints = [m for k in unknown for m in difflib.get_close_matches(k.replace("-", "_"), known, n=1)]
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        raise EhrR1Error(f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}{hint}")


def _kind(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"[:80]


def _coerce(path, opt: Option, value: Any) -> Any:
    """``value`` checked (and int → float, list → tuple) for ``opt``; raises `EhrR1Error` naming file and key."""
    if value is None:
        if opt.optional:
            return None
        raise EhrR1Error(f"{path}: {opt.name} must not be null")
    if opt.container is None:
        return _scalar(path, opt, value)
    if opt.sep and isinstance(value, str):
        value = [v.strip() for v in value.split(opt.sep) if v.strip()]
    if not isinstance(value, list):
        raise EhrR1Error(f"{path}: {opt.name} must be a list, got {_kind(value)}")
    return opt.container(_scalar(path, opt, v) for v in value)


def _scalar(path, opt: Option, value: Any) -> Any:
    ok = isinstance(value, opt.base) and (opt.base is bool or not isinstance(value, bool))
    if opt.base is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise EhrR1Error(f"{path}: {opt.name} must be {_TYPE_NAMES[opt.base]}, got {_kind(value)}")
    if opt.choices and value not in opt.choices:
        raise EhrR1Error(f"{path}: {opt.name} must be one of {', '.join(map(str, opt.choices))}, got {value!r}")
    return value
