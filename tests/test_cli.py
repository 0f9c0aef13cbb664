# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The ``ehr-r1`` command line generated from config dataclasses (``ehr_r1.cli_args``): one option per field, help and
defaults from field metadata, ``--config FILE.yaml`` for every command, one-line errors with exit status 2."""

import argparse
import dataclasses
import importlib
import subprocess
import sys
import types
from dataclasses import dataclass, field
from typing import Literal

import pytest

from ehr_r1.cli import COMMANDS, build_parser, config_class, main
from ehr_r1.cli_args import CONFIG_FLAG, add_dataclass_arguments, dataclass_options, parse_args, parse_config
from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.config import EvalConfig
from ehr_r1.synth.config import MODULES, SynthConfig


CONVERTED = {"eval", "synth-mimic", "tiny-model"}  # at least these; the build commands join when converted


def _dataclass_commands() -> list[str]:
    return [n for n, (module, _) in COMMANDS.items() if config_class(importlib.import_module(module), n)]


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser([name])
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _leaf_fields(cls: type, prefix: str = "") -> dict[str, dataclasses.Field]:
    """Leaf fields of a dataclass tree, by name, written independently of the generator."""
    leaves = {}
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(f.type):
            leaves.update(_leaf_fields(f.type))
        elif f.init and f.metadata.get("cli", True):
            assert f.name not in leaves, f"{cls.__name__}.{f.name} defined twice"
            leaves[f.name] = f
    return leaves


def _parse(*argv: str):
    """``ehr-r1 <argv>`` up to the config object the command's ``run`` would receive."""
    args = build_parser(list(argv)).parse_args(list(argv))
    return parse_config(args._config_class, args)


