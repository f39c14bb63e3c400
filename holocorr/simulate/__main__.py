"""``python -m holocorr.simulate reference FOLDER [--overwrite] [--verify]``."""

import argparse
import sys

from ..errors import HolocorrError
from .reference import verify_reference, write_reference


def main(argv=None) -> int:
    """Entry point; returns the exit code (0 ok, 2 usage, 3 data error)."""
    p = argparse.ArgumentParser(prog="python -m holocorr.simulate")
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("reference", help="write the bundled reference dataset")
    r.add_argument("folder")
    r.add_argument("--overwrite", action="store_true")
    r.add_argument("--verify", action="store_true", help="only check checksums against the manifest")
    args = p.parse_args(argv)
    try:
        if args.verify:
            res = verify_reference(args.folder)
            bad = {k: v for k, v in res.items() if v is not True}
            for k, v in res.items():
                print(f"{k}: {'ok' if v is True else v}")
            return 3 if bad else 0
        m = write_reference(args.folder, overwrite=args.overwrite)
        print(f"wrote {len(m['files'])} files and manifest.json to {args.folder}")
        return 0
    except HolocorrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
