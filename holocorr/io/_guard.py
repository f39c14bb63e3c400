"""Checks made before a reader touches a file: corrupt HDF5 global heaps, and the file hash.

The HDF5 library (seen with 2.0.0, as bundled with h5py 3.16) never
returns from reading a variable-length string or array whose global heap
collection holds a free-space object of size 0: its loop over the
collection's objects does not advance (``H5HG__cache_heap_deserialize``).
One corrupted byte in an ``.hspy``, ``.emd`` or ``.nc`` file is enough, and
the hang cannot be interrupted from Python (not even by Ctrl-C).
:func:`preflight` walks every global heap collection of an HDF5 file the way
the library does (layout from the HDF5 File Format Specification, "Global
Heap") and raises a :class:`~holocorr.errors.FileFormatError` before the
library sees one that would not end.

It reads the whole file once (memory-mapped, about 1 GB/s from the page
cache), so it also computes the file's SHA-256 when ``load`` records it.
Large lazy loads without a checksum skip it (see :data:`SCAN_LIMIT`).

Before an eager read it also compares each uncompressed HDF5 data set's
declared size with the bytes the file really holds for it: a corrupted
dimension can declare a data set thousands of times larger than the file,
which HDF5 then "reads" as fill values for minutes (a 16 kB file read as
212 MB of zeros in 47 s). More than :data:`MISSING_LIMIT` bytes and 10 times
the file size missing is reported instead.

MRC files are uncompressed: the 1024-byte header's dimensions and mode
(Cheng et al., J. Struct. Biol. 192, 146 (2015), doi:10.1016/j.jsb.2015.04.002)
must fit in the file. A corrupted dimension otherwise has the reader build
a task graph for terabytes (seconds to minutes) before it fails.
"""

from __future__ import annotations

import hashlib
import mmap
import struct
from pathlib import Path

from ..errors import FileFormatError

__all__ = ["preflight", "SCAN_LIMIT", "MISSING_LIMIT"]

#: files up to this size are always checked; larger ones only when read eagerly or hashed
SCAN_LIMIT = 64 * 2**20
#: an eager read refuses an uncompressed HDF5 data set with more bytes than this, and
#: than 10 times the file size, declared but not written
MISSING_LIMIT = 16 * 2**20

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_GCOL = b"GCOL"


def _superblock(m: mmap.mmap) -> int | None:
    """Offset of the HDF5 superblock (0, 512, 1024, ...) or None for another format."""
    offset = 0
    while offset + 16 <= len(m):
        if m[offset : offset + 8] == _HDF5_SIGNATURE:
            return offset
        offset = 512 if offset == 0 else 2 * offset
    return None


def _size_of_lengths(m: mmap.mmap, base: int) -> int | None:
    version = m[base + 8]
    if version in (0, 1):
        size = m[base + 14]
    elif version in (2, 3):
        size = m[base + 10]
    else:
        return None
    return size if size in (2, 4, 8) else None


def _check_collection(m: mmap.mmap, at: int, lengths: int, path: Path) -> None:
    """Walk one global heap collection as HDF5 does; raise where HDF5 would loop forever."""
    if m[at + 4] != 1:  # collection version; anything else HDF5 rejects itself
        return
    head = 8 + lengths  # "GCOL", version, 3 reserved bytes, collection size
    if at + head > len(m):
        return
    size = int.from_bytes(m[at + 8 : at + head], "little")
    end = at + size
    obj_head = 8 + lengths  # index (2), reference count (2), reserved (4), object size
    if size < head + obj_head or end > len(m):
        return  # not a collection HDF5 would load (it reports an error itself)
    p = at + head
    while p < end:
        if p + obj_head > end:  # a tail too short for an object header is free space
            return
        index = int.from_bytes(m[p : p + 2], "little")
        n = int.from_bytes(m[p + 8 : p + obj_head], "little")
        need = obj_head + 8 * ((n + 7) // 8) if index > 0 else n
        if need == 0 or need > end - p:
            raise FileFormatError(
                f"cannot read '{path}': its HDF5 global heap at byte {at} is corrupt (object "
                f"{index} at byte {p} has size {n}, which "
                + ("would make the HDF5 library loop forever" if need == 0 else "overruns the heap")
                + "). The file is damaged; copy it again from the microscope PC."
            )
        p += need


def _check_datasets(path: Path) -> None:
    """Refuse uncompressed HDF5 data sets whose declared size the file does not hold."""
    import h5py

    limit = max(MISSING_LIMIT, 10 * path.stat().st_size)
    problems: list[str] = []

    def visit(name: str, obj) -> None:
        if not isinstance(obj, h5py.Dataset) or problems:
            return
        dcpl = obj.id.get_create_plist()
        if dcpl.get_nfilters() or dcpl.get_layout() not in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED):
            return  # compressed, compact, external or virtual: the ratio says nothing
        declared = int(obj.size) * obj.dtype.itemsize
        missing = declared - int(obj.id.get_storage_size())
        if missing > limit:
            problems.append(
                f"the data set '{name}' declares shape {obj.shape} ({declared:,} bytes) but "
                f"the file holds only {declared - missing:,} bytes of it"
            )

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except Exception:  # noqa: BLE001 - the reader reports unreadable files itself
        return
    if problems:
        raise FileFormatError(
            f"cannot read '{path}': {problems[0]}. Its header is corrupt, or the acquisition "
            "was aborted before the data were written. Read it with lazy=True to see what is "
            "there."
        )


