"""Tests of holocorr._validate: input checks and their messages."""

import inspect
import warnings

import numpy as np
import pytest
import xarray as xr

import holocorr.holography
from holocorr._validate import (
    as_dataarray,
    axis_step,
    check_choice,
    check_finite,
    check_positive,
    real_image,
    spatial_units_to_nm,
    user_stacklevel,
)
from holocorr.errors import (
    CalibrationError,
    DataError,
    ParameterError,
    ShapeError,
    UncalibratedWarning,
)


def image(shape=(16, 20), dims=("y", "x"), dtype=np.float64):
    return xr.DataArray(np.zeros(shape, dtype), dims=dims)


def public_like_wrapper(data):
    """Mirrors a public function that validates its input through a private helper."""
    return _private_helper(data)


def _private_helper(data):
    return as_dataarray(data, name="hologram")


# ----------------------------------------------------------------- as_dataarray


def test_dataarray_with_right_dims_passes_through_unchanged():
    da = image()
    assert as_dataarray(da, name="image") is da
    stack = image((3, 16, 20), ("frame", "y", "x"))
    assert as_dataarray(stack, name="image") is stack
    spec = xr.DataArray(np.zeros(5), dims=("energy",))
    assert as_dataarray(spec, name="spectrum", dims=("energy",), leading=()) is spec


@pytest.mark.parametrize(
    ("dims", "match"),
    [
        (("x", "y"), r"expected the last dims to be \('y', 'x'\).*transpose"),
        (("row", "col"), r"expected the last dims to be \('y', 'x'\)"),
        (("y", "x", "frame"), r"expected the last dims to be \('y', 'x'\)"),
        (("time", "y", "x"), r"only \('frame',\) may precede"),
        (("frame", "frame2", "y", "x"), r"only \('frame',\) may precede"),
    ],
)
def test_dataarray_with_wrong_dims(dims, match):
    da = xr.DataArray(np.zeros((2,) * len(dims)), dims=dims)
    with pytest.raises(ShapeError, match=match):
        as_dataarray(da, name="image")


def test_dataarray_with_too_few_dims():
    with pytest.raises(ShapeError, match=r"has dims \('x',\)"):
        as_dataarray(xr.DataArray(np.zeros(4), dims=("x",)), name="image")


def test_non_numeric_dataarray():
    da = xr.DataArray(np.array([["a", "b"], ["c", "d"]]), dims=("y", "x"))
    with pytest.raises(DataError, match="dtype <U1; expected a numeric array"):
        as_dataarray(da, name="image")


def test_dataset_is_refused_with_a_hint():
    ds = xr.Dataset({"phase": image()})
    with pytest.raises(
        ShapeError, match=r"xarray.Dataset; pass one of its variables, e.g. ds\['phase'\]"
    ):
        as_dataarray(ds, name="phase")


@pytest.mark.parametrize(
    ("data", "exc", "match"),
    [
        ("hologram.dm4", DataError, "is a string"),
        (b"\x00\x01", DataError, "is a string"),
        (np.array([[object(), 1], [2, 3]], dtype=object), DataError, "dtype object"),
        (np.array([["a", "b"], ["c", "d"]]), DataError, "dtype <U1"),
        ([[1, 2, 3], [4, 5]], DataError, "could not be converted"),
        (
            np.zeros(8),
            ShapeError,
            r"1 dimension\(s\) with shape \(8,\); expected 2 \(y, x\) or up to 3",
        ),
        (np.zeros((2, 2, 4, 4)), ShapeError, r"4 dimension\(s\)"),
        (np.float64(3.0), ShapeError, r"0 dimension\(s\)"),
    ],
)
def test_bad_plain_input(data, exc, match):
    with pytest.raises(exc, match=match):
        as_dataarray(data, name="hologram")


def test_three_dims_refused_without_leading():
    with pytest.raises(ShapeError, match=r"expected 2 \(y, x\)\.$"):
        as_dataarray(np.zeros((2, 4, 4)), name="image", leading=())


