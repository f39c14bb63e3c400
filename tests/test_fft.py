"""Tests of holocorr._fft against numpy.fft, analytic spectra and FFTW wisdom behaviour."""

import concurrent.futures
import gc
import os
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest
import scipy.fft

import holocorr
import holocorr._atomic
from holocorr import _fft
from holocorr.errors import DataError, HolocorrWarning, ParameterError, ShapeError

pyfftw = pytest.importorskip("pyfftw")

SHAPES = [(7, 9), (8, 6), (5, 12), (12, 5), (3, 7, 9), (2, 3, 8, 10)]
BACKENDS = ["scipy", "pyfftw"]
TOL = {np.float32: 1e-5, np.float64: 1e-12}
CDTYPE = {np.float32: np.complex64, np.float64: np.complex128}


def assert_close(out, ref, dtype):
    """Element-wise agreement relative to the largest magnitude of the reference."""
    tol = TOL[dtype]
    scale = float(np.max(np.abs(ref))) or 1.0
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * scale)


@pytest.fixture
def fresh_fft_state(monkeypatch):
    """A fresh per-thread plan cache and 'nothing loaded from disk yet' (like a new process)."""
    monkeypatch.setattr(_fft, "_local", threading.local())
    monkeypatch.setattr(_fft, "_loaded_dirs", set())


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    opts = {"fft_backend": request.param}
    if request.param == "pyfftw":
        opts.update(fft_planner="estimate", fft_wisdom_dir=str(tmp_path / "wisdom"))
    with holocorr.set_options(**opts):
        yield request.param


