"""Hostile scenario files: every file gives a valid run or one clear message.

Hypothesis mutates the shipped scenarios and writes hostile documents of every
kind the loader must survive (numbers too large for a float or for the engine,
files that are not UTF-8, deep nesting, alias bombs, floods of unknown keys,
keys that are not text, duplicate keys, sections written as 0 or false, sizes
the engine cannot hold, circles of ``extends``). Each file is loaded and, when
valid, run for 2 months on 20 customers, in a worker process with a memory
limit and a time limit per file. A file passes when it runs, or when it is
refused with a ScenarioError whose message names the file and the place;
anything else (another exception, a hang, running out of memory) fails. A
strategy may check the scenario as a whole only when it first runs (the mix
of acquisition channels is checked against the channels then): such a
ScenarioError is one clear message too, given before any result is written.

The normal test command runs 500 files; ``pytest -m long`` runs 10,000.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crmsim.config.fields import INTEGER_KINDS, LARGEST, SMALLEST, Field, Record, check_value
from crmsim.config.scenario import shipped_scenarios_dir
from crmsim.config.schema import SCHEMA
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY
from crmsim.vocabulary import DEFECTION_REASONS

SECONDS_PER_FILE = 20.0
"""Time limit of one file: loading the largest allowed file takes about a second."""

MEMORY_ABOVE_START = 1 << 30
"""Address space a file may take above the worker's own after its imports, bytes."""

LONGEST_MESSAGE = 10_000
"""A clear message is short whatever the file holds (most are a few hundred characters)."""

WORKER = r"""
import json, resource, sys, traceback
from crmsim.config.fields import ScenarioError
from crmsim.config.scenario import load_scenario
from crmsim.engine.model import CRMModel

size = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
limit = size + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    path = json.loads(line)
    try:
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            text = str(error)
            reply = {"outcome": "refused", "message": text[:50_000], "length": len(text)}
        else:
            tiny = scenario.with_changes({"simulation.customers": 20, "simulation.months": 2})
            try:
                CRMModel(tiny, rng=0).run().summary()
                reply = {"outcome": "ran"}
            except ScenarioError as error:
                text = str(error)
                reply = {"outcome": "refused running", "message": text[:50_000]}
                reply["length"] = len(text)
    except BaseException:
        reply = {"outcome": "crashed", "message": traceback.format_exc()[-4000:]}
    print(json.dumps(reply), flush=True)
"""


class Worker:
    """A process that loads and runs scenario files, restarted after a crash or a hang."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.replies: queue.Queue[str] = queue.Queue()

    def _start(self) -> None:
        env = {**os.environ, "MPLBACKEND": "Agg"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(MEMORY_ABOVE_START)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.replies = queue.Queue()
        stdout = self.process.stdout
        threading.Thread(target=lambda: [self.replies.put(x) for x in stdout], daemon=True).start()
        assert json.loads(self.replies.get(timeout=120)) == {"ready": True}

    def check(self, path: Path) -> dict[str, Any]:
        """Load (and run) one file; the worker's reply, or a hang."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(str(path)) + "\n")
        self.process.stdin.flush()
        try:
            return json.loads(self.replies.get(timeout=SECONDS_PER_FILE))
        except queue.Empty:
            self.stop()
            return {"outcome": "hung", "message": f"no answer in {SECONDS_PER_FILE:g} s"}
        except json.JSONDecodeError:
            self.stop()
            return {"outcome": "crashed", "message": "the worker died"}

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    running = Worker()
    yield running
    running.stop()


# --------------------------------------------------------------------------- documents
SHIPPED = {
    p.stem: p.read_text(encoding="utf-8") for p in sorted(shipped_scenarios_dir().glob("*.yaml"))
}
FIELDS: dict[str, Field | Record] = {
    **{f"{s}.{k}": spec for s, fields in SCHEMA.items() for k, spec in fields.items()},
    **{
        f"acquisition.channels.{channel}.{k}": spec
        for channel in ("mass", "lookalike", "tv")
        for k, spec in SCHEMA["acquisition"]["channels"].fields.items()
    },
    **{
        f"{section}.{name}.{k}": spec
        for section, registry in (
            ("strategies", REGISTRY),
            ("competitor_strategies", COMPETITOR_REGISTRY),
        )
        for name, cls in registry.items()
        for k, spec in cls.parameters.items()
    },
}
"""Every setting by dotted path (records and strategies included), with its field."""
SETTINGS = sorted(path for path, spec in FIELDS.items() if isinstance(spec, Field))
PLACES = [
    *SCHEMA,
    "strategies",
    "competitor_strategies",
    "name",
    "description",
    "extends",
    *SETTINGS,
]

