"""Tests of holocorr._provenance: hashes and the JSON provenance record."""

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import xxhash

import holocorr
from holocorr._provenance import array_hash, file_sha256, jsonable, provenance

HASH_RE = re.compile(r"^xxh3_128:[0-9a-f]{32}$")


def strict_loads(text):
    """json.loads that refuses the non-standard NaN/Infinity tokens."""

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


# ----------------------------------------------------------------- array_hash


def test_array_hash_format_is_documented_xxh3_over_dtype_shape_bytes():
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    expected = xxhash.xxh3_128(b"<f8(2, 3)" + a.tobytes()).hexdigest()
    assert array_hash(a) == "xxh3_128:" + expected
    assert HASH_RE.match(array_hash(a))


def test_array_hash_ignores_memory_layout():
    rng = np.random.default_rng(0)
    c = rng.standard_normal((7, 9)).astype(np.float32)
    f = np.asfortranarray(c)
    assert f.flags.f_contiguous and not f.flags.c_contiguous
    big = rng.standard_normal((14, 27))
    view = big[::2, ::3]
    assert not view.flags.c_contiguous
    swapped = c.astype(c.dtype.newbyteorder(">"))
    assert array_hash(c) == array_hash(f)
    assert array_hash(view) == array_hash(view.copy())
    assert array_hash(c) == array_hash(swapped)
    assert array_hash(c.T) == array_hash(np.ascontiguousarray(c.T))


def test_array_hash_differs_for_different_dtype_shape_or_content():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    hashes = {
        array_hash(a),
        array_hash(a.astype(np.float32)),
        array_hash(a.astype(np.int64)),
        array_hash(a.reshape(3, 2)),
        array_hash(a.reshape(6)),
        array_hash(a.T),  # same bytes in another order
    }
    assert len(hashes) == 6
    flipped = a.copy()
    flipped.reshape(-1).view(np.uint8)[17] ^= 1  # one bit of one byte (of a[0, 2])
    assert not np.array_equal(flipped, a)
    assert array_hash(flipped) != array_hash(a)
    assert array_hash(np.zeros((0, 3))) != array_hash(np.zeros((3, 0)))


def test_array_hash_of_dataarray_uses_its_values():
    values = np.arange(12.0).reshape(3, 4)
    da = xr.DataArray(values, dims=("y", "x"), coords={"x": np.arange(4) * 0.5}, attrs={"a": 1})
    assert array_hash(da) == array_hash(values)
    assert array_hash(da.transpose("x", "y")) == array_hash(values.T)


def test_array_hash_of_scalars_lists_and_special_dtypes():
    assert array_hash(np.float64(3.0)) == array_hash(np.array(3.0))
    assert array_hash([1, 2, 3]) == array_hash(np.array([1, 2, 3]))
    dates = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")
    assert HASH_RE.match(array_hash(dates))
    assert array_hash(dates) != array_hash(dates[::-1])
    objs = np.array([1, "a", None], dtype=object)
    assert array_hash(objs) == array_hash(np.array([1, "a", None], dtype=object))
    assert array_hash(objs) != array_hash(np.array([1, "b", None], dtype=object))


# ----------------------------------------------------------------- file_sha256


@pytest.mark.parametrize(
    ("content", "digest"),
    [
        (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ],
)
def test_file_sha256_known_digests(tmp_path, content, digest):
    p = tmp_path / "f.bin"
    p.write_bytes(content)
    assert file_sha256(p) == "sha256:" + digest
    assert file_sha256(str(p)) == "sha256:" + digest


def test_file_sha256_of_a_file_larger_than_one_block(tmp_path):
    data = np.random.default_rng(1).integers(0, 256, (5 << 19) + 17, dtype=np.uint8).tobytes()
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    assert file_sha256(p) == "sha256:" + hashlib.sha256(data).hexdigest()


def test_file_sha256_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        file_sha256(tmp_path / "nope.dm4")


# ----------------------------------------------------------------- jsonable


@dataclasses.dataclass
class Roi:
    center: tuple
    radius: np.float32
    path: Path


def test_jsonable_numpy_scalars_keep_python_types():
    out = jsonable({"f": np.float32(0.5), "i": np.int64(3), "b": np.bool_(True), "u": np.uint8(7)})
    assert out == {"f": 0.5, "i": 3, "b": True, "u": 7}
    assert type(out["f"]) is float and type(out["i"]) is int and type(out["b"]) is bool


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (np.float64("nan"), "nan"),
        (np.float32("-inf"), "-inf"),
        (np.longdouble(2.5), 2.5),
    ],
)
def test_jsonable_non_finite_floats_become_strings(value, expected):
    assert jsonable(value) == expected


