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