hostile_numbers = st.one_of(
    st.sampled_from(
        [
            10**400,
            -(10**400),
            10**40,
            2**63,
            2**31,
            10**10,
            1e308,
            -1e308,
            1e38,
            1e10,
            1e9,
            1_000_000_001,
            32_767,
            32_768,
            1_200,
            1_201,
            10_000_001,
            128,
            101,
            5e-324,
            1e-300,
            1e-10,
            -1e-10,
            float("inf"),
            float("-inf"),
            float("nan"),
            0,
            -1,
            0.5,
            1,
            3,
        ]
    ),
    st.integers(),
    st.floats(),
)
hostile_values = st.recursive(
    st.one_of(
        hostile_numbers,
        st.none(),
        st.booleans(),
        st.sampled_from(["", "1e4", "-2.5E-3", "1_000", "0x1F", "1:30", "2024-02-30", "baseline"]),
        st.text(max_size=20),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.integers(), st.none()), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


def _extremes(spec: Field) -> list[Any]:
    """The values at the edges of what a field allows, and a few inside."""
    if spec.kind == "choice":
        return list(spec.choices)
    if spec.kind == "bool":
        return [True, False]
    one = _number_of(spec)
    values = [spec.minimum, spec.maximum, LARGEST, -LARGEST, SMALLEST, -SMALLEST, 0, 1, 2, 0.5]
    values += [spec.default] if not isinstance(spec.default, list | dict) else []
    inside = [v for v in values if v is not None and check_value(one, v) is None]
    if spec.kind in INTEGER_KINDS:
        inside = [int(v) for v in inside if float(v).is_integer()]
    return inside + ([None] if spec.nullable else [])


def _number_of(spec: Field) -> Field:
    """The field of one number of a ladder or a mix of reasons (else the field itself)."""
    if spec.kind == "ladder":
        return Field("number", 0, minimum=spec.minimum, maximum=spec.maximum)
    if spec.kind == "reasons":
        return Field("nonnegative", 0, minimum=spec.minimum, maximum=spec.maximum)
    return spec


@st.composite
def extreme_values(draw: st.DrawFn, spec: Field) -> Any:
    """A value the field allows, mostly at its edges: the engine must hold all of them."""
    edges = st.sampled_from(_extremes(spec))
    if spec.kind == "ladder":
        return draw(st.lists(edges, min_size=5, max_size=5))
    if spec.kind == "reasons":
        return draw(st.dictionaries(st.sampled_from(DEFECTION_REASONS), edges))
    return draw(edges)


def _set(data: dict[Any, Any], path: str, value: Any) -> None:
    *sections, key = path.split(".")
    node = data
    for part in sections:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[key] = value


@st.composite
def mutated_shipped(draw: st.DrawFn) -> dict[str, bytes]:
    """A shipped scenario with a few settings changed to hostile values, keys renamed or
    made numbers, sections emptied, written as text, UTF-16, Latin-1 or with a duplicate."""
    data = yaml.safe_load(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))]) or {}
    for _ in range(draw(st.integers(0, 5))):
        place = draw(st.sampled_from(PLACES))
        action = draw(st.sampled_from(["edge"] * 6 + ["value", "falsy", "rename", "number_key"]))
        if action == "edge":
            setting = draw(st.sampled_from(SETTINGS))
            _set(data, setting, draw(extreme_values(FIELDS[setting])))
        elif action == "value":
            _set(data, place, draw(hostile_values))
        elif action == "falsy":
            _set(data, place, draw(st.sampled_from([0, False, "", [], None])))
        elif action == "rename":
            _set(data, place + draw(st.sampled_from(["s", "_", "x"])), 1)
        else:
            _set(data, place, {draw(st.sampled_from([1, None, True, 2.5])): 1})
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    form = draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "latin-1", "duplicate", "bytes"]))
    if form == "utf-16":
        return {"case.yaml": text.encode("utf-16")}
    if form == "latin-1":
        return {"case.yaml": ("description: café crème\n" + text).encode("latin-1", "replace")}
    if form == "duplicate":
        return {"case.yaml": (text + "\nfirm: {gross_margin: 0.2}\nfirm: {}\n").encode()}
    if form == "bytes":
        return {"case.yaml": text.encode() + draw(st.binary(min_size=1, max_size=20))}
    return {"case.yaml": text.encode()}


