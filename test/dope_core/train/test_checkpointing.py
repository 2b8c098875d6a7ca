"""Training checkpoints on disk: what the clean-up of killed writes deletes, and what loading refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dope_core.train.checkpointing import load_training_state, remove_stale_temporaries, save_training_state


def test_remove_stale_temporaries_deletes_only_killed_checkpoint_writes(tmp_path: Path) -> None:
    """Only plain files named .last.pth.dope-<random>.tmp go; the checkpoint, other files (a user's
    .last.pth.20240101.tmp too), folders and links stay."""
    path = save_training_state(tmp_path, {"step": 3, "model": {"w": torch.ones(2)}})
    stale = tmp_path / ".last.pth.dope-ab12cd34.tmp"
    stale.write_bytes(b"half a checkpoint")
    keep = [tmp_path / "notes.tmp", tmp_path / ".last.pth.bak", tmp_path / "last.pth.old.tmp",
            tmp_path / ".last.pth.20240101.tmp"]
    for p in keep:
        p.write_text("user data")
    folder = tmp_path / ".last.pth.dope-folder00.tmp"
    folder.mkdir()
    target = tmp_path / "target.bin"
    target.write_text("linked")
    link = tmp_path / ".last.pth.dope-link0000.tmp"
    link.symlink_to(target)
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists()
    assert all(p.read_text() == "user data" for p in keep)
    assert folder.is_dir() and link.is_symlink() and target.read_text() == "linked"
    assert load_training_state(tmp_path)["step"] == 3 and path.is_file()


@pytest.mark.parametrize("state", [{"model": {}}, {"step": 1}, [1, 2]])
def test_a_file_that_is_no_training_checkpoint_is_refused(tmp_path: Path, state: object) -> None:
    """last.pth without a step or a model (or not a dict) is not a checkpoint to resume from."""
    torch.save(state, tmp_path / "last.pth")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        load_training_state(tmp_path)


def test_no_checkpoint_yet_and_a_damaged_one(tmp_path: Path) -> None:
    """No last.pth: None (a new run); an unreadable one: a clear ValueError, never a silent new run."""
    assert load_training_state(tmp_path) is None
    (tmp_path / "last.pth").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot be read"):
        load_training_state(tmp_path)
