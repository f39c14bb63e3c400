"""profile and compare_maps take the same masks: a region dict or a boolean (y, x) map."""

import numpy as np
import pytest
import xarray as xr

from holocorr.correlation import compare_maps, profile
from holocorr.errors import ParameterError


def _map(seed):
    rng = np.random.default_rng(seed)
    y, x = np.arange(40.0), np.arange(60.0)
    v = np.tanh((x[None, :] - 30.0) / 5.0) + 0.01 * rng.normal(size=(40, 60))
    dist = np.broadcast_to(x[None, :] - 30.0, v.shape)
    return xr.DataArray(
        v,
        dims=("y", "x"),
        coords={
            "y": ("y", y, {"units": "nm"}),
            "x": ("x", x, {"units": "nm"}),
            "distance": (("y", "x"), dist, {"units": "nm"}),
        },
        attrs={"units": "V", "long_name": "potential"},
    )


@pytest.mark.parametrize("bad", [np.ones((5, 5), bool), np.ones((40, 60)), "left half"])
def test_bad_masks_are_refused_alike(bad):
    a, b = _map(0), _map(1)
    for call in (lambda: profile(a, along="distance", step=1.0, mask=bad), lambda: compare_maps(a, b, mask=bad, rng=0)):
        with pytest.raises(
            ParameterError, match=r"mask must be a region dict or a boolean \(y, x\) map of shape \(40, 60\)"
        ):  # noqa: E501
            call()


def test_region_and_boolean_mask_give_the_same_profile():
    a = _map(0)
    m = np.zeros((40, 60), bool)
    m[10:30, :] = True
    p_bool = profile(a, along="distance", step=1.0, mask=m)
    p_region = profile(a, along="distance", step=1.0, mask={"y": (10, 29)})
    np.testing.assert_allclose(p_bool.values, p_region.values)
    # rows 10-29 of a tanh step binned by distance [nm]: the step itself (noise 0.01 / sqrt(20))
    np.testing.assert_allclose(p_bool.values, np.tanh(p_bool.distance.values / 5.0), atol=0.02)
