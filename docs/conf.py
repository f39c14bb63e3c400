"""Sphinx configuration of the holocorr documentation.

Build (warnings are errors)::

    .venv/bin/sphinx-build -W -b html docs docs/_build/html

Run the code in the guides (sphinx.ext.doctest)::

    .venv/bin/sphinx-build -W -b doctest docs docs/_build/doctest

The build is offline: no intersphinx inventories are downloaded.
"""

from __future__ import annotations

import doctest
import os
import re
import sys

# Document the checked-out package even when it is not installed.
sys.path.insert(0, os.path.abspath(".."))

import holocorr  # noqa: E402

project = "holocorr"
author = "holocorr developers"
copyright = "holocorr developers, BSD-3-Clause"  # noqa: A001
release = holocorr.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "numpydoc",
    "myst_parser",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
# Pages are reStructuredText, or Markdown (MyST) where an issue asks for a
# .md page (reliability.md); both run their ``doctest`` blocks.
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
language = "en"
# "::" blocks hold formulas and file trees, not Python: no colouring.
highlight_language = "text"

# -- MyST (Markdown pages) ------------------------------------------------------
# "Term" + ": definition" lists, as in the reStructuredText pages.
myst_enable_extensions = ["deflist"]

# -- autodoc / numpydoc ------------------------------------------------------
autodoc_member_order = "bysource"  # follows __all__ for modules that define it
autodoc_typehints = "none"  # types are in the numpydoc Parameters sections
autodoc_default_options = {"show-inheritance": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- doctest (the guides are executed by `sphinx-build -b doctest`) ----------
# Exception messages are compared in full: the guide shows real messages.
doctest_default_flags = doctest.ELLIPSIS | doctest.DONT_ACCEPT_TRUE_FOR_1
# Only ``.. doctest::`` directives are run here. The ``>>>`` examples in the
# docstrings shown by autodoc are run by pytest (--doctest-modules) instead,
# in their module's namespace.
doctest_test_doctest_blocks = ""

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"holocorr {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False

# -- Plain-text absolute values in docstrings ----------------------------------
# holocorr's docstrings write formulas as plain text, e.g. "a fraction of
# |q_c|" or "amplitude |psi|". reStructuredText would read "|q_c|" as a
# substitution reference, an error under -W. Before numpydoc parses a
# docstring, this hook escapes such bars so that they appear as written.
# It leaves bars alone in inline literals (``...``), roles (`...`), literal
# blocks (after "::"), doctest examples and already escaped ones. Only the
# rendered text changes; no warning is silenced. Docstrings may still use
# ``|q_c|`` or \|q_c\| explicitly.
_LITERAL = re.compile(r"(``.+?``|`[^`]*`)")
_BAR = re.compile(r"(?<!\\)\|")


def _escape_plain_bars(lines: list[str]) -> None:
    literal_indent = None  # indentation of the paragraph that opened a "::" block
    in_doctest = False
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if not stripped:
            in_doctest = False
            continue
        if literal_indent is not None:
            if indent > literal_indent:
                continue
            literal_indent = None
        if stripped.startswith(">>>") or in_doctest:
            in_doctest = True
            continue
        if line.rstrip().endswith("::"):
            literal_indent = indent
        parts = _LITERAL.split(line)
        lines[i] = "".join(
            part if k % 2 else _BAR.sub(r"\\|", part) for k, part in enumerate(parts)
        )


def _process_docstring(app, what, name, obj, options, lines) -> None:
    _escape_plain_bars(lines)


def setup(app):
    # numpydoc mangles docstrings at the default priority (500); run first.
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