def test_plain_array_gets_pixel_coords_and_warning():
    arr = np.arange(12.0).reshape(3, 4)
    with pytest.warns(UncalibratedWarning, match="hologram is a plain array without calibration"):
        da = as_dataarray(arr, name="hologram")
    assert da.dims == ("y", "x")
    np.testing.assert_array_equal(da.values, arr)
    np.testing.assert_array_equal(da["y"].values, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(da["x"].values, [0.0, 1.0, 2.0, 3.0])
    for dim in ("y", "x"):
        assert da[dim].attrs["units"] == "px"
        assert da[dim].attrs["long_name"] == dim
    assert axis_step(da, "x") == (1.0, "px")


def test_plain_stack_and_list_input():
    with pytest.warns(UncalibratedWarning):
        da = as_dataarray(np.zeros((2, 3, 4), np.float32), name="stack")
    assert da.dims == ("frame", "y", "x") and da.dtype == np.float32
    np.testing.assert_array_equal(da["frame"].values, [0.0, 1.0])
    with pytest.warns(UncalibratedWarning):
        da = as_dataarray([[1, 2], [3, 4]], name="image")
    assert da.dims == ("y", "x")
    np.testing.assert_array_equal(da.values, [[1, 2], [3, 4]])


def test_warning_points_at_the_callers_line_direct_call():
    with pytest.warns(UncalibratedWarning) as rec:
        line = inspect.currentframe().f_lineno + 1
        as_dataarray(np.zeros((4, 4)), name="image")
    assert rec[0].filename == __file__
    assert rec[0].lineno == line


def test_warning_points_at_the_callers_line_through_wrappers():
    # The wrappers here live in this (non-holocorr) file, so the warning names
    # the first of them outside holocorr: _private_helper's as_dataarray call.
    with pytest.warns(UncalibratedWarning) as rec:
        public_like_wrapper(np.zeros((4, 4)))
    assert rec[0].filename == __file__
    assert rec[0].lineno == inspect.getsourcelines(_private_helper)[1] + 1


def test_warning_points_at_the_users_line_through_find_sideband():
    # a 64x64 hologram with 4.3 px fringes at 30 degrees, as a plain array
    y, x = np.mgrid[0:64, 0:64].astype(np.float64)
    k = 1 / 4.3
    fy, fx = k * np.sin(np.deg2rad(30)), k * np.cos(np.deg2rad(30))
    holo = 100.0 * (1 + 0.3 * np.cos(2 * np.pi * (fy * y + fx * x)))
    with pytest.warns(UncalibratedWarning) as rec:
        line = inspect.currentframe().f_lineno + 1
        sb = holocorr.holography.find_sideband(holo)
    assert [w.filename for w in rec] == [__file__]
    assert rec[0].lineno == line
    assert sb.spacing_px == pytest.approx(4.3, abs=0.01)


def test_user_stacklevel_counts_package_frames():
    # called from a test (outside the package) it is 1: the calling function itself
    assert user_stacklevel() == 1


# ----------------------------------------------------------------- real_image


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        (np.full((8, 8), 65535), np.uint16, np.float32),
        (np.full((8, 8), 255), np.uint8, np.float32),
        (np.full((8, 8), -100), np.int8, np.float32),
        (np.full((8, 8), 2**24), np.int64, np.float32),  # exactly representable
        (np.full((8, 8), -(2**24)), np.int32, np.float32),
        (np.full((8, 8), 2**24 + 1), np.int64, np.float64),
        (np.full((8, 8), -(2**24) - 1), np.int32, np.float64),
        (np.full((8, 8), 2**40 + 3), np.uint64, np.float64),
        (np.full((8, 8), 1.5), np.float16, np.float32),
    ],
)
def test_real_image_dtype_rules(values, dtype, expected):
    src = values.astype(dtype)
    saved = src.copy()
    out = real_image(xr.DataArray(src, dims=("y", "x")), name="image")
    assert out.dtype == expected
    # the conversion is exact: every value survives
    np.testing.assert_array_equal(out.astype(np.float64), values.astype(np.float64))
    np.testing.assert_array_equal(src, saved)


def test_real_image_keeps_floats_without_copy():
    for dtype in (np.float32, np.float64):
        src = np.ones((8, 9), dtype)
        out = real_image(xr.DataArray(src, dims=("y", "x")), name="image")
        assert out.dtype == dtype
        assert np.shares_memory(out, src)


def test_real_image_big_value_in_only_one_pixel():
    src = np.zeros((8, 8), np.int64)
    src[5, 6] = 2**24 + 1
    out = real_image(xr.DataArray(src, dims=("y", "x")), name="image")
    assert out.dtype == np.float64 and out[5, 6] == 2**24 + 1


