"""Crash safety of holocorr.save: a save killed mid-write never truncates the target.

A subprocess saves a 200 MB float32 DataArray over an existing small file;
as soon as the hidden temporary sibling (``.<name>.tmp-<id>``, see
holocorr/io/_store.py ``write_atomic``) appears, the process is killed with
SIGTERM or SIGKILL. The target must then load as the complete old file or
the complete new one.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

import holocorr

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SHAPE = (50, 1000, 1000)  # 50e6 float32 = 200 MB
NEW_VALUE = 7.0

_WRITER = """
import sys
import numpy as np, xarray as xr
import holocorr
da = xr.DataArray(np.full({shape}, {value}, dtype=np.float32), dims=("frame", "y", "x"))
print("ready", flush=True)
holocorr.save(da, sys.argv[1], overwrite=True)
print("done", flush=True)
"""


def _old():
    return xr.DataArray(np.arange(12.0, dtype=np.float32).reshape(3, 4), dims=("y", "x"), attrs={"version": "old"})


@pytest.mark.parametrize("ext", [".nc", ".zarr"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_save_leaves_old_or_new_target(tmp_path, ext, sig):
    target = tmp_path / f"result{ext}"
    holocorr.save(_old(), target)
    before = set(os.listdir(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER.format(shape=SHAPE, value=NEW_VALUE), str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 15.0
        tmp_seen = []
        while time.monotonic() < deadline and not tmp_seen:
            tmp_seen = [n for n in os.listdir(tmp_path) if n.startswith(f".{target.name}.tmp-")]
            if not tmp_seen:
                time.sleep(0.002)
        assert tmp_seen, "save never created its temporary sibling"
        time.sleep(0.05)  # let it write part of the 200 MB
        proc.send_signal(sig)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    # the kill interrupted the save (it did not finish first)
    assert proc.returncode == -sig

    assert target.exists(), "the target vanished"
    got = holocorr.load(target, checksum=False)
    if got.shape == (3, 4):  # the complete old file
        np.testing.assert_array_equal(got.values, _old().values)
        assert got.attrs["version"] == "old"
    else:  # the complete new file, every value written
        assert got.shape == SHAPE
        vals = got.values
        assert float(vals.min()) == NEW_VALUE and float(vals.max()) == NEW_VALUE
    # anything left over is a hidden sibling, never another visible file
    leftovers = set(os.listdir(tmp_path)) - before
    assert all(n.startswith(f".{target.name}.") for n in leftovers)


def test_unkilled_save_replaces_target(tmp_path):
    """Control: the same writer, not killed, does replace the old file."""
    target = tmp_path / "result.nc"
    holocorr.save(_old(), target)
    shape = (2, 4, 5)
    out = subprocess.run(
        [sys.executable, "-c", _WRITER.format(shape=shape, value=NEW_VALUE), str(target)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    got = holocorr.load(target, checksum=False)
    assert got.shape == shape and float(got.min()) == NEW_VALUE
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]
