"""The pipeline's file writers: a failed write never damages a previous result or leaves a temp file."""

import errno
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

import holocorr._atomic as atomic
from holocorr.pipeline.run import _atomic_text, _savefig

OLD = b"previous result, complete\n"


@pytest.fixture
def fig():
    f, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [0, 1, 4])
    yield f
    plt.close(f)


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("ext", ["png", "pdf"])
def test_failing_savefig_keeps_previous_figure(tmp_path, fig, monkeypatch, ext):
    path = tmp_path / f"potential_change.{ext}"
    path.write_bytes(OLD)
    seen = []

    def half_written_then_fails(fname, *args, **kwargs):
        seen.append(os.path.basename(fname))
        with open(fname, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n truncated")  # part of a figure
        _disk_full()

    monkeypatch.setattr(fig, "savefig", half_written_then_fails)
    with pytest.raises(OSError, match="No space left"):
        _savefig(fig, path)
    assert path.read_bytes() == OLD
    assert os.listdir(tmp_path) == [path.name]  # the temp file is gone
    # the figure went to a hidden sibling with the same suffix (savefig picks the format from it)
    assert seen[0].startswith(f".{path.name}.tmp-") and seen[0].endswith(f".{ext}")


@pytest.mark.parametrize("ext,magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-")])
def test_savefig_replaces_previous_figure(tmp_path, fig, ext, magic):
    path = tmp_path / f"summary.{ext}"
    path.write_bytes(OLD)
    umask = os.umask(0o022)
    try:
        _savefig(fig, path)
    finally:
        os.umask(umask)
    assert path.read_bytes().startswith(magic)  # the format of the suffix, not the old bytes
    assert path.stat().st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path) == [path.name]


def test_failing_text_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    path.write_bytes(OLD)
    text = '{"li_front_nm": 400.0}\n' * 1000
    written = []

    def half_then_disk_full(fd, data):
        os.write(fd, bytes(data[: len(data) // 2]))
        written.append(len(data) // 2)
        _disk_full()

    monkeypatch.setattr(atomic, "_write_all", half_then_disk_full)
    with pytest.raises(OSError, match="No space left"):
        _atomic_text(path, text)
    assert written == [len(text) // 2]  # the failure came mid-write, after part of the data
    assert path.read_bytes() == OLD
    assert os.listdir(tmp_path) == [path.name]
    monkeypatch.undo()
    _atomic_text(path, text)
    assert path.read_text(encoding="utf-8") == text
    assert os.listdir(tmp_path) == [path.name]


def test_failing_flush_keeps_previous_file(tmp_path, monkeypatch):
    """fsync fails (e.g. an I/O error): the new content is not published."""
    path = tmp_path / "provenance.json"
    path.write_bytes(OLD)
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: _disk_full())
    with pytest.raises(OSError, match="No space left"):
        _atomic_text(path, "{}\n")
    monkeypatch.undo()
    assert path.read_bytes() == OLD
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
@pytest.mark.parametrize("writer", ["text", "figure"])
def test_file_then_rename_then_folder_are_flushed(tmp_path, fig, monkeypatch, writer):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.path.basename(src), os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    if writer == "text":
        path = tmp_path / "report.html"
        _atomic_text(path, "<html></html>\n")
    else:
        path = tmp_path / "summary.png"
        _savefig(fig, path)
    monkeypatch.undo()
    (flushed_file, renamed, flushed_dir) = events
    tmp_name = renamed[1]
    assert tmp_name.startswith(f".{path.name}.tmp-") and renamed[2] == path.name
    assert flushed_file == ("fsync", str(tmp_path / tmp_name))  # the data, before publishing
    assert flushed_dir == ("fsync", str(tmp_path))  # the rename itself, after