@pytest.mark.parametrize(
    ("arr", "exc", "match"),
    [
        (np.ones((8, 8), bool), DataError, "dtype bool; expected real numbers"),
        (np.ones((8, 8), np.complex64), DataError, "is complex.*amplitude or phase"),
        (np.array([["a"] * 8] * 8), DataError, "expected real numbers"),
        (np.zeros((0, 8)), ShapeError, r"empty \(shape \(0, 8\)\)"),
        (np.zeros((3, 0, 8)), ShapeError, "empty"),
        (
            np.zeros((4, 100)),
            ShapeError,
            r"shape \(4, 100\); each image axis needs at least 8 pixels",
        ),
        (np.zeros((2, 100, 7)), ShapeError, "at least 8 pixels"),
        (np.zeros(64), ShapeError, "two axes"),
        (np.array(5.0), ShapeError, "two axes"),
    ],
)
def test_real_image_refuses(arr, exc, match):
    with pytest.raises(exc, match=match):
        real_image(arr, name="image")


def test_real_image_min_size():
    assert real_image(np.zeros((16, 16)), name="image", min_size=16).shape == (16, 16)
    with pytest.raises(ShapeError, match="at least 17 pixels"):
        real_image(np.zeros((16, 16)), name="image", min_size=17)


# ----------------------------------------------------------------- check_finite


def test_check_finite_names_count_and_first_index():
    a = np.zeros((5, 6))
    a[4, 1] = np.inf
    a[2, 3] = np.nan
    a[3, 0] = -np.inf
    with pytest.raises(
        DataError, match=r"phase has 3 NaN or infinite value\(s\) \(first at index \(2, 3\)\)"
    ):
        check_finite(a, name="phase")


def test_check_finite_accepts_finite_and_integer_arrays():
    check_finite(np.zeros((3, 3), np.float32), name="a")
    check_finite(np.arange(9).reshape(3, 3), name="a")
    with pytest.raises(DataError, match=r"1 NaN.*\(0, 1, 0\)"):
        check_finite(np.array([[[0.0], [np.nan]]], np.float32), name="stack")


# ----------------------------------------------------------------- check_choice


def test_check_choice():
    assert check_choice("side", "upper", ("upper", "lower")) == "upper"
    assert check_choice("side", np.str_("lower"), ("upper", "lower")) == "lower"
    with pytest.raises(
        ParameterError, match=r"side='left' is not allowed; choose one of 'upper', 'lower'\."
    ):
        check_choice("side", "left", ("upper", "lower"))
    with pytest.raises(ParameterError, match="choose one of 'upper', 'lower'"):
        check_choice("side", "UPPER", ["upper", "lower"])
    with pytest.raises(ParameterError):
        check_choice("side", None, ("upper", "lower"))


def test_check_choice_numbers():
    assert check_choice("order", 2, (1, 2, 3)) == 2
    assert check_choice("order", np.int64(3), (1, 2, 3)) == 3
    assert check_choice("order", 1000, (1000, 2000)) == 1000
    with pytest.raises(ParameterError, match="order=True is not allowed"):
        check_choice("order", True, (1, 2))
    with pytest.raises(ParameterError, match="choose one of 1, 2"):
        check_choice("order", "1", (1, 2))


# ----------------------------------------------------------------- check_positive


def test_check_positive_accepts():
    assert check_positive("sigma", 2) == 2.0 and type(check_positive("sigma", 2)) is float
    assert check_positive("sigma", np.float32(2.5)) == 2.5
    assert check_positive("sigma", np.int64(7)) == 7.0
    assert check_positive("sigma", 0, allow_zero=True) == 0.0
    assert check_positive("sigma", 1e-300) == 1e-300


