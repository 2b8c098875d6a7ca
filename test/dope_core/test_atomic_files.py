import pytest

from dope_core.atomic_files import atomic_path, atomic_write_bytes, atomic_write_text, temporary_beside


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "poses.json"
    atomic_write_text(target, "old")
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the ne")
            raise OSError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poses.json"]


def test_a_complete_write_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "a.bin"
    atomic_write_text(target, "created with its folder")
    atomic_write_bytes(target, b"\x00new")
    assert target.read_bytes() == b"\x00new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.bin"]


@pytest.mark.parametrize("keep", [True, False])
def test_ctrl_c_keeps_what_was_written_only_when_asked(tmp_path, keep):
    target = tmp_path / "clip.jsonl"
    target.write_text("previous run\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target, keep_on_interrupt=keep) as tmp:
            tmp.write_text("frame 0\n")
            raise KeyboardInterrupt
    assert target.read_text() == ("frame 0\n" if keep else "previous run\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.jsonl"]


def test_temporary_names_keep_an_ascii_extension_for_opencv(tmp_path):
    tmp = temporary_beside(tmp_path / "caf\udce9.jpg", keep_suffix=True)
    assert tmp.name.startswith(".dope-") and tmp.name.endswith(".tmp.jpg") and tmp.name.isascii()
    assert temporary_beside(tmp_path / "a.json").name.endswith(".tmp")   # never matched by *.json
    assert temporary_beside(tmp_path / "a.json").name.startswith(".a.json.dope-")


def test_a_rename_that_fails_leaves_no_temporary(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        atomic_write_text(tmp_path / "taken", "a folder is in the way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_files_get_the_mode_of_a_new_file(tmp_path):
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    (tmp_path / "plain.bin").write_bytes(b"x")
    assert (tmp_path / "a.bin").stat().st_mode == (tmp_path / "plain.bin").stat().st_mode


def test_only_temporaries_abandoned_long_ago_are_removed(tmp_path):
    import os
    import time

    from dope_core.atomic_files import remove_abandoned_temporaries

    old = time.time() - 3600
    names = {".a.json.dope-k1ll3d_x.tmp": old, ".dope-abcd1234.tmp.jpg": old, ".b.json.dope-live1234.tmp": time.time(),
             ".notes.tmp": old, "c.json": old}
    for name, mtime in names.items():
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (mtime, mtime))
    removed = remove_abandoned_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == [".a.json.dope-k1ll3d_x.tmp", ".dope-abcd1234.tmp.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.json.dope-live1234.tmp", ".notes.tmp", "c.json"]
    assert remove_abandoned_temporaries(tmp_path / "missing") == []


def test_user_files_shaped_like_temporaries_but_not_hidden_are_kept(tmp_path) -> None:
    """Only hidden names are temporaries: a user's old ``x.dope-abcdefgh.tmp`` or ``dope-abcd1234.tmp.jpg`` stays,
    while the names :func:`temporary_beside` really gives (hidden) are removed once old."""
    import os
    import time

    from dope_core.atomic_files import remove_abandoned_temporaries

    ours = [temporary_beside(tmp_path / "x"), temporary_beside(tmp_path / "y.jpg", keep_suffix=True)]
    assert all(p.name.startswith(".") for p in ours)
    users = ["x.dope-abcdefgh.tmp", "dope-abcd1234.tmp.jpg", "dope-abcd1234.tmp"]
    old = time.time() - 3600
    for path in ours + [tmp_path / name for name in users]:
        path.write_text("x")
        os.utime(path, (old, old))
    assert sorted(remove_abandoned_temporaries(tmp_path)) == sorted(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(users)


def test_ctrl_c_before_anything_was_written_keeps_the_old_file(tmp_path) -> None:
    """With keep_on_interrupt, a Ctrl-C before the first byte does not replace the file with an empty one."""
    target = tmp_path / "clip.jsonl"
    target.write_text("previous run\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target, keep_on_interrupt=True):
            raise KeyboardInterrupt
    assert target.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.jsonl"]


def test_a_link_named_like_a_temporary_is_never_removed(tmp_path) -> None:
    """An old symbolic link with a temporary's name is no temporary of ours: the cleanup leaves it alone."""
    import os
    import time

    from dope_core.atomic_files import remove_abandoned_temporaries

    target = tmp_path / "photo.jpg"
    target.write_text("user data")
    link = tmp_path / ".photo.jpg.dope-abcd1234.tmp"
    link.symlink_to(target)
    old = time.time() - 3600
    os.utime(target, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    assert remove_abandoned_temporaries(tmp_path) == []
    assert link.is_symlink() and target.read_text() == "user data"


def test_a_users_hidden_tmp_files_are_never_taken_for_temporaries(tmp_path) -> None:
    """Hidden files of the user's ending in ``.<8 characters>.tmp`` stay, however old; only the names
    :func:`temporary_beside` gives (with the project's ``dope-`` marker) are removed once old."""
    import os
    import time

    from dope_core.atomic_files import remove_abandoned_temporaries

    ours = [temporary_beside(tmp_path / "budget"), temporary_beside(tmp_path / "y.jpg", keep_suffix=True)]
    users = [tmp_path / ".budget.20240101.tmp", tmp_path / ".report.draft_v2.tmp"]
    old = time.time() - 3600
    for path in ours + users:
        path.write_text("x")
        os.utime(path, (old, old))
    assert sorted(remove_abandoned_temporaries(tmp_path)) == sorted(ours)
    assert sorted(tmp_path.iterdir()) == sorted(users)


def _tree(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("exchange", [True, False])
def test_a_folder_is_replaced_whole_keeping_what_the_new_one_does_not_replace(tmp_path, exchange,
                                                                              monkeypatch) -> None:
    """The new folder takes the old one's place in one step (or two renames where the system cannot swap);
    entries of the old folder that the new one lacks and that ``replaced`` does not name are kept (the same
    files, linked); nothing is left beside it."""
    import dope_core.atomic_files as atomic_files
    from dope_core.atomic_files import folder_beside, replace_folder

    if not exchange:
        monkeypatch.setattr(atomic_files, "_exchange", lambda a, b: False)

    out = tmp_path / "out"
    (out / "bag").mkdir(parents=True)
    (out / "bag" / "old.mcap").write_text("old bag")
    (out / "video.mp4").write_text("old video")
    (out / "summary.json").write_text("old summary")
    (out / "mine").mkdir()
    (out / "mine" / "notes.txt").write_text("the user's")
    (out / "link").symlink_to("mine/notes.txt")
    out.chmod(0o750)
    notes = (out / "mine" / "notes.txt").stat().st_ino
    new = folder_beside(out)
    assert new.parent == tmp_path and new.name.startswith(".out.") and new.name.endswith(".new")
    (new / "bag").mkdir()
    (new / "bag" / "new.mcap").write_text("new bag")
    (new / "summary.json").write_text("new summary")
    replace_folder(new, out, replaced=("bag", "video.mp4", "summary.json"))
    assert _tree(out) == {"bag/new.mcap": b"new bag", "summary.json": b"new summary",
                          "mine/notes.txt": b"the user's", "link": b"the user's"}
    assert (out / "link").is_symlink() and (out / "mine" / "notes.txt").stat().st_ino == notes
    assert out.stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    new = folder_beside(tmp_path / "fresh")
    (new / "a").write_text("a")
    replace_folder(new, tmp_path / "fresh")
    assert _tree(tmp_path / "fresh") == {"a": b"a"} and sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "out"]


def test_folders_a_kill_left_are_cleaned_up_or_put_back(tmp_path) -> None:
    """A new folder abandoned long ago is deleted, a live one (recently written) kept, a failed run's (even
    a recent one) deleted; an old folder moved away by a swap that a kill stopped halfway is put back where
    the folder is missing, else deleted."""
    import os
    import time

    from dope_core.atomic_files import remove_abandoned_folders

    old = time.time() - 3600
    out = tmp_path / "out"
    out.mkdir()
    for name in (".out.k1ll3d_x.new", ".out.l1ve_run.new", ".out.0ld_swap.old", ".out.f4iled_r.failed",
                 ".outx.k1ll3d_x.new", ".out.notours"):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "sub" / "f").write_text(name)
    (tmp_path / ".out.abcd1234.new").symlink_to(out)
    for p in tmp_path.rglob("*"):
        if p.name != "f" or "l1ve_run" not in str(p) and "f4iled_r" not in str(p):
            os.utime(p, (old, old), follow_symlinks=False)
    removed = remove_abandoned_folders(out)
    assert sorted(p.name for p in removed) == [".out.0ld_swap.old", ".out.f4iled_r.failed", ".out.k1ll3d_x.new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".out.abcd1234.new", ".out.l1ve_run.new", ".out.notours", ".outx.k1ll3d_x.new", "out"]
    missing = tmp_path / "gone"
    (tmp_path / ".gone.0ld_swap.old").mkdir()
    (tmp_path / ".gone.0ld_swap.old" / "summary.json").write_text("the old set")
    assert remove_abandoned_folders(missing) == []
    assert (missing / "summary.json").read_text() == "the old set"
    assert remove_abandoned_folders(tmp_path / "nowhere" / "x") == []


def test_a_failed_run_keeps_only_its_log_beside_the_folder(tmp_path) -> None:
    from dope_core.atomic_files import abandon_folder, folder_beside

    new = folder_beside(tmp_path / "out")
    (new / "bag").mkdir()
    (new / "bag" / "part.mcap").write_text("half a recording")
    (new / "node.log").write_text("why it failed")
    failed = abandon_folder(new, keep=("node.log",))
    assert failed.name == new.name[:-len(".new")] + ".failed" and _tree(failed) == {"node.log": b"why it failed"}
    new = folder_beside(tmp_path / "out")
    (new / "bag").mkdir()
    assert abandon_folder(new, keep=("node.log",)) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [failed.name]
