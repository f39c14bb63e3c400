"""Issue 8, section 4: nothing in holocorr executes code from user files or configs.

A static scan of the package's source: no eval/exec/compile calls, no pickle,
marshal or shelve, no yaml.load, np.load only with allow_pickle=False, and the
pipeline configuration is parsed by tomllib.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "holocorr"
SOURCES = sorted(PKG.rglob("*.py"))
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve", "cloudpickle", "yaml"}


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            yield name, node


def test_the_scan_sees_the_package():
    assert len(SOURCES) > 40


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_code_execution_from_data(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & FORBIDDEN_MODULES, ast.dump(node)
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in FORBIDDEN_MODULES, node.module
    for name, node in _calls(tree):
        owner = getattr(node.func, "value", None)
        builtin = isinstance(node.func, ast.Name) or getattr(owner, "id", "") == "builtins"
        if builtin:  # re.compile and the like are fine
            assert name not in ("eval", "exec", "compile", "__import__"), f"{path}:{node.lineno} calls {name}"
        if name == "load" and getattr(owner, "id", "") in ("np", "numpy"):
            kw = {k.arg: k.value for k in node.keywords}
            assert "allow_pickle" in kw and isinstance(kw["allow_pickle"], ast.Constant)
            assert kw["allow_pickle"].value is False, f"{path}:{node.lineno}"


def test_config_is_parsed_by_tomllib():
    src = (PKG / "pipeline" / "config.py").read_text()
    assert "import tomllib" in src and "tomllib.load" in src
