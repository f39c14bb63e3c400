"""Writers of small, valid microscope files with a known calibration, for the io tests.

Imported by tests/io/test_*.py as ``_io_files`` (a unique name, not conftest,
so that it cannot clash with other test folders' conftest modules).

RosettaSciIO writes .hspy, .tif and NCEM .emd itself; DigitalMicrograph
(.dm3/.dm4), MRC and Velox .emd files are written here from the published
layouts (DM: the tag-file description by C. Boothroyd and the DM4 notes of
the Gatan community; MRC2014: Cheng et al., J. Struct. Biol. 192, 146 (2015),
doi:10.1016/j.jsb.2015.04.002; Velox EMD: HDF5 groups Data/Image/<id>/{Data,
Metadata} with JSON metadata).
"""

from __future__ import annotations

import json
import struct

import h5py
import numpy as np

# ---------------------------------------------------------------- RosettaSciIO signal dicts


def rsciio_signal(data, axes, metadata=None, original_metadata=None):
    """A signal dict as RosettaSciIO writers expect it."""
    return {
        "data": data,
        "axes": axes,
        "metadata": metadata or {"General": {"title": ""}, "Signal": {"signal_type": ""}},
        "original_metadata": original_metadata or {},
        "attributes": {"_lazy": False},
        "tmp_parameters": {},
        "package_info": {"name": "holocorr-tests", "version": "0"},
        "learning_results": {},
        "models": {},
    }


def axis(name, size, scale, offset, units, navigate=False):
    return {
        "name": name,
        "size": size,
        "scale": scale,
        "offset": offset,
        "units": units,
        "navigate": navigate,
    }


# ---------------------------------------------------------------- DigitalMicrograph 3/4

_DM_SIMPLE = {
    np.dtype("int16"): 2,
    np.dtype("int32"): 3,
    np.dtype("uint16"): 4,
    np.dtype("uint32"): 5,
    np.dtype("float32"): 6,
    np.dtype("float64"): 7,
    np.dtype("bool"): 8,
    np.dtype("int8"): 10,
    np.dtype("uint8"): 10,
    np.dtype("int64"): 11,
    np.dtype("uint64"): 12,
}
_DM_IMAGE_TYPE = {
    np.dtype("int16"): 1,
    np.dtype("float32"): 2,
    np.dtype("complex64"): 3,
    np.dtype("uint8"): 6,
    np.dtype("int32"): 7,
    np.dtype("uint16"): 10,
    np.dtype("uint32"): 11,
    np.dtype("float64"): 12,
}


class _DMWriter:
    """Serialise a tag tree: a group is a list of (name, value) pairs."""

    def __init__(self, version):
        self.v = version

    def n(self, value):  # a length/count field: 4 bytes in DM3, 8 in DM4, big-endian
        return struct.pack(">Q" if self.v == 4 else ">I", value)

    def data_tag(self, name, value):
        if isinstance(value, str):
            arr = np.frombuffer(value.encode("utf-16-le"), dtype="<u2")
            info, payload = [20, 4, arr.size], arr.tobytes()
        elif isinstance(value, np.ndarray):
            arr = np.ascontiguousarray(value).reshape(-1)
            le = arr.astype(arr.dtype.newbyteorder("<"))
            info, payload = [20, _DM_SIMPLE[arr.dtype], arr.size], le.tobytes()
        else:
            if isinstance(value, bool):
                value = np.bool_(value)
            elif isinstance(value, int):
                value = np.int32(value)
            elif isinstance(value, float):
                value = np.float64(value)
            arr = np.asarray(value)
            info, payload = (
                [_DM_SIMPLE[arr.dtype]],
                arr.astype(arr.dtype.newbyteorder("<")).tobytes(),
            )
        body = b"%%%%" + self.n(len(info)) + b"".join(self.n(i) for i in info) + payload
        head = b"\x15" + struct.pack(">H", len(name)) + name.encode("latin-1")
        return head + (self.n(len(body)) if self.v == 4 else b"") + body

    def group_body(self, entries):
        body = b"\x01\x00" + self.n(len(entries))
        for name, value in entries:
            body += (
                self.group_tag(name, value)
                if isinstance(value, list)
                else self.data_tag(name, value)
            )
        return body

    def group_tag(self, name, entries):
        body = self.group_body(entries)
        head = b"\x14" + struct.pack(">H", len(name)) + name.encode("latin-1")
        return head + (self.n(len(body)) if self.v == 4 else b"") + body

    def file(self, entries):
        root = self.group_body(entries) + b"\x00" * 8
        return struct.pack(">I", self.v) + self.n(len(root)) + struct.pack(">I", 1) + root


def _dm_image(data, scales, origins, units, name, image_tags):
    """One ImageList entry; `scales` etc. are given in numpy axis order."""
    dims = [("", np.int32(n)) for n in data.shape[::-1]]  # DM lists x first
    cal = [
        ("", [("Origin", np.float32(o)), ("Scale", np.float32(s)), ("Units", u)])
        for s, o, u in zip(scales[::-1], origins[::-1], units[::-1], strict=True)
    ]
    return [
        (
            "ImageData",
            [
                (
                    "Calibrations",
                    [
                        (
                            "Brightness",
                            [("Origin", np.float32(0)), ("Scale", np.float32(1)), ("Units", "")],
                        ),
                        ("Dimension", cal),
                        ("DisplayCalibratedUnits", True),
                    ],
                ),
                ("Data", np.ascontiguousarray(data)),
                ("DataType", np.int32(_DM_IMAGE_TYPE[data.dtype])),
                ("Dimensions", dims),
                ("PixelDepth", np.int32(data.dtype.itemsize)),
            ],
        ),
        ("ImageTags", image_tags),
        ("Name", name),
    ]


