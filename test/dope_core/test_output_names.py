"""Output names of a batch (the rules of :mod:`dope_core.output_names`) and the folder's record of dope's files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from dope_core.output_names import MANIFEST, InputGuard, OutputFolder, OverwriteRefused, assign_names

SUFFIXES = (".json", ".jpg")


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_stems_that_differ_only_in_case_are_told_apart_by_their_extension(tmp_path: Path) -> None:
    """Rule 1 compares stems case-insensitively: ``Photo.jpg`` and ``photo.png`` fall to rule 2."""
    inputs = [_touch(tmp_path / "in" / "Photo.jpg"), _touch(tmp_path / "in" / "photo.png")]
    names = assign_names(inputs, out_dir=tmp_path / "out", suffixes=SUFFIXES, guard=InputGuard(inputs))
    assert names == ["Photo_jpg", "photo_png"]


def test_same_file_name_in_two_folders_gets_the_hash_of_its_absolute_path(tmp_path: Path, monkeypatch) -> None:
    """Rule 3: the first 8 hex digits of the SHA-1 of the absolute path, even for relative inputs."""
    _touch(tmp_path / "a" / "photo.jpg"), _touch(tmp_path / "b" / "photo.jpg")
    monkeypatch.chdir(tmp_path)
    inputs = [Path("a/photo.jpg"), Path("b/photo.jpg")]
    names = assign_names(inputs, out_dir=tmp_path / "out", suffixes=SUFFIXES, guard=InputGuard(inputs))
    expected = [f"photo_jpg-{hashlib.sha1(str(tmp_path / d / 'photo.jpg').encode()).hexdigest()[:8]}" for d in "ab"]
    assert names == expected


def test_a_name_given_earlier_is_not_given_again_whatever_its_case(tmp_path: Path) -> None:
    """Rule 4: ``X_JPG.png`` takes ``X_JPG``, so ``x.jpg`` (rule 2: ``x_jpg``) becomes ``x_jpg_dope``."""
    inputs = [_touch(tmp_path / "X_JPG.png"), _touch(tmp_path / "x.jpg"), _touch(tmp_path / "x.png")]
    names = assign_names(inputs, out_dir=tmp_path / "out", suffixes=SUFFIXES, guard=InputGuard(inputs))
    assert names == ["X_JPG", "x_jpg_dope", "x_png"]
    assert len({n.lower() for n in names}) == len(names)


def test_outputs_that_would_be_inputs_or_foreign_files_get_dope_then_dope2(tmp_path: Path) -> None:
    """Rule 4: ``clip.mp4`` output beside the input ``clip.mp4`` -> ``clip_dope``; a user's ``clip_dope.mp4``
    there -> ``clip_dope2``; without the folder's record, only inputs count."""
    d = tmp_path / "d"
    inputs = [_touch(d / "clip.mp4")]
    guard = InputGuard(inputs)
    suffixes = (".jsonl", ".mp4")
    assert assign_names(inputs, out_dir=d, suffixes=suffixes, guard=guard, folder=OutputFolder(d)) == ["clip_dope"]
    _touch(d / "clip_dope.mp4")   # not written by dope
    assert assign_names(inputs, out_dir=d, suffixes=suffixes, guard=guard, folder=OutputFolder(d)) == ["clip_dope2"]
    assert assign_names(inputs, out_dir=d, suffixes=suffixes, guard=guard) == ["clip_dope"]


def test_an_annotation_of_another_tool_is_never_an_output_name(tmp_path: Path) -> None:
    """A ``photo.json`` that dope did not write makes the input ``photo.png`` ``photo_dope``; once dope wrote
    ``photo.json`` (its record), a repeated run gets ``photo`` again."""
    inputs = [_touch(tmp_path / "in" / "photo.png")]
    out = tmp_path / "out"
    _touch(out / "photo.json")
    guard = InputGuard(inputs)
    assert assign_names(inputs, out_dir=out, suffixes=SUFFIXES, guard=guard, folder=OutputFolder(out)) == ["photo_dope"]
    (out / "photo.json").unlink()
    OutputFolder(out).claim(out / "photo.json")
    _touch(out / "photo.json")
    assert assign_names(inputs, out_dir=out, suffixes=SUFFIXES, guard=guard, folder=OutputFolder(out)) == ["photo"]


def test_two_runs_sharing_a_folder_both_keep_their_names_on_record(tmp_path: Path) -> None:
    """Claims append to the record: a run that opened the folder earlier does not erase the other run's names."""
    first, second = OutputFolder(tmp_path), OutputFolder(tmp_path)
    first.claim(tmp_path / "a.json")
    second.claim(tmp_path / "b.json")
    _touch(tmp_path / "a.json"), _touch(tmp_path / "b.json")
    later = OutputFolder(tmp_path)
    assert not later.is_foreign(tmp_path / "a.json") and not later.is_foreign(tmp_path / "b.json")
    assert sorted((tmp_path / MANIFEST).read_bytes().split(b"\0")) == [b"", b"a.json", b"b.json"]


def test_a_dangling_link_of_the_user_is_foreign_and_never_claimed(tmp_path: Path) -> None:
    """A symbolic link to nothing still holds the name: writing there would replace the user's link."""
    link = tmp_path / "photo.json"
    link.symlink_to(tmp_path / "missing")
    folder = OutputFolder(tmp_path)
    assert folder.is_foreign(link)
    with pytest.raises(OverwriteRefused, match="did not write"):
        folder.claim(link)
    assert not (tmp_path / MANIFEST).exists() and link.is_symlink()


def test_the_guard_knows_inputs_by_any_path_and_ignores_non_files(tmp_path: Path, monkeypatch) -> None:
    """A relative input and its absolute path are one file; a camera index (no file) guards nothing."""
    _touch(tmp_path / "in.jpg")
    monkeypatch.chdir(tmp_path)
    guard = InputGuard([Path("in.jpg"), Path("0")])
    assert guard.is_input(tmp_path / "in.jpg") and guard.is_input(Path("./in.jpg"))
    assert not guard.is_input(tmp_path / "0") and not guard.is_input(tmp_path / "out.jpg")
    os.link(tmp_path / "in.jpg", tmp_path / "hard.jpg")
    with pytest.raises(OverwriteRefused, match="input file"):
        guard.check(tmp_path / "hard.jpg")


def test_the_record_tells_which_files_dope_wrote(tmp_path: Path) -> None:
    """:meth:`OutputFolder.wrote`: the names on the folder's record (what a folder given as input leaves out)."""
    OutputFolder(tmp_path).claim(tmp_path / "photo_dope.jpg")
    _touch(tmp_path / "photo_dope.jpg"), _touch(tmp_path / "photo.jpg")
    folder = OutputFolder(tmp_path)
    assert folder.wrote(tmp_path / "photo_dope.jpg") and not folder.wrote(tmp_path / "photo.jpg")
    assert not OutputFolder(tmp_path / "elsewhere").wrote(tmp_path / "elsewhere" / "photo_dope.jpg")