def test_jsonable_containers_dataclasses_paths():
    roi = Roi(center=(np.int64(10), 20.5), radius=np.float32(4.0), path=Path("/data/h.dm4"))
    out = jsonable({"roi": roi, 3: [(1, 2), {"k": np.float64(0.25)}], "p": Path("a") / "b"})
    assert out == {
        "roi": {"center": [10, 20.5], "radius": 4.0, "path": "/data/h.dm4"},
        "3": [[1, 2], {"k": 0.25}],
        "p": str(Path("a") / "b"),
    }
    assert strict_loads(json.dumps(out)) == out


def test_jsonable_arrays_become_hashes():
    a = np.arange(4.0)
    da = xr.DataArray(a, dims=("x",))
    assert jsonable(a) == array_hash(a)
    assert jsonable({"ref": da}) == {"ref": array_hash(a)}
    ds = xr.Dataset({"phase": da, "amp": da * 2})
    assert jsonable(ds) == {"amp": array_hash(a * 2), "phase": array_hash(a)}


def test_jsonable_is_deterministic_for_sets_and_objects():
    assert jsonable({"b", "a", "c"}) == ["a", "b", "c"]
    assert jsonable(frozenset({3, 1, 2})) == [1, 2, 3]
    for obj in (lambda x: x, object(), np.random.default_rng(0)):
        text = jsonable(obj)
        assert isinstance(text, str)
        assert "0x" not in text  # no memory address: same text in every process
    assert jsonable(1 + 2j) == "(1+2j)"
    assert jsonable(None) is None and jsonable("s") == "s"


# ----------------------------------------------------------------- provenance


def test_provenance_record_keys_and_values():
    img = np.arange(20.0).reshape(4, 5)
    text = provenance(
        "holography.reconstruct",
        {"sigma_nm": np.float32(1.5), "side": "upper", "bad": float("nan"), "shape": (4, 5)},
        {"hologram": img, "reference": None, "file": "sha256:abc"},
    )
    rec = strict_loads(text)
    assert set(rec) == {"holocorr_version", "numpy_version", "function", "parameters", "inputs"}
    assert rec["holocorr_version"] == holocorr.__version__
    assert rec["numpy_version"] == np.__version__
    assert rec["function"] == "holography.reconstruct"
    assert rec["parameters"] == {"sigma_nm": 1.5, "side": "upper", "bad": "nan", "shape": [4, 5]}
    assert rec["inputs"] == {"hologram": array_hash(img), "file": "sha256:abc"}  # None left out
    assert "time" not in text and "date" not in text


def test_provenance_is_deterministic():
    img = np.random.default_rng(2).standard_normal((8, 8))
    a = provenance("f", {"x": 1, "y": [1.0, 2.0], "z": {"b": 2, "a": 1}}, {"image": img})
    b = provenance("f", {"z": {"a": 1, "b": 2}, "y": [1.0, 2.0], "x": 1}, {"image": img.copy()})
    assert a == b
    c = provenance("f", {"x": 2, "y": [1.0, 2.0], "z": {"b": 2, "a": 1}}, {"image": img})
    assert c != a


def test_results_carry_the_provenance_version():
    from holocorr.simulate import hologram

    phi = xr.DataArray(np.zeros((32, 32)), dims=("y", "x"))
    h = hologram(phi, spacing_px=4.0, angle_deg=20.0, contrast=0.3)
    rec = strict_loads(h.attrs["holocorr"])
    assert rec["holocorr_version"] == holocorr.__version__
