"""Bad inputs across the whole public API and the command line (issue 8, section 1).

Every row of the table in ``_bad_cases.py`` calls one public function (or
one ``holocorr`` command) with exactly one bad argument, everything else
valid, and requires the documented HolocorrError subclass with a message
that names the problem; rows without an error class (``OK``) are inputs
that must work and assert the numbers (uint16 counts equal to the float64
result, Å converted to nm, ...). Command-line rows require exit code 3,
one line on stderr and no traceback, and re-run with ``--debug`` to check
the error class. ``python tests/hardening/bad_input_table.py`` prints the
coverage per function.

The meta-tests make a new public function (or command) without cases fail:
add rows to the table, or an entry with a reason to ``EXEMPT``.
"""

from __future__ import annotations

import inspect
import warnings

import pytest
from _bad_cases import EXEMPT, KINDS, OK, TABLE, cli_commands, public_names, resolve

from holocorr.errors import HolocorrError, UncalibratedWarning


def _param(c):
    marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
    return pytest.param(c, id=c.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in TABLE])
def test_bad_input(case, tmp_path):
    with warnings.catch_warnings():
        # plain arrays are bad inputs too; their uncalibrated-data warning is not the point here
        warnings.simplefilter("ignore", UncalibratedWarning)
        if case.error is OK:
            case.call(tmp_path)
        else:
            with pytest.raises(case.error, match=case.match) as info:
                case.call(tmp_path)
            # a message for people: it says what was wrong, not just an exception name
            assert len(str(info.value).split()) >= 4, str(info.value)


def test_table_is_well_formed():
    ids = [c.id for c in TABLE]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for c in TABLE:
        assert c.kind in KINDS, c.id
        errors = c.error if isinstance(c.error, tuple) else (c.error,)
        assert c.error is OK or all(issubclass(e, HolocorrError) for e in errors), c.id
        assert c.error is OK or c.match, f"{c.id}: an error case needs a message pattern"
        if not c.func.startswith("cli "):
            resolve(c.func)  # names a real public object


def test_every_public_callable_has_bad_input_cases():
    names = public_names()
    covered = {id(resolve(c.func)) for c in TABLE if not c.func.startswith("cli ")}
    missing = [
        name
        for name, obj in names.items()
        if (callable(obj) or inspect.isclass(obj)) and id(obj) not in covered and name not in EXEMPT
    ]
    assert not missing, f"public callables without bad-input cases (add rows, or EXEMPT with a reason): {missing}"
    stale = [name for name in EXEMPT if name not in names]
    assert not stale, f"EXEMPT names that are not public (any more): {stale}"
    needless = [name for name in EXEMPT if id(names[name]) in covered]
    assert not needless, f"EXEMPT names that have cases after all: {needless}"


def test_every_command_has_bad_input_cases():
    missing = cli_commands() - {c.func for c in TABLE if c.func.startswith("cli ")}
    assert not missing, f"holocorr commands without bad-input cases: {sorted(missing)}"