def write_dm(path, data, *, scales, offsets, units, version=3, image_tags=None, name="hologram"):
    """Write a DM3/DM4 file with a thumbnail (index 0) and the image (index 1).

    `offsets` are the calibrated values of pixel 0; DM stores the origin in
    pixels, origin = -offset / scale.
    """
    origins = [-o / s if s else 0.0 for o, s in zip(offsets, scales, strict=True)]
    thumb = np.zeros((4, 4), np.uint8)
    entries = [
        (
            "ImageList",
            [
                ("", _dm_image(thumb, [1, 1], [0, 0], ["", ""], "thumb", [])),
                ("", _dm_image(data, scales, origins, units, name, image_tags or [])),
            ],
        ),
        ("Thumbnails", [("", [("ImageIndex", np.int32(0))])]),
    ]
    with open(path, "wb") as f:
        f.write(_DMWriter(version).file(entries))
    return path


def dm_microscope_tags(voltage_v=300e3, magnification=50000.0, exposure_s=0.5):
    return [
        (
            "Microscope Info",
            [
                ("Voltage", float(voltage_v)),
                ("Indicated Magnification", float(magnification)),
                ("Illumination Mode", "TEM"),
                ("Imaging Mode", "IMAGING"),
            ],
        ),
        ("DataBar", [("Exposure Time (s)", float(exposure_s))]),
    ]


# ---------------------------------------------------------------- MRC2014


def write_mrc(path, data, *, angstrom_per_px=None, origin_angstrom=(0.0, 0.0, 0.0)):
    """Write an MRC2014 file (mode 2, float32). No cell size if `angstrom_per_px` is None."""
    data = np.asarray(data, dtype="<f4")
    if data.ndim == 2:
        data = data[np.newaxis]
    nz, ny, nx = data.shape
    hdr = bytearray(1024)
    struct.pack_into("<3i", hdr, 0, nx, ny, nz)
    struct.pack_into("<i", hdr, 12, 2)  # mode 2: float32
    struct.pack_into("<3i", hdr, 28, nx, ny, nz)  # MX, MY, MZ: sampling
    if angstrom_per_px is not None:
        struct.pack_into("<3f", hdr, 40, nx * angstrom_per_px, ny * angstrom_per_px, 0.0)
    struct.pack_into("<3f", hdr, 52, 90.0, 90.0, 90.0)
    struct.pack_into("<3i", hdr, 64, 1, 2, 3)
    struct.pack_into("<3f", hdr, 76, float(data.min()), float(data.max()), float(data.mean()))
    struct.pack_into("<i", hdr, 88, 0 if nz == 1 else 1)  # ISPG: image / stack
    struct.pack_into("<i", hdr, 92, 0)  # NSYMBT: no extended header
    hdr[104:108] = b"MRCO"
    struct.pack_into("<i", hdr, 108, 20140)  # NVERSION
    struct.pack_into("<3f", hdr, 196, *origin_angstrom)
    hdr[208:212] = b"MAP "
    hdr[212:216] = bytes([0x44, 0x44, 0, 0])  # little-endian machine stamp
    struct.pack_into("<f", hdr, 216, float(data.std()))
    with open(path, "wb") as f:
        f.write(bytes(hdr))
        f.write(data.tobytes())
    return path


# ---------------------------------------------------------------- Velox EMD


def _json_uint8(obj):
    raw = json.dumps(obj).encode("utf-8")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 1)


def write_velox(path, images):
    """Write a Velox EMD with `images`: list of (data (ny, nx), metadata dict)."""
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "Version", data=np.array([json.dumps({"format": "Velox", "version": "11"}).encode()])
        )
        grp = f.create_group("Data/Image")
        for k, (data, md) in enumerate(images):
            sub = grp.create_group(f"{k:032x}")
            sub.create_dataset("Data", data=np.asarray(data)[:, :, np.newaxis])
            sub.create_dataset("Metadata", data=_json_uint8(md))
    return path


def velox_metadata(
    detector="BM-Ceta", pixel_m=2.5e-10, offset_m=(1e-9, -2e-9), kv=300.0, exposure_s=0.25
):
    return {
        "BinaryResult": {
            "PixelSize": {"width": str(pixel_m), "height": str(pixel_m)},
            "PixelUnitX": "m",
            "PixelUnitY": "m",
            "Offset": {"x": str(offset_m[0]), "y": str(offset_m[1])},
            "DetectorIndex": "0",
        },
        "Optics": {"AccelerationVoltage": str(kv * 1e3)},
        "Acquisition": {"AcquisitionStartDatetime": {"DateTime": "1600000000"}},
        "Detectors": {"Detector-0": {"DetectorName": detector, "ExposureTime": str(exposure_s)}},
        "Scan": {},
        "CustomProperties": {},
    }