def _laughs(levels: int, width: int) -> str:
    lines = ['l0: &l0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@st.composite
def hostile_documents(draw: st.DrawFn) -> dict[str, bytes]:
    """Documents of each hostile kind, at sizes on both sides of each limit."""
    kind = draw(
        st.sampled_from(
            [
                "deep",
                "deep_block",
                "laughs",
                "recursive",
                "aliases",
                "unknown",
                "long_list",
                "long_int",
                "sizes",
                "channels",
                "keys",
                "extends",
                "text",
                "binary",
                "big",
            ]
        )
    )
    if kind == "deep":
        n = draw(st.sampled_from([4, 19, 20, 21, 200, 20_000, 400_000]))
        text = "firm: " + "[" * n + "]" * n + "\n"
    elif kind == "deep_block":
        n = draw(st.sampled_from([3, 19, 20, 21, 60]))
        text = "".join("  " * i + "a:\n" for i in range(n)) + "  " * n + "1\n"
    elif kind == "laughs":
        text = _laughs(draw(st.integers(1, 12)), draw(st.integers(2, 12)))
    elif kind == "recursive":
        text = draw(st.sampled_from(["a: &a [*a]\n", "a: &a {b: *a}\n", "firm: &f {x: [*f]}\n"]))
    elif kind == "aliases":
        n = draw(st.sampled_from([1, 99, 100, 101, 1_000]))
        text = "x: &x 1\n" + "".join(f"k{i}: *x\n" for i in range(n))
    elif kind == "unknown":
        n = draw(st.sampled_from([1, 3, 4, 50, 3_000, 45_000]))
        section = draw(st.sampled_from(["firm", "strategies", "acquisition.channels"]))
        if section == "acquisition.channels":
            text = "acquisition:\n  channels:\n" + "".join(f"    k{i}: 1\n" for i in range(n))
        else:
            text = f"{section}:\n" + "".join(f"  k{i}: 1\n" for i in range(n))
    elif kind == "long_list":
        n = draw(st.sampled_from([5, 6, 1_000, 90_000]))
        text = "ladder:\n  churn_multiplier: [" + ", ".join(["1"] * n) + "]\n"
    elif kind == "long_int":
        n = draw(st.sampled_from([8, 9, 10, 308, 309, 400, 999, 1_000, 1_001, 100_000]))
        place = draw(st.sampled_from(SETTINGS))
        data: dict[str, Any] = {}
        _set(data, place, 0)
        text = yaml.safe_dump(data).replace(": 0\n", ": 1" + "0" * n + "\n", 1)
    elif kind == "sizes":
        months = draw(st.sampled_from([1, 1_200, 1_201, 32_767, 32_768, 10**10]))
        customers = draw(st.sampled_from([1, 20, 10_000_000, 10_000_001, 10**12]))
        follow = draw(st.sampled_from([0, 1_000, 1_001, 10**9]))
        text = (
            f"simulation: {{months: {months}, customers: {customers}, "
            f"follow_customers: {follow}}}\n"
        )
    elif kind == "channels":
        n = draw(st.sampled_from([1, 100, 101, 128, 1_000]))
        text = "acquisition:\n  channels:\n" + "".join(
            f"    c{i}: {{budget_share: 0.001}}\n" for i in range(n)
        )
    elif kind == "keys":
        key = draw(st.sampled_from(["1", "null", "true", "2.5", "~", "[a]", "{b: 1}", "1e4"]))
        where = draw(
            st.sampled_from(
                ["", "firm:\n  ", "strategies:\n  ", "customers:\n  background_reason_mix:\n    "]
            )
        )
        text = f"{where}{key}: 1\n"
    elif kind == "extends":
        parent = draw(
            st.sampled_from(
                [
                    "baseline",
                    "case.yaml",
                    "other.yaml",
                    "missing.yaml",
                    "no_such",
                    "../x.yaml",
                    "[1]",
                    "''",
                ]
            )
        )
        other = draw(
            st.sampled_from(["extends: case.yaml\n", "firm: {gross_margin: 0.2}\n", "firm: [\n"])
        )
        return {
            "case.yaml": f"extends: {parent}\nsimulation: {{months: 3}}\n".encode(),
            "other.yaml": other.encode(),
        }
    elif kind == "text":
        text = draw(st.text(max_size=200))
    elif kind == "binary":
        return {"case.yaml": draw(st.binary(max_size=200))}
    else:
        text = "description: " + "a" * draw(st.sampled_from([999_000, 1_000_001])) + "\n"
    return {"case.yaml": text.encode()}


documents = st.one_of(mutated_shipped(), mutated_shipped(), hostile_documents())

CLEAR = re.compile(
    r"(line \d+: |invalid scenario:\n  \S|extends: |the scenario file |not valid YAML"
    r"|a scenario must be a mapping|[a-z_]+(\.\w+)+: )"
)
"""What follows the file in a clear message: a line, a field path or what is wrong with
the whole file."""


def _check(worker: Worker, files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            (Path(folder) / name).write_bytes(content)
        path = Path(folder) / "case.yaml"
        reply = worker.check(path)
    event(reply["outcome"])
    shown = files["case.yaml"][:300]
    assert reply["outcome"] in ("ran", "refused", "refused running"), (
        f"{reply['message']}\nfile: {shown!r}"
    )
    if reply["outcome"] != "ran":
        message = reply["message"]
        assert message.startswith(f"{path}: "), message
        assert CLEAR.search(message[len(str(path)) :]), message
        assert reply["length"] <= LONGEST_MESSAGE, f"{reply['length']} characters: {message[:500]}"
        assert "Traceback" not in message


FUZZ = settings(
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(files=documents)
def test_any_scenario_file_runs_or_gives_one_clear_message(
    worker: Worker, files: dict[str, bytes]
) -> None:
    _check(worker, files)


@pytest.mark.long
@settings(FUZZ, max_examples=10_000)
@given(files=documents)
def test_any_scenario_file_runs_or_gives_one_clear_message_long(
    worker: Worker, files: dict[str, bytes]
) -> None:
    _check(worker, files)


# --------------------------------------------------------------------------- the command
HOSTILE_FILES = {
    "big_number.yaml": b"acquisition:\n  budget_per_month_per_1000_people: 1" + b"0" * 400 + b"\n",
    "old_name.yaml": b"acquisition:\n  budget_per_month: 1" + b"0" * 400 + b"\n",
    "latin1.yaml": "description: café\n".encode("latin-1"),
    "utf16.yaml": "firm: {gross_margin: 0.3}\n".encode("utf-16"),
    "deep.yaml": b"firm: " + b"[" * 5_000 + b"]" * 5_000 + b"\n",
    "laughs.yaml": _laughs(9, 9).encode(),
    "duplicate.yaml": b"firm: {gross_margin: 0.3}\nfirm: {gross_margin: 0.4}\n",
    "months.yaml": b"simulation: {months: 40000}\n",
    "falsy.yaml": b"firm: 0\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_crmsim_run_refuses_a_hostile_file_with_status_2_and_one_message(
    tmp_path: Path, name: str
) -> None:
    file = tmp_path / name
    file.write_bytes(HOSTILE_FILES[name])
    done = subprocess.run(
        [sys.executable, "-m", "crmsim.cli", "run", str(file), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(f"crmsim: error: {file}: ")
    assert done.stderr.count("crmsim: error:") == 1
    assert "Traceback" not in done.stderr and len(done.stderr) < 2_000
    assert not (tmp_path / "out").exists()
