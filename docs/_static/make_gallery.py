"""Draw the images of the gallery page (docs/guides/gallery.rst) into docs/_static/gallery/.

The images are made by the page's own examples: this script runs every
``>>>`` example of gallery.rst in order, with the page's output folder
``outdir`` pointed at docs/_static/gallery/ as soon as the page defines it
(the page's temporary folder, which still receives the pipeline results,
is removed as on the page).
Each PNG is then reduced to a 256-colour palette (Pillow, fast octree, no
dithering), which keeps it under 200 kB. Run it from anywhere::

    .venv/bin/python docs/_static/make_gallery.py

The script stops with an error when an example raises or an image exceeds
200 kB. It does not compare the examples' printed output (the doctests do).
"""

from __future__ import annotations

import doctest
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "guides" / "gallery.rst"
TARGET = HERE / "gallery"
MAX_BYTES = 200_000


def render(page: Path = PAGE, target: Path = TARGET) -> list[Path]:
    """Run the examples of `page` with their output folder set to `target`; return the PNGs."""
    target.mkdir(parents=True, exist_ok=True)
    examples = doctest.DocTestParser().get_examples(page.read_text(encoding="utf-8"))
    namespace: dict = {"__name__": "gallery"}
    redirected = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the page's expected warnings; errors still raise
        for example in examples:
            exec(compile(example.source, f"{page.name}:{example.lineno + 1}", "exec"), namespace)
            if not redirected and "outdir" in namespace:
                namespace["outdir"] = target
                redirected = True
    if not redirected:
        raise SystemExit(f"{page} defines no 'outdir'; nothing was written to {target}.")
    return sorted(target.glob("*.png"))


def shrink(path: Path) -> int:
    """Reduce a PNG to a 256-colour palette in place; return its size in bytes."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    return path.stat().st_size


def main() -> int:
    """Render, shrink and report the gallery images."""
    too_big = []
    for path in render():
        size = shrink(path)
        print(f"{path.relative_to(HERE.parent)}  {size / 1000:.0f} kB")
        if size > MAX_BYTES:
            too_big.append(path.name)
    if too_big:
        print(f"larger than {MAX_BYTES // 1000} kB: {', '.join(too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