#: MRC mode -> bytes per voxel (MRC2014; mode 101 is 4-bit, two voxels per byte)
_MRC_BYTES = {0: 1.0, 1: 2.0, 2: 4.0, 3: 4.0, 4: 8.0, 6: 2.0, 12: 2.0, 101: 0.5}


def _check_mrc(path: Path) -> None:
    """Refuse an MRC file whose header declares more voxels than the file holds."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(1024)
    if len(head) < 1024:
        return  # the reader reports a truncated header itself
    order = ">" if head[212:214] == b"\x11\x11" else "<"
    nx, ny, nz, mode = (int(v) for v in struct.unpack_from(order + "4i", head, 0))
    extended = int(struct.unpack_from(order + "i", head, 92)[0])
    per = _MRC_BYTES.get(mode)
    if min(nx, ny, nz) < 0 or extended < 0:
        raise FileFormatError(
            f"cannot read '{path}': its MRC header declares negative sizes (NX, NY, NZ = {nx}, "
            f"{ny}, {nz}; extended header {extended} bytes). The header is corrupt; copy the "
            "file again."
        )
    if per is None:
        return  # an unknown mode: the reader reports it
    declared = 1024 + extended + int(nx * ny * nz * per)
    if declared > size:
        raise FileFormatError(
            f"cannot read '{path}': its MRC header declares {nx} x {ny} x {nz} voxels of mode "
            f"{mode} ({declared:,} bytes with the headers), but the file has {size:,} bytes. "
            "The file is truncated or its header is corrupt; copy it again."
        )


def preflight(path: Path, *, lazy: bool, checksum: bool, ext: str = "") -> str | None:
    """Check a file before its reader runs, and optionally hash it (HDF5: in the same read).

    Parameters
    ----------
    path : pathlib.Path
        An existing, non-empty file (not a directory).
    lazy : bool
        The data will be read lazily: a file larger than :data:`SCAN_LIMIT`
        is then only checked when it is hashed anyway.
    checksum : bool
        Return the file's SHA-256.
    ext : str
        The lower-case extension; ``".mrc"`` files get their header checked.

    Returns
    -------
    str or None
        ``"sha256:<hex>"`` when `checksum`, else None.

    Raises
    ------
    FileFormatError
        For an HDF5 global heap collection the HDF5 library would never
        finish reading, or (when not `lazy`) an uncompressed data set with
        more than :data:`MISSING_LIMIT` bytes, and 10 times the file size,
        declared but not in the file; an MRC header declaring more data
        than the file holds.
    """
    try:
        if ext == ".mrc":
            _check_mrc(path)
        digest, hdf5 = _preflight(path, lazy=lazy, checksum=checksum)
        if hdf5 and not lazy:
            _check_datasets(path)
        return digest
    except OSError as exc:
        raise FileFormatError(f"cannot read '{path}': {exc.strerror or exc}. Check that the file is readable.") from exc


def _preflight(path: Path, *, lazy: bool, checksum: bool) -> tuple[str | None, bool]:
    """(digest or None, whether the file is HDF5)."""
    size = path.stat().st_size
    scan = checksum or not lazy or size <= SCAN_LIMIT
    if size == 0 or not (scan or checksum):
        return None, False
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        digest = "sha256:" + hashlib.sha256(m).hexdigest() if checksum else None
        base = _superblock(m) if scan else None
        lengths = _size_of_lengths(m, base) if base is not None else None
        if lengths is not None:
            at = m.find(_GCOL, base)
            while at >= 0:
                _check_collection(m, at, lengths, path)
                at = m.find(_GCOL, at + 1)
    return digest, base is not None
