"""Incremental, resumable writing of series results to Zarr, one frame chunk at a time."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._options import OPTIONS
from .._provenance import array_hash
from ..errors import FileFormatError, ParameterError
from ..io._store import (
    COMPLEX_DIM,
    _fsync_path,
    _fsync_tree,
    _remove,
    _swap_aside,
    encode_dataset,
    is_zarr_store,
    protected_paths,
    recover_store,
)

__all__ = ["to_zarr", "WriteReport"]

PROGRESS_ATTR = "holocorr_progress"
COMPLETE_ATTR = "holocorr_complete"


@dataclasses.dataclass(frozen=True)
class WriteReport:
    """What :func:`to_zarr` did.

    Attributes
    ----------
    path : pathlib.Path
        The store.
    n_chunks : int
        Frame chunks in the result.
    written : int
        Chunks computed and written by this call.
    skipped : int
        Chunks found complete from an earlier run and not computed again.
    """

    path: Path
    n_chunks: int
    written: int
    skipped: int


def _client():
    """Return the distributed Client dask would use now, or None (local schedulers)."""
    import dask

    configured = dask.config.get("scheduler", None)
    if hasattr(configured, "submit") and hasattr(configured, "compute"):  # a Client set as scheduler
        return configured
    if configured in (
        "threads",
        "threading",
        "sync",
        "synchronous",
        "single-threaded",
        "processes",
        "multiprocessing",
    ):
        return None
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - distributed is optional
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _prepare(ds: xr.Dataset) -> tuple[xr.Dataset, tuple[int, ...]]:
    """Frame-dim variables as dask arrays with common, regular frame chunks (frame first)."""
    if "frame" not in ds.dims:
        raise ParameterError("to_zarr writes series results: the Dataset has no 'frame' dimension.")
    chunks = None
    for v in ds.data_vars.values():
        if "frame" in v.dims and v.chunks is not None:
            chunks = tuple(v.chunks[v.dims.index("frame")])
            break
    n = ds.sizes["frame"]
    if chunks is None:
        chunks = (n,)
    if len(chunks) > 1 and (len(set(chunks[:-1])) > 1 or chunks[-1] > chunks[0]):
        size = chunks[0]
        chunks = tuple([size] * (n // size) + ([n % size] if n % size else []))
    out = ds.copy()
    lazy_coords = [k for k, c in ds.coords.items() if c.chunks is not None]
    if lazy_coords:  # per-frame coordinates are small: keep them in memory
        out = out.assign_coords({k: ds[k].compute() for k in lazy_coords})
    for name, v in ds.data_vars.items():
        if "frame" not in v.dims:
            continue
        if v.dims[0] != "frame":
            v = v.transpose("frame", ...)
        out[name] = v.variable.chunk({"frame": chunks, **{d: -1 for d in v.dims if d != "frame"}})
    return out, tuple(chunks)


def _fingerprint(ds: xr.Dataset, chunks: tuple[int, ...]) -> str:
    desc = {
        "provenance": ds.attrs.get("holocorr", ""),
        "vars": {str(k): [list(v.dims), list(v.shape), str(v.dtype)] for k, v in ds.data_vars.items()},
        "chunks": list(chunks),
    }
    if not desc["provenance"]:
        import dask.base

        desc["graph"] = dask.base.tokenize(*[v.data for v in ds.data_vars.values()])
    text = json.dumps(desc, sort_keys=True, default=str)
    return array_hash(np.frombuffer(text.encode(), dtype=np.uint8))


def _read_progress(path: Path) -> dict | None:
    import zarr

    try:
        attrs = dict(zarr.open_group(str(path), mode="r").attrs)
    except Exception:  # noqa: BLE001 - not a readable group
        return None
    raw = attrs.get(PROGRESS_ATTR)
    if not isinstance(raw, str):
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return None


def _write_progress(path: Path, record: dict, complete: bool) -> None:
    import zarr

    group = zarr.open_group(str(path), mode="r+")
    group.attrs.update({PROGRESS_ATTR: json.dumps(record, sort_keys=True), COMPLETE_ATTR: complete})


def _mark_complete(path: Path, record: dict) -> None:
    """Flush every chunk to disk, then record the store as complete (and flush that too).

    The order matters: ``holocorr_complete = True`` must never be on disk
    before the chunks it vouches for.
    """
    _fsync_tree(path)
    _write_progress(path, record, complete=True)
    for entry in os.scandir(path):  # the group metadata holding the attrs (zarr.json or .zattrs)
        if entry.is_file():
            _fsync_path(Path(entry.path))
    _fsync_path(path)


def _replacement_path(target: Path, fingerprint: str) -> Path:
    """Where a store replacing `target` is built: hidden, beside it, named after the computation.

    The name is the same for the same computation, so that an interrupted
    replacement is resumed by running the same computation again.
    """
    return target.with_name(f".{target.name}.tmp-{fingerprint.rsplit(':', 1)[-1][:16]}")


@functools.lru_cache(maxsize=64)
def _zarr_array(path: str, name: str, fingerprint: str):
    """Open an array of the store, once per worker process (keyed by the computation)."""
    import zarr

    return zarr.open_group(path, mode="r+")[name]


def _write_block(bounds: np.ndarray, *blocks, path: str, names: tuple, fingerprint: str) -> np.ndarray:
    """Dask task: write one frame chunk of every frame variable into the store.

    ``bounds`` is the (k, 2) block of [frame, frame + 1) rows of this chunk.
    Returns ones (k,) so that the task is a block of a dask array.
    """
    start, stop = int(bounds[0, 0]), int(bounds[-1, 1])
    for name, block in zip(names, blocks, strict=True):
        arr = _zarr_array(path, name, fingerprint)
        data = np.asarray(block)
        if data.dtype != arr.dtype:
            data = data.astype(arr.dtype)
        arr[start:stop] = data
    return np.ones(stop - start, dtype=np.int8)


def _writer(enc: xr.Dataset, names: tuple, chunks: tuple[int, ...], path: str, fingerprint: str):
    """One dask array whose block i computes and writes frame chunk i of every variable.

    A single blockwise array (not one delayed call per chunk) lets dask optimise
    all variables together, so the step that makes several outputs at once
    (e.g. wave, contrast and flags of the reconstruction) runs once per chunk.
    """
    import dask.array as dsa

    n = int(sum(chunks))
    rows = np.stack([np.arange(n), np.arange(1, n + 1)], axis=1)
    pairs: list = [dsa.from_array(rows, chunks=(chunks, 2)), "fz"]
    letters = iter("abcdeghijklmnopqrstuvwxy")
    for name in names:
        arr = enc[name].data
        pairs += [arr, "f" + "".join(next(letters) for _ in range(arr.ndim - 1))]
    return dsa.blockwise(
        _write_block,
        "f",
        *pairs,
        path=path,
        names=names,
        fingerprint=fingerprint,
        dtype=np.int8,
        concatenate=True,
        meta=np.empty((0,), np.int8),
    )


def to_zarr(
    ds: xr.Dataset,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    resume: bool = True,
    inputs=None,
    on_chunk: Callable[[int, int], Any] | None = None,
) -> WriteReport:
    """Compute a lazy series result chunk by chunk into a Zarr store that survives interruption.

    The store is created first (metadata and everything that is not a
    frame-chunked dask array). Then each frame chunk of every variable with
    a ``frame`` dim is computed and written in place by the task that
    computed it (on a cluster: by the worker), and the list of finished
    chunks, kept in the store's attrs (``holocorr_progress``), is updated
    after each chunk (an atomic metadata write). An interrupted run (Ctrl-C,
    a lost cluster, a crash) leaves the finished chunks on disk; running the
    same computation again with the same path skips them. A store is only
    resumed by the same computation: the provenance, variables, shapes and
    chunks must match.

    Replacing an existing store (``overwrite=True`` and a store that is not
    resumed) never touches it until the new one is complete: the new store
    is built beside it, in the hidden folder ``.<name>.tmp-<id>`` (`<id>`
    identifies the computation), flushed to disk, and then swapped in with
    two renames, as :func:`holocorr.save` does (the old store is moved
    aside to ``.<name>.old-<id>``, the new one renamed onto `path`, the old
    one deleted). A run that fails or is interrupted before the swap leaves
    the old store exactly as it was; with ``resume=True`` the finished
    chunks are kept in the hidden folder and running the same computation
    again (with ``overwrite=True``) resumes them, with ``resume=False`` the
    hidden folder is deleted. If the process dies between the two renames,
    the next :func:`to_zarr`, :func:`holocorr.load` or
    :func:`holocorr.io.load_dataset` of `path` puts the old store back
    (with a warning).

    With a ``dask.distributed`` Client active, all chunks are submitted at
    once and recorded as they finish; with the local schedulers they are
    computed a few at a time. The store is readable with
    :func:`holocorr.io.load_dataset` (complex variables restored); it is
    complete when ``attrs["holocorr_complete"]`` is True (unwritten chunks
    read as NaN before that).

    Parameters
    ----------
    ds : xarray.Dataset
        A series result, e.g. from :func:`holocorr.series.reconstruct` on
        :func:`holocorr.open_series` (dask-backed along ``frame``).
    path : str or path-like
        Destination ``.zarr`` directory; its folder must exist. On a cluster
        it must be on storage the workers can write to.
    overwrite : bool
        Replace an existing store that cannot be resumed (never an input);
        the old store stays in place, untouched, until the new one is
        complete (see above).
    resume : bool
        Resume a store written by the same computation (default True);
        False starts again (needs `overwrite` if the store exists).
    inputs : iterable of path-like, optional
        Files that must never be overwritten (besides those recorded in the
        data's attrs and ``source_file`` coordinate).
    on_chunk : callable, optional
        Called as ``on_chunk(done, total)`` after each chunk is recorded
        (progress reporting; an exception raised here stops the run, which
        can then be resumed).

    Returns
    -------
    WriteReport
        The path and how many chunks were written and skipped.

    Raises
    ------
    FileFormatError
        For a path that is not ``.zarr``, a missing folder, an existing store
        that cannot be resumed without `overwrite`, a target that is an input,
        or a failed write.
    ParameterError
        For a Dataset without a ``frame`` dim or bad options.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, xarray as xr
    >>> tmp = tempfile.TemporaryDirectory()
    >>> ds = xr.Dataset({"wave": (("frame", "y", "x"), np.ones((6, 4, 4), np.complex64))}).chunk({"frame": 2})
    >>> rep = to_zarr(ds, os.path.join(tmp.name, "waves.zarr"))
    >>> rep.n_chunks, rep.written, rep.skipped
    (3, 3, 0)
    >>> to_zarr(ds, os.path.join(tmp.name, "waves.zarr")).skipped
    3
    >>> tmp.cleanup()
    """
    if not isinstance(ds, xr.Dataset):
        raise ParameterError(f"to_zarr needs an xarray.Dataset, got {type(ds).__name__}.")
    for name, v in (("overwrite", overwrite), ("resume", resume)):
        if not isinstance(v, bool):
            raise ParameterError(f"{name} must be True or False, got {v!r}.")
    if on_chunk is not None and not callable(on_chunk):
        raise ParameterError("on_chunk must be a function on_chunk(done, total) or None.")
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise ParameterError(f"path must be a .zarr path, got {path!r}.")
    target = Path(os.fspath(path)).expanduser().absolute()
    if target.suffix.lower() != ".zarr":
        raise FileFormatError(f"to_zarr writes Zarr stores: '{target}' must end in .zarr.")
    if not target.parent.is_dir():
        raise FileFormatError(f"cannot write '{target}': the folder '{target.parent}' does not exist.")
    src = [Path(p) for p in np.unique(ds["source_file"].values)] if "source_file" in ds.coords else []
    if isinstance(inputs, str | bytes | os.PathLike):
        inputs = [inputs]
    for p in protected_paths(ds, list(inputs or []) + src):
        pr, tr = p.expanduser().absolute().resolve(), target.resolve()
        if pr == tr or pr.is_relative_to(tr):
            raise FileFormatError(
                f"refusing to write '{target}': it is an input of this computation ('{p}'). Choose another output path."
            )

    recover_store(target)  # a replacement killed between its two renames: old store back first
    prepared, chunks = _prepare(ds)
    fingerprint = _fingerprint(prepared, chunks)
    n_chunks = len(chunks)
    done: set[int] = set()
    dest = target  # where the chunks are written: the target itself, or its replacement
    replacing = False
    exists = target.exists() or target.is_symlink()
    if exists:
        record = _read_progress(target) if is_zarr_store(target) else None
        resumable = resume and record is not None and record.get("fingerprint") == fingerprint
        if resumable:
            done = {int(i) for i in record.get("done", [])}
        elif overwrite:
            if not is_zarr_store(target):
                raise FileFormatError(
                    f"refusing to replace '{target}': it is not a Zarr store, so holocorr will not "
                    "delete it. Choose another name."
                )
            replacing = True
            dest = _replacement_path(target, fingerprint)
            earlier = _read_progress(dest) if resume and is_zarr_store(dest) else None
            if earlier is not None and earlier.get("fingerprint") == fingerprint:
                done = {int(i) for i in earlier.get("done", [])}  # an interrupted replacement
            else:
                exists = False
                try:
                    _remove(dest)  # left by a replacement that cannot be resumed
                except OSError as exc:
                    raise FileFormatError(
                        f"cannot replace '{target}': the old temporary store '{dest}' cannot be "
                        f"deleted ({exc}). Delete it and run again."
                    ) from exc
        else:
            why = (
                "it was written by a different computation (other inputs, options or chunks)"
                if record is not None
                else "it is not a resumable holocorr series store"
            )
            raise FileFormatError(
                f"'{target}' exists and {why}; pass overwrite=True to replace it, or choose another path."
            )
    enc = encode_dataset(prepared, keep_arrays=False)
    frame_vars = []
    for name, v in enc.data_vars.items():
        if "frame" in v.dims and v.chunks is not None:
            if COMPLEX_DIM in v.dims:
                enc[name] = v.chunk({COMPLEX_DIM: -1})
            frame_vars.append(name)
    for name, v in list(enc.variables.items()):
        if v.dtype.kind in "US":  # variable-length strings have a Zarr v3 specification
            enc[name] = v.astype(object)
    if not exists:
        try:
            # everything in memory first, then the frame arrays' metadata only
            enc.drop_vars(frame_vars).to_zarr(dest, mode="w-", consolidated=False)
            # frame arrays uncompressed: waves are noisy floats (little to gain) and the
            # writes are on the critical path of streaming
            import zarr

            key = "compressors" if int(zarr.__version__.split(".")[0]) >= 3 else "compressor"
            none = () if key == "compressors" else None
            enc[frame_vars].drop_vars(list(enc.coords)).to_zarr(
                dest, mode="a", compute=False, consolidated=False, encoding={name: {key: none} for name in frame_vars}
            )
            record = {"fingerprint": fingerprint, "n_chunks": n_chunks, "done": []}
            _write_progress(dest, record, complete=False)
        except BaseException as exc:
            if replacing:
                _remove_quietly(dest)
            if not isinstance(exc, Exception):
                raise
            raise FileFormatError(f"could not create the Zarr store '{dest}': {type(exc).__name__}: {exc}") from exc
    else:
        record = {"fingerprint": fingerprint, "n_chunks": n_chunks, "done": sorted(done)}
    todo = [i for i in range(n_chunks) if i not in done]
    names = tuple(frame_vars)
    writer = _writer(enc, names, chunks, str(dest), fingerprint)
    tasks = {i: writer.blocks[i] for i in todo}

    from tqdm.auto import tqdm

    bar = tqdm(
        total=n_chunks,
        initial=len(done),
        desc=f"writing {target.name}",
        unit="chunk",
        disable=not OPTIONS["progress"] or not todo,
    )

    def finished(i: int) -> None:
        done.add(i)
        record["done"] = sorted(done)
        _write_progress(dest, record, complete=False)  # complete only once flushed, below
        bar.update(1)
        if on_chunk is not None:
            on_chunk(len(done), n_chunks)

    client = _client()
    try:
        _run(client, todo, tasks, finished)
        _mark_complete(dest, record)
    except BaseException as exc:
        kept = replacing and resume and bool(done)
        if replacing and not kept:
            _remove_quietly(dest)
        if not isinstance(exc, OSError):
            raise
        if not replacing:
            msg = (
                "The finished chunks are kept; fix the problem (disk space, permissions) and run the same "
                "computation again to resume."
            )
        elif kept:
            msg = (
                f"The previous store is untouched. The finished chunks are kept in '{dest.name}'; fix the "
                "problem (disk space, permissions) and run the same computation again with overwrite=True "
                "to resume."
            )
        else:
            msg = "The previous store is untouched."
        raise FileFormatError(f"writing '{target}' failed: {type(exc).__name__}: {exc}. {msg}") from exc
    finally:
        bar.close()
    if replacing:
        try:
            if target.exists() or target.is_symlink():
                _swap_aside(dest, target)
            else:
                os.rename(dest, target)
            _fsync_path(target.parent)
        except OSError as exc:
            raise FileFormatError(
                f"could not put the new store in place of '{target}': {type(exc).__name__}: {exc}. The "
                f"previous store is untouched; the complete new one is '{dest}'."
            ) from exc
    return WriteReport(path=target, n_chunks=n_chunks, written=len(todo), skipped=n_chunks - len(todo))


def _remove_quietly(path: Path) -> None:
    """Delete a temporary store; a failure only leaves it behind (it is hidden)."""
    try:
        _remove(path)
    except OSError:
        pass


def _run(client, todo: list[int], tasks: dict, finished: Callable[[int], None]) -> None:
    """Compute the chunk tasks, calling ``finished(i)`` as each completes."""
    import dask

    if client is not None and todo:
        from distributed import as_completed

        futures = client.compute([tasks[i] for i in todo])
        index = {f.key: i for f, i in zip(futures, todo, strict=True)}
        try:
            for fut in as_completed(futures):
                fut.result()  # re-raises a task's error here
                finished(index[fut.key])
        finally:
            client.cancel([f for f in futures if not f.done()])
        return
    batch = max(1, int(dask.config.get("num_workers", None) or os.cpu_count() or 1))
    for k in range(0, len(todo), batch):
        part = todo[k : k + batch]
        dask.compute(*[tasks[i] for i in part])
        for i in part:
            finished(i)