@pytest.mark.parametrize(
    ("value", "kwargs", "match"),
    [
        (True, {}, "sigma must be a number in nm, got True"),
        ("1.0", {}, "must be a number in nm, got '1.0'"),
        (None, {}, "must be a number"),
        (1 + 2j, {}, "must be a number"),
        (float("nan"), {}, "finite and > 0 nm, got nan"),
        (np.inf, {}, "finite and > 0 nm, got inf"),
        (-np.inf, {"allow_zero": True}, "finite and >= 0 nm"),
        (-1.0, {}, "finite and > 0 nm, got -1.0"),
        (-1e-9, {"allow_zero": True}, ">= 0 nm"),
        (0, {}, "finite and > 0 nm, got 0"),
        (0.0, {}, "> 0"),
    ],
)
def test_check_positive_refuses(value, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        check_positive("sigma", value, unit="nm", **kwargs)


def test_check_positive_message_without_unit():
    with pytest.raises(ParameterError, match=r"^n must be finite and > 0, got -3\.$"):
        check_positive("n", -3)


# ----------------------------------------------------------------- axis_step


def coord_da(values, units="nm"):
    attrs = {} if units is None else {"units": units}
    return xr.DataArray(
        np.zeros(len(values)), dims=("x",), coords={"x": ("x", np.asarray(values), attrs)}
    )


def test_axis_step_known_steps():
    step, units = axis_step(coord_da(0.25 * np.arange(10) - 3.0), "x")
    assert step == pytest.approx(0.25, rel=1e-12) and units == "nm"
    # float32 coordinates of a 4096-px image, rounding noise must pass
    c = (0.0123 * np.arange(4096)).astype(np.float32)
    step, units = axis_step(coord_da(c, "µm"), "x")
    assert step == pytest.approx(0.0123, rel=1e-5) and units == "µm"


def test_axis_step_missing_coord_or_units():
    assert axis_step(xr.DataArray(np.zeros(5), dims=("x",)), "x") == (1.0, "px")
    assert axis_step(coord_da(2.0 * np.arange(5), units=None), "x") == (2.0, "px")
    assert axis_step(coord_da([3.0]), "x") == (1.0, "nm")


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.arange(5.0)[::-1], r"'x' is not ascending \(step -1 nm\).*sortby"),
        ([0.0, 1.0, 2.0, 4.0, 5.0], r"not uniformly spaced \(steps from 1 to 2 nm\)"),
        ([0.0, 1.0, 0.5, 1.5], "not uniformly spaced"),
        ([2.0, 2.0, 2.0], r"zero step \(all values 2 nm\)"),
        ([0.0, np.nan, 2.0], "NaN or infinite"),
        ([0.0, 1.0, np.inf], "NaN or infinite"),
        (np.array(["a", "b", "c"]), "expected numbers"),
    ],
)
def test_axis_step_bad_coords(values, match):
    with pytest.raises(CalibrationError, match=match):
        axis_step(coord_da(values), "x")


# ----------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("units", "factor"),
    [
        ("nm", 1.0),
        (" nm ", 1.0),
        ("NM", 1.0),
        ("nanometer", 1.0),
        ("nanometers", 1.0),
        ("nanometre", 1.0),
        ("nanometres", 1.0),
        ("\u00b5m", 1e3),  # MICRO SIGN
        ("\u03bcm", 1e3),  # GREEK SMALL LETTER MU
        ("um", 1e3),
        ("micron", 1e3),
        ("microns", 1e3),
        ("micrometer", 1e3),
        ("micrometers", 1e3),
        ("micrometre", 1e3),
        ("micrometres", 1e3),
        ("\u00c5", 0.1),  # LATIN CAPITAL LETTER A WITH RING ABOVE
        ("\u212b", 0.1),  # ANGSTROM SIGN
        ("\u00e5", 0.1),
        ("A", 0.1),
        ("angstrom", 0.1),
        ("Angstrom", 0.1),
        ("angstroms", 0.1),
        ("\u00c5ngstr\u00f6m", 0.1),
        ("pm", 1e-3),
        ("picometer", 1e-3),
        ("picometre", 1e-3),
        ("picometres", 1e-3),
        ("m", 1e9),
        ("meter", 1e9),
        ("metre", 1e9),
        ("mm", 1e6),
        ("millimetre", 1e6),
    ],
)
def test_spatial_units_to_nm(units, factor):
    assert spatial_units_to_nm(units) == pytest.approx(factor, rel=1e-15)


@pytest.mark.parametrize("units", [None, "", "px", "1/nm", "eV", "nm^-1", "rad", "s"])
def test_spatial_units_to_nm_non_lengths(units):
    assert spatial_units_to_nm(units) is None


def test_no_warnings_for_calibrated_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_dataarray(image(), name="image")