def _error_line(capsys, *argv: str) -> str:
    """Run ``ehr-r1 <argv>`` in-process, check it fails with status 2 and one stderr line, and return that line."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------------------------ one option per dataclass field


def test_converted_commands():
    assert CONVERTED <= set(_dataclass_commands())


@pytest.mark.parametrize("name", _dataclass_commands())
def test_options_are_the_dataclass_fields_one_to_one(name):
    mod = importlib.import_module(COMMANDS[name][0])
    cls, parser = config_class(mod, name), _subparser(name)
    assert (mod.HELP[name] if isinstance(mod.HELP, dict) else mod.HELP) == COMMANDS[name][1]
    actions = [a for a in parser._actions if a.dest not in ("help", "_config_file", "_run", "_config_class")]
    leaves = _leaf_fields(cls)
    positional = [a for a in actions if not a.option_strings]  # a field's second spelling (metadata positional)
    assert all(leaves[a.dest].metadata.get("positional") for a in positional)
    actions = [a for a in actions if a.option_strings]
    dests = [a.dest for a in actions]
    assert sorted(dests) == sorted(leaves) and len(dests) == len(set(dests))
    for action in actions:
        f = leaves[action.dest]
        assert action.help.replace("%%", "%").startswith(f.metadata["help"]), action.dest
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            assert "(required)" in action.help
        elif isinstance(default, int | float | str) and not isinstance(default, bool):
            assert f"(default: {default})" in action.help, action.dest
    assert [a for a in parser._actions if CONFIG_FLAG in a.option_strings]


def test_eval_flags_keep_their_spellings_and_defaults_come_from_evalconfig(tmp_path):
    config = _parse("eval", "--model", "m", "--bench", "b", "--output", "o")
    assert config == EvalConfig(bench="b", output="o", model="m")
    config = _parse(
        "eval", "--bench", "b", "--output", "o", "--baseline", "logreg", "--train", "t", "--no-think",
        "--no-template-kwargs", "--backend", "openai", "--base-url", "http://x/v1", "--dtype", "bfloat16",
        "--tasks", "services", "mortality", "--limit", "3", "--max-new-tokens", "7", "--batch-size", "2",
        "--max-model-len", "99", "--protocol", "plain", "--device", "cpu", "--tokenizer", "tok", "--top-logprobs",
        "5", "--request-timeout", "1.5", "--cv-folds", "3", "--n-resamples", "10", "--seed", "4", "--overwrite",
        "--api-key-env", "KEY", "--confidence", "0.9",
    )  # fmt: skip
    assert config == EvalConfig(
        bench="b", output="o", model=None, backend="openai", base_url="http://x/v1", api_key_env="KEY",
        tasks=["services", "mortality"], limit=3, max_new_tokens=7, batch_size=2, max_model_len=99, think=False,
        protocol="plain", dtype="bfloat16", device="cpu", tokenizer="tok", top_logprobs=5, template_kwargs=False,
        request_timeout=1.5, baseline="logreg", train="t", cv_folds=3, n_resamples=10, seed=4, confidence=0.9,
        overwrite=True,
    )  # fmt: skip
    for flag, value in (("--backend", "vllm"), ("--dtype", "int8"), ("--baseline", "random")):
        with pytest.raises(SystemExit) as exc:  # argparse's own usage error
            _parse("eval", "--bench", "b", "--output", "o", "--model", "m", flag, value)
        assert exc.value.code == 2


def test_synth_mimic_flags_and_nested_synth_config():
    config = _parse("synth-mimic", "--out", "d", "--patients", "7", "--modules", "hosp,ed", "--density", "2")
    assert config.output == "d" and config.synth == SynthConfig(patients=7, density=2.0, modules=("hosp", "ed"))
    assert (config.compression, config.compresslevel, config.workers, config.overwrite) == ("gzip", 1, None, False)
    config = _parse("synth-mimic", "-o", "d", "--modules", "note", "hosp", "--compression", "none", "--overwrite")
    assert config.synth.modules == ("hosp", "note") and config.compression == "none" and config.overwrite
    assert _parse("synth-mimic", "--output", "d").synth == SynthConfig()
    assert _parse("synth-mimic", "--output", "d").synth.modules == MODULES


def test_tiny_model_options():
    config = _parse("tiny-model", "--output", "t", "--seed", "3")
    assert (config.output, config.seed) == ("t", 3)


# ----------------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval", "--model", "m", "--bench", "b", "--output", "o", "--limit", "0"], "--limit must be >= 1, got 0"),
        (["eval", "--model", "m", "--bench", "b", "--output", "o", "--batch-size", "-2"], "--batch-size must be >= 1"),
        (["eval", "--baseline", "frequency", "--bench", "b", "--output", "o", "--n-resamples", "-5"], "--n-resamples"),
        (["eval", "--model", "m", "--bench", "b", "--output", "o", "--confidence", "1.5"], "--confidence must be in"),
        (["eval", "--bench", "b", "--output", "o"], "--model is required unless --baseline is given"),
        (["eval", "--model", "m", "--output", "o"], "missing required option --bench"),
        (["eval", "--model", "m"], "missing required options --bench, --output"),
        (["synth-mimic", "--out", "x", "--workers", "0"], "--workers must be >= 1, got 0"),
        (["synth-mimic", "--out", "x", "--patients", "0"], "--patients must be between 1 and 1,000,000, got 0"),
        (["synth-mimic", "--out", "x", "--compresslevel", "10"], "--compresslevel must be between 1 and 9"),
        (["synth-mimic", "--out", "x", "--modules", "hosp,labs"], "--modules must be a non-empty subset"),
        (["tiny-model", "--output", "x", "--seed", "-1"], "--seed must be >= 0, got -1"),
        (["tiny-model"], "missing required option --output"),
    ],
)
def test_bad_values_are_one_line_errors_with_status_2(capsys, tmp_path, argv, message):
    assert message in _error_line(capsys, *argv)
    assert not list(tmp_path.iterdir())  # nothing written


# ---------------------------------------------------------------------------------------------------- --config YAML


def test_config_yaml_sets_values_and_the_command_line_overrides_it(tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text(
        "bench: ehr-bench\noutput: runs/x\nbaseline: frequency\nbatch-size: 4\nmax_new_tokens: 16\n"
        "tasks: [services, mortality]\nrequest_timeout: 30\nthink: false\nlimit: null\n"
    )
    config = _parse("eval", "--config", str(path), "--batch-size", "2", "--output", "runs/y")
    assert (config.bench, config.output, config.baseline) == ("ehr-bench", "runs/y", "frequency")
    assert (config.batch_size, config.max_new_tokens, config.tasks) == (2, 16, ["services", "mortality"])
    assert config.request_timeout == 30.0 and isinstance(config.request_timeout, float) and config.think is False
    assert config.n_resamples == 1000  # untouched: the dataclass default
    synth = tmp_path / "synth.yaml"
    synth.write_text("output: d\nsynth: {patients: 5, modules: 'hosp,icu'}\nseed: 9\n")  # nested mapping and flat key
    config = _parse("synth-mimic", "--config", str(synth), "--patients", "6")
    assert config.synth == SynthConfig(patients=6, seed=9, modules=("hosp", "icu")) and config.output == "d"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("bench: b\noutput: o\nmodel: m\nbach_size: 4\n", "unknown key bach_size (did you mean batch_size?)"),
        ("bench: b\noutput: o\nmodel: m\nfoo: 1\nbar: 2\n", "unknown keys foo, bar"),
        ("bench: b\noutput: o\nmodel: m\nbatch_size: four\n", "batch_size must be an integer, got str 'four'"),
        ("bench: b\noutput: o\nmodel: m\nbatch_size: true\n", "batch_size must be an integer, got bool True"),
        ("bench: b\noutput: o\nmodel: m\nthink: 'no'\n", "think must be true or false"),
        ("bench: b\noutput: o\nmodel: m\ntasks: services\n", "tasks must be a list"),
        ("bench: b\noutput: o\nmodel: m\nbackend: vllm\n", "backend must be one of transformers, openai"),
        ("bench: b\noutput: o\nmodel: m\nbatch_size: null\n", "batch_size must not be null"),
        ("- bench\n- output\n", "a config file must be a mapping"),
        ("bench: [b\n", "not valid YAML (line 2)"),
    ],
)
def test_bad_config_yaml_is_a_one_line_error_naming_file_and_key(capsys, tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    line = _error_line(capsys, "eval", "--config", str(path))
    assert line.startswith(f"error: {path}: ") and expected in line, line


def test_missing_config_file_and_required_options_from_yaml(capsys, tmp_path):
    assert f"{tmp_path / 'nope.yaml'}: cannot read" in _error_line(
        capsys, "tiny-model", "--config", f"{tmp_path}/nope.yaml"
    )
    path = tmp_path / "t.yaml"
    path.write_text("seed: 3\n")
    assert "missing required option --output" in _error_line(capsys, "tiny-model", "--config", str(path))
    path.write_text("output: somewhere\n")
    assert _parse("tiny-model", "--config", str(path)).output == "somewhere"
    (tmp_path / "empty.yaml").write_text("")
    assert _parse("tiny-model", "--config", str(tmp_path / "empty.yaml"), "--output", "o").seed == 0


def test_unknown_yaml_key_exits_2_from_the_console_command(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("output: o\nsed: 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "ehr_r1.cli", "tiny-model", "--config", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and proc.stderr == f"error: {path}: unknown key sed (did you mean seed?)\n"
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------ the generator itself


@dataclass(frozen=True)
class Window:
    """Context filters."""

    hours: float = field(default=24.0, metadata={"help": "Window length in hours."})
    min_events: int = field(default=10, metadata={"help": "Fewest events."})


@dataclass
class Build:
    """A toy build."""

    output: str = field(metadata={"help": "Output folder."})
    window: Window = field(default_factory=lambda: Window(hours=12.0))
    mode: Literal["fast", "slow"] = field(default="fast", metadata={"help": "Speed."})
    tags: list[int] | None = field(default=None, metadata={"help": "Tags."})
    cache: bool | None = field(default=None, metadata={"help": "Cache (default: decide by size)."})
    verbose: bool = field(default=False, metadata={"help": "Talk."})
    dataset: str = field(default="bench", metadata={"help": "Which dataset.", "cli": False})
    share: str = field(default="a", metadata={"help": "100% shared.", "flag": "--share-mode", "aliases": ["-s"]})


def test_nested_dataclass_fields_are_flattened():
    names = [o.name for o in dataclass_options(Build)]
    assert names == ["output", "hours", "min_events", "mode", "tags", "cache", "verbose", "share"]
    assert parse_args(Build, ["--output", "o"]) == Build(output="o")
    assert parse_args(Build, ["--output", "o"]).window == Window(hours=12.0, min_events=10)  # the factory's default
    built = parse_args(Build, ["--output", "o", "--min-events", "3", "--tags", "1", "2", "--no-cache", "-s", "b"])
    assert built == Build(output="o", window=Window(12.0, 3), tags=[1, 2], cache=False, share="b")
    assert parse_args(Build, ["--output", "o", "--cache", "--verbose", "--mode", "slow"]) == Build(
        output="o", cache=True, verbose=True, mode="slow"
    )
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, Build)
    text = parser.format_help()
    assert "window (Window)" in text and "Context filters." in text and "(default: 12.0)" in text
    assert "100% shared." in text and "--dataset" not in text
    with pytest.raises(SystemExit):
        parse_args(Build, ["--output", "o", "--mode", "medium"])


def test_flag_metadata_renames_an_option_that_would_clash_with_config(tmp_path):
    @dataclass
    class Sampling:
        config: str | None = field(default=None, metadata={"help": "Sampling YAML.", "flag": "--sampling-config"})

    path = tmp_path / "run.yaml"
    path.write_text("config: quotas.yaml\n")
    assert parse_args(Sampling, ["--config", str(path)]).config == "quotas.yaml"
    assert parse_args(Sampling, ["--config", str(path), "--sampling-config", "q2.yaml"]).config == "q2.yaml"


def test_nested_yaml_flat_or_mapping_and_hidden_fields(tmp_path):
    path = tmp_path / "build.yaml"
    path.write_text("output: o\nwindow: {hours: 6}\nmin-events: 4\ntags: [7]\ncache: true\n")
    assert parse_args(Build, ["--config", str(path), "--hours", "8"]) == Build(
        output="o", window=Window(8.0, 4), tags=[7], cache=True
    )
    for text, expected in (
        ("output: o\ndataset: ins\n", "unknown key dataset"),  # a hidden field is not an option
        ("output: o\nwindow: 3\n", "window must be a mapping of its options"),
        ("output: o\nwindow: {output: p}\n", "unknown key output"),
        ("output: o\nhours: 1\nwindow: {hours: 2}\n", "hours is given twice"),
        ("output: o\nmode: medium\n", "mode must be one of fast, slow"),
        ("output: o\ntags: [a]\n", "tags must be an integer, got str 'a'"),
    ):
        path.write_text(text)
        with pytest.raises(EhrR1Error, match=f"^{path}: .*{expected}"):
            parse_args(Build, ["--config", str(path)])


def test_bad_definitions_fail_when_the_parser_is_built():
    @dataclass
    class NoHelp:
        seed: int = 0

    @dataclass
    class Typo:
        seed: int = field(default=0, metadata={"help": "Seed.", "alias": ["-s"]})

    @dataclass
    class Clash:
        min_events: int = field(default=0, metadata={"help": "Also a Window field."})
        window: Window = field(default_factory=Window)

    @dataclass
    class Reserved:
        config: str = field(default="x", metadata={"help": "Sampling YAML."})

    @dataclass
    class Unsupported:
        table: dict = field(default_factory=dict, metadata={"help": "A mapping."})

    for cls, message in (
        (NoHelp, r"NoHelp.seed: metadata\['help'\] is required"),
        (Typo, r"Typo.seed: unknown metadata key\(s\) \['alias'\]"),
        (Clash, "window.min_events and min_events both define 'min_events'"),
        (Reserved, "config and the built-in --config both define '--config'"),
        (Unsupported, "Unsupported.table: unsupported type"),
    ):
        with pytest.raises(TypeError, match=message):
            add_dataclass_arguments(argparse.ArgumentParser(), cls)


# ------------------------------------------------------------------------------------------------ the console command


def test_top_level_help_lists_every_command_and_imports_no_command_module():
    code = (
        "import sys, contextlib, io\n"
        "from ehr_r1.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'polars', 'yaml')\n"
        "               or m.startswith('ehr_r1.commands.'))\n"
        "print(heavy)\n"
        "print(out.getvalue())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    first, _, help_text = proc.stdout.partition("\n")
    assert first == "[]"
    help_text = "".join(help_text.split())  # argparse wraps long help lines, also at hyphens
    for name, (_, help_line) in COMMANDS.items():
        assert "".join(f"{name} {help_line}".split()) in help_text


def test_eval_help_does_not_import_torch():
    code = (
        "import sys, contextlib, io\n"
        "from ehr_r1.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['eval', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert proc.stdout == "[]\n"


def test_a_module_serving_two_commands_maps_each_to_its_dataclass(monkeypatch, tmp_path):
    @dataclass
    class Ins(Build):
        dataset: str = field(default="ins", metadata={"help": "Which dataset.", "cli": False})

    seen = []
    module = types.ModuleType("fake_build_command")
    module.HELP, module.CONFIG = "Build.", {"fake-bench": Build, "fake-ins": Ins}
    module.run = lambda config: seen.append(config) or 0
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(COMMANDS, "fake-bench", (module.__name__, "Build."))
    monkeypatch.setitem(COMMANDS, "fake-ins", (module.__name__, "Build."))
    assert main(["fake-bench", "--output", "o"]) == 0 and main(["fake-ins", "--output", "p", "--hours", "3"]) == 0
    assert seen == [Build(output="o"), Ins(output="p", window=Window(hours=3.0))]
    assert (seen[0].dataset, seen[1].dataset) == ("bench", "ins")


def test_a_positional_field_is_also_its_option(tmp_path):
    from ehr_r1.commands.push import PushModelConfig

    by_position = build_parser(["push-model"]).parse_args(["push-model", "ckpt", "--repo-id", "org/m"])
    by_flag = build_parser(["push-model"]).parse_args(["push-model", "--folder", "ckpt", "--repo-id", "org/m"])
    assert parse_config(PushModelConfig, by_position) == parse_config(PushModelConfig, by_flag)
    assert parse_config(PushModelConfig, by_position).folder == "ckpt"