class ScipySpy:
    """Stands in for scipy.fft inside holocorr._fft and records which transforms ran."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        if name in ("rfft2", "irfft2", "fft2", "ifft2"):
            self.calls.append(name)
        return getattr(scipy.fft, name)


@pytest.fixture
def scipy_spy(monkeypatch):
    spy = ScipySpy()
    monkeypatch.setattr(_fft, "sfft", spy)
    return spy


def rng_array(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ----------------------------------------------------------------- numerics


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_rfft2_matches_numpy(backend, shape, dtype):
    a = rng_array(shape, dtype)
    out = _fft.rfft2(a)
    assert out.dtype == CDTYPE[dtype]
    assert out.shape == shape[:-1] + (shape[-1] // 2 + 1,)
    assert_close(out, np.fft.rfft2(a.astype(np.float64)), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_irfft2_matches_numpy(backend, shape, dtype):
    img = rng_array(shape, np.float64, seed=1)
    half = np.fft.rfft2(img).astype(CDTYPE[dtype])
    out = _fft.irfft2(half, shape[-2:])
    assert out.dtype == dtype
    assert out.shape == shape
    assert_close(out, np.fft.irfft2(half.astype(np.complex128), s=shape[-2:]), dtype)
    assert_close(out, img, dtype)  # the round trip gives the image back


@pytest.mark.parametrize("norm", ["backward", "forward", "ortho"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 9), (8, 6), (2, 5, 12)])
def test_fft2_ifft2_match_numpy_norms(backend, shape, dtype, norm):
    rng = np.random.default_rng(2)
    c = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(CDTYPE[dtype])
    ref_in = c.astype(np.complex128)
    f = _fft.fft2(c, norm=norm)
    i = _fft.ifft2(c, norm=norm)
    assert f.dtype == CDTYPE[dtype] and i.dtype == CDTYPE[dtype]
    assert_close(f, np.fft.fft2(ref_in, norm=norm), dtype)
    assert_close(i, np.fft.ifft2(ref_in, norm=norm), dtype)
    # scipy.fft semantics as well
    assert_close(f, scipy.fft.fft2(ref_in, norm=norm), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fft2_of_real_input_promotes_to_matching_complex(backend, dtype):
    a = rng_array((6, 10), dtype)
    out = _fft.fft2(a)
    assert out.dtype == CDTYPE[dtype]
    assert_close(out, np.fft.fft2(a.astype(np.float64)), dtype)


def test_complex64_stays_complex64_with_numpy_int_sizes(backend):
    # NumPy 2 promotion: a numpy int64 scale factor would upcast; the result must not.
    c = np.ones((4, 6), np.complex64)
    for norm in ("backward", "forward", "ortho"):
        assert _fft.ifft2(c, norm=norm).dtype == np.complex64
        assert _fft.fft2(c, norm=norm).dtype == np.complex64
    assert _fft.irfft2(np.ones((4, 4), np.complex64), (4, 6)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rfft2_of_cosine_has_analytic_peak(backend, dtype):
    # cos(2 pi (ky y / M + kx x / N)) has spectrum M N / 2 at (ky, kx) and ~0 elsewhere.
    m, n, ky, kx = 24, 30, 5, 7
    y, x = np.mgrid[0:m, 0:n]
    a = np.cos(2 * np.pi * (ky * y / m + kx * x / n)).astype(dtype)
    out = _fft.rfft2(a)
    expected = np.zeros((m, n // 2 + 1), np.complex128)
    expected[ky, kx] = m * n / 2
    np.testing.assert_allclose(out, expected, atol=TOL[dtype] * m * n)


def test_float16_and_integer_input(backend):
    h = np.arange(48, dtype=np.float16).reshape(6, 8)
    assert _fft.rfft2(h).dtype == np.complex64
    i = np.arange(48, dtype=np.int16).reshape(6, 8)
    out = _fft.rfft2(i)
    assert out.dtype == np.complex128
    assert out[0, 0] == pytest.approx(np.arange(48).sum())


def test_empty_stack_gives_empty_result(backend):
    assert _fft.rfft2(np.zeros((0, 8, 8), np.float32)).shape == (0, 8, 5)
    assert _fft.fft2(np.zeros((0, 6, 4), np.complex64)).shape == (0, 6, 4)


def test_non_contiguous_and_fortran_inputs(backend):
    base = rng_array((20, 26), np.float32, seed=3)
    for a in (base[::2, 1::3], np.asfortranarray(base), base.T, base[2:9, 3:14]):
        assert_close(_fft.rfft2(a), np.fft.rfft2(a.astype(np.float64)), np.float32)
        c = a.astype(np.complex64)
        assert_close(_fft.fft2(c), np.fft.fft2(c.astype(np.complex128)), np.float32)
    reversed_half = np.ascontiguousarray(np.fft.rfft2(base).astype(np.complex64)[:, ::-1])
    half = reversed_half[:, ::-1]  # the half spectrum as a view with negative strides
    assert half.strides[1] < 0
    assert_close(_fft.irfft2(half, base.shape), base, np.float32)


def test_irfft2_with_other_spectrum_size_crops_or_pads_like_scipy(backend):
    half = np.fft.rfft2(rng_array((8, 10), np.float64))
    for shape in ((8, 14), (6, 10)):
        assert_close(_fft.irfft2(half, shape), np.fft.irfft2(half, s=shape), np.float64)


def test_inputs_are_not_modified(backend):
    a = rng_array((9, 12), np.float32)
    c = a.astype(np.complex64) * (1 + 0.5j)
    half = np.fft.rfft2(a).astype(np.complex64)
    saved = [a.copy(), c.copy(), half.copy()]
    _fft.rfft2(a)
    _fft.fft2(c)
    _fft.ifft2(c, norm="ortho")
    _fft.irfft2(half, a.shape)  # FFTW c2r overwrites its input unless given a copy
    _fft.irfft2(half, a.shape)
    for before, after in zip(saved, (a, c, half), strict=True):
        np.testing.assert_array_equal(after, before)


def test_earlier_input_is_not_overwritten_by_a_later_call(backend):
    # pyfftw.FFTW.__call__ copies a mismatched input into the previous call's array.
    first = rng_array((10, 12), np.float64, seed=4)
    saved = first.copy()
    _fft.rfft2(first)
    second = rng_array((12, 10), np.float64, seed=5).T  # same shape, other strides
    out = _fft.rfft2(second)
    np.testing.assert_array_equal(first, saved)
    assert_close(out, np.fft.rfft2(second), np.float64)
    third = np.asfortranarray(rng_array((10, 12), np.float64, seed=6)).astype(np.complex128)
    _fft.fft2(first.astype(np.complex128))
    _fft.fft2(third)
    np.testing.assert_array_equal(first, saved)


def test_no_reference_to_user_data_is_kept(backend):
    a = rng_array((16, 18), np.float32)
    ref = weakref.ref(a)
    _fft.rfft2(a)
    del a
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize(
    ("n", "real"),
    [(1, True), (97, True), (97, False), (1021, True), (1025, True), (4097, True), (243, False)],
)
def test_next_fast_len(n, real):
    def smooth(k, primes):
        for p in primes:
            while k % p == 0:
                k //= p
        return k == 1

    primes = (2, 3, 5) if real else (2, 3, 5, 7, 11)
    expected = next(k for k in range(n, 2 * n + 2) if smooth(k, primes))
    assert _fft.next_fast_len(n, real=real) == expected


def test_next_fast_len_known_values():
    assert _fft.next_fast_len(1021, real=True) == 1024
    assert _fft.next_fast_len(97, real=True) == 100
    assert _fft.next_fast_len(4097, real=True) == 4320


# ----------------------------------------------------------------- bad input


def test_bad_inputs_raise_holocorr_errors():
    with pytest.raises(DataError, match="real input"):
        _fft.rfft2(np.ones((4, 4), np.complex64))
    with pytest.raises(ShapeError, match=r"\(\.\.\., M, N\)"):
        _fft.rfft2(np.ones(8))
    with pytest.raises(ShapeError, match="shape"):
        _fft.fft2(np.ones((0, 4)))
    with pytest.raises(ParameterError, match="'backward', 'forward', 'ortho'"):
        _fft.fft2(np.ones((4, 4)), norm="unitary")
    with pytest.raises(ParameterError, match="threads"):
        _fft.rfft2(np.ones((4, 4)), threads=0)
    with pytest.raises(ShapeError, match=r"\(M, N\)"):
        _fft.irfft2(np.ones((4, 3), np.complex64), (4, 4, 4))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shape": (64,)}, "two positive integers"),
        ({"shape": (0, 64)}, "two positive integers"),
        ({"shape": (64.5, 64)}, "two positive integers"),
        ({"shape": (True, 64)}, "two positive integers"),
        ({"shape": "64x64"}, "two positive integers"),
        ({"shape": 64}, "two positive integers"),
        ({"shape": (8, 8), "dtype": "complex64"}, "'float32', 'float64'"),
        ({"shape": (8, 8), "dtype": "bogus"}, "'float32', 'float64'"),
        ({"shape": (8, 8), "dtype": None}, "'float32', 'float64'"),
        ({"shape": (8, 8), "kinds": ("dct",)}, "'rfft2', 'irfft2', 'fft2', 'ifft2'"),
        ({"shape": (8, 8), "threads": 0}, "positive integer"),
    ],
)
def test_plan_fft_bad_arguments(kwargs, match, tmp_path):
    with (
        holocorr.set_options(fft_wisdom_dir=str(tmp_path)),
        pytest.raises(ParameterError, match=match),
    ):
        holocorr.plan_fft(**kwargs)
    assert not any(tmp_path.iterdir())  # nothing planned or written


# ----------------------------------------------------------------- pyFFTW and wisdom


def _wisdom_files(d):
    return sorted(p.name for p in d.iterdir() if p.name.startswith("fftw_wisdom_"))


def test_plan_fft_writes_wisdom_and_auto_then_uses_pyfftw(tmp_path, fresh_fft_state, scipy_spy):
    wisdom = tmp_path / "w"
    shape = (46, 40)
    a = rng_array(shape, np.float32, seed=7)
    with holocorr.set_options(fft_wisdom_dir=str(wisdom), fft_backend="auto", fft_threads=1):
        # This thread looks the transforms up before any plan exists (a miss is
        # remembered), then a set-up thread plans: the miss must be forgotten.
        _fft.rfft2(a)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(
                holocorr.plan_fft, shape, dtype="float32", kinds=("rfft2", "irfft2")
            ).result()
        assert _wisdom_files(wisdom) == [
            "fftw_wisdom_d.txt",
            "fftw_wisdom_f.txt",
            "fftw_wisdom_l.txt",
        ]
        assert (wisdom / "fftw_wisdom_f.txt").read_bytes().startswith(b"(fftw-3")
        assert not [p for p in wisdom.iterdir() if p.name.startswith(".")]  # no temp files left
        scipy_spy.calls.clear()
        out = _fft.rfft2(a)
        back = _fft.irfft2(out, shape)
    assert scipy_spy.calls == []  # both transforms ran through FFTW
    assert isinstance(_fft._plans()[("rfft2", shape, "<f4", 1)], _fft._Plan)
    assert out.dtype == np.complex64 and back.dtype == np.float32
    assert_close(out, np.fft.rfft2(a.astype(np.float64)), np.float32)
    assert_close(back, a, np.float32)


def test_auto_uses_planned_image_transform_for_stacks(tmp_path, fresh_fft_state, scipy_spy):
    shape = (36, 50)
    stack = rng_array((3,) + shape, np.float64, seed=8)
    with holocorr.set_options(fft_wisdom_dir=str(tmp_path), fft_backend="auto", fft_threads=1):
        holocorr.plan_fft(shape, dtype="float64", kinds=("rfft2", "fft2"))
        scipy_spy.calls.clear()
        out = _fft.rfft2(stack)
        full = _fft.fft2(stack.astype(np.complex128), norm="ortho")
    assert scipy_spy.calls == []
    assert_close(out, np.fft.rfft2(stack), np.float64)
    assert_close(full, np.fft.fft2(stack, norm="ortho"), np.float64)


def test_auto_falls_back_to_scipy_for_unplanned_shape(tmp_path, fresh_fft_state, scipy_spy):
    shape = (44, 38)  # never planned anywhere in these tests
    a = rng_array(shape, np.float32, seed=9)
    with holocorr.set_options(fft_wisdom_dir=str(tmp_path), fft_backend="auto", fft_threads=1):
        out = _fft.rfft2(a)
        out2 = _fft.rfft2(a)  # the remembered miss gives the same answer
    assert scipy_spy.calls == ["rfft2", "rfft2"]
    assert not isinstance(_fft._plans().get(("rfft2", shape, "<f4", 1)), _fft._Plan)
    assert_close(out, np.fft.rfft2(a.astype(np.float64)), np.float32)
    np.testing.assert_array_equal(out, out2)
    assert _wisdom_files(tmp_path) == []  # auto never writes wisdom


def test_scipy_backend_never_uses_pyfftw(tmp_path, fresh_fft_state, scipy_spy):
    shape = (48, 40)
    with holocorr.set_options(fft_wisdom_dir=str(tmp_path), fft_threads=1):
        holocorr.plan_fft(shape)
        with holocorr.set_options(fft_backend="scipy"):
            _fft.rfft2(np.zeros(shape, np.float32))
    assert scipy_spy.calls == ["rfft2"]


def test_wisdom_on_disk_is_used_by_a_new_process(tmp_path):
    shape = (30, 42)
    with holocorr.set_options(fft_wisdom_dir=str(tmp_path), fft_threads=1):
        holocorr.plan_fft(shape, dtype="float32")
    code = (
        "import numpy as np, holocorr\n"
        "from holocorr import _fft\n"
        f"holocorr.set_options(fft_wisdom_dir={str(tmp_path)!r}, fft_threads=1)\n"
        f"plan = _fft._get_plan('rfft2', {shape!r}, np.dtype('float32'), 1,"
        " plan_if_missing=False)\n"
        f"a = np.random.default_rng(0).standard_normal({shape!r}).astype(np.float32)\n"
        "err = np.abs(_fft.rfft2(a) - np.fft.rfft2(a.astype(float))).max()\n"
        "print(plan is not None, float(err))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert res.returncode == 0, res.stderr
    found, err = res.stdout.split()
    assert found == "True"
    assert float(err) < 1e-4


@pytest.mark.parametrize(
    "garbage", [b"not wisdom at all", b"(fftw-3.3.5 fftwf_wisdom #x1 (bad", b"\x00\xff\xfe" * 50]
)
def test_corrupt_wisdom_files_are_ignored(tmp_path, fresh_fft_state, garbage):
    for s in ("d", "f", "l"):
        (tmp_path / f"fftw_wisdom_{s}.txt").write_bytes(garbage)
    a = rng_array((20, 22), np.float32, seed=10)
    with holocorr.set_options(fft_wisdom_dir=str(tmp_path), fft_backend="auto", fft_threads=1):
        with pytest.warns(HolocorrWarning, match=r"ignored the FFTW wisdom file\(s\)") as rec:
            assert_close(_fft.rfft2(a), np.fft.rfft2(a.astype(np.float64)), np.float32)
        assert len(rec) == 1  # once per folder, not per transform
        msg = str(rec[0].message)
        assert all(f"fftw_wisdom_{s}.txt" in msg for s in "dfl") and str(tmp_path) in msg
        assert "plan_fft" in msg  # the fix
        with holocorr.set_options(fft_backend="pyfftw", fft_planner="estimate"):
            assert_close(_fft.rfft2(a), np.fft.rfft2(a.astype(np.float64)), np.float32)
    # planning replaced the corrupt single-precision file with valid wisdom
    assert (tmp_path / "fftw_wisdom_f.txt").read_bytes().startswith(b"(fftw-3")


def test_truncated_wisdom_file_is_ignored_with_a_warning(tmp_path, fresh_fft_state, monkeypatch):
    """What a writer killed mid-write would leave (holocorr renames complete files into place)."""
    with holocorr.set_options(fft_wisdom_dir=str(tmp_path), fft_planner="estimate", fft_threads=1):
        holocorr.plan_fft((26, 34), dtype="float64")
    full = (tmp_path / "fftw_wisdom_d.txt").read_bytes()
    assert len(full) > 100  # holds the plan, not only the header
    (tmp_path / "fftw_wisdom_d.txt").write_bytes(full[: len(full) // 2])
    monkeypatch.setattr(_fft, "_loaded_dirs", set())  # as in a new process
    monkeypatch.setattr(_fft, "_local", threading.local())
    a = rng_array((26, 34), np.float64, seed=15)
    with holocorr.set_options(fft_wisdom_dir=str(tmp_path), fft_backend="auto", fft_threads=1):
        with pytest.warns(HolocorrWarning, match=r"\['fftw_wisdom_d.txt'\].*truncated, damaged"):
            out = _fft.rfft2(a)
        assert_close(out, np.fft.rfft2(a), np.float64)
        with holocorr.set_options(fft_planner="estimate"):
            holocorr.plan_fft((26, 34), dtype="float64")  # rewrites the file, complete
    again = (tmp_path / "fftw_wisdom_d.txt").read_bytes()
    assert again.startswith(b"(fftw-3") and again.endswith(b")\n")
    assert pyfftw.import_wisdom((again, b"", b""))[0]


def test_wisdom_write_failing_mid_file_keeps_previous_files(tmp_path, fresh_fft_state, monkeypatch):
    with holocorr.set_options(fft_wisdom_dir=str(tmp_path), fft_planner="estimate", fft_threads=1):
        holocorr.plan_fft((22, 30), dtype="float32")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(before) == ["fftw_wisdom_d.txt", "fftw_wisdom_f.txt", "fftw_wisdom_l.txt"]
    attempts = []

    def half_then_disk_full(fd, data):
        attempts.append(len(data))
        os.write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(holocorr._atomic, "_write_all", half_then_disk_full)
    a = rng_array((18, 34), np.float32, seed=16)
    with holocorr.set_options(
        fft_wisdom_dir=str(tmp_path), fft_backend="pyfftw", fft_planner="estimate", fft_threads=1
    ):
        assert_close(_fft.rfft2(a), np.fft.rfft2(a.astype(np.float64)), np.float32)  # no crash
    assert attempts  # the write was tried, and failed half-way
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # complete old files only


def test_unreadable_wisdom_file_is_ignored(tmp_path, fresh_fft_state):
    (tmp_path / "fftw_wisdom_f.txt").mkdir()  # a folder where a file should be
    a = rng_array((20, 22), np.float32, seed=11)
    with holocorr.set_options(
        fft_wisdom_dir=str(tmp_path), fft_backend="pyfftw", fft_planner="estimate"
    ):
        assert_close(_fft.rfft2(a), np.fft.rfft2(a.astype(np.float64)), np.float32)
        holocorr.plan_fft((20, 22))


def test_wisdom_dir_below_a_file_does_not_crash(tmp_path, fresh_fft_state):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    bad = blocker / "wisdom"  # cannot be created, not even by root
    a = rng_array((18, 26), np.float64, seed=12)
    with holocorr.set_options(
        fft_wisdom_dir=str(bad), fft_backend="pyfftw", fft_planner="estimate"
    ):
        assert_close(_fft.rfft2(a), np.fft.rfft2(a), np.float64)
        holocorr.plan_fft((18, 26), dtype="float64")
    assert blocker.read_text() == "x"


def test_failing_wisdom_write_does_not_crash_or_leave_temp_files(
    tmp_path, fresh_fft_state, monkeypatch
):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(_fft.os, "replace", refuse)  # the folder turned read-only mid-write
    a = rng_array((14, 30), np.float32, seed=14)
    with holocorr.set_options(
        fft_wisdom_dir=str(tmp_path), fft_backend="pyfftw", fft_planner="estimate"
    ):
        assert_close(_fft.rfft2(a), np.fft.rfft2(a.astype(np.float64)), np.float32)
        holocorr.plan_fft((14, 30))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere"
)
def test_read_only_wisdom_dir_does_not_crash(tmp_path, fresh_fft_state):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        a = rng_array((18, 26), np.float32, seed=13)
        with holocorr.set_options(
            fft_wisdom_dir=str(ro), fft_backend="pyfftw", fft_planner="estimate"
        ):
            assert_close(_fft.rfft2(a), np.fft.rfft2(a.astype(np.float64)), np.float32)
            holocorr.plan_fft((18, 26))
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_concurrent_rfft2_from_four_threads(tmp_path):
    shapes = [(32, 40), (33, 27), (32, 40), (16, 64)]
    data = [
        [rng_array(shapes[t], np.float32, seed=100 * t + k) for k in range(15)] for t in range(4)
    ]
    barrier = threading.Barrier(4)

    def work(t):
        barrier.wait()
        out = []
        for a in data[t]:
            f = _fft.rfft2(a)
            out.append((f, _fft.irfft2(f, a.shape)))
        return out

    with holocorr.set_options(
        fft_backend="pyfftw", fft_planner="estimate", fft_wisdom_dir=str(tmp_path), fft_threads=1
    ):
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(work, range(4)))
    for t in range(4):
        for a, (f, back) in zip(data[t], results[t], strict=True):
            assert f.dtype == np.complex64
            assert_close(f, np.fft.rfft2(a.astype(np.float64)), np.float32)
            assert_close(back, a, np.float32)
