"""The install-time fetch of the models the wheel lacks: checksums, extraction, atomic install (small real tarballs)."""

import base64
import hashlib
import io
import tarfile

import pytest

from dope_core.experts.fetch_models import (PERSON_SSD, POSE_LANDMARK_HEAVY, POSE_LANDMARK_LITE, FetchError, NpmModel,
                                            extract_model, fetch, main)
from dope_core.experts.tflite import MODEL_FILES


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _model(tarball: bytes, payload: bytes) -> NpmModel:
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    return NpmModel(name="pose_landmark_lite", url="https://registry.invalid/none.tgz", integrity=integrity,
                    member="package/pose_landmark_lite.tflite", sha256=hashlib.sha256(payload).hexdigest())


def test_the_model_is_taken_from_a_tarball_that_matches_both_checksums():
    payload = b"TFL3" + bytes(range(256)) * 4
    tgz = _tarball({"package/package.json": b"{}", "package/pose_landmark_lite.tflite": payload})
    model = _model(tgz, payload)
    assert extract_model(tgz, model) == payload
    with pytest.raises(FetchError, match="tarball checksum mismatch"):
        extract_model(tgz + b"\0", model)
    with pytest.raises(FetchError, match="sha256"):
        extract_model(tgz, NpmModel(**{**model.__dict__, "sha256": "0" * 64}))
    other = _tarball({"package/README.md": b"no model here"})
    with pytest.raises(FetchError, match="not in the tarball"):
        extract_model(other, _model(other, payload))
    with pytest.raises(FetchError, match="unsupported integrity"):
        extract_model(tgz, NpmModel(**{**model.__dict__, "integrity": "md5-abc"}))


def test_a_model_packed_with_other_files_is_its_byte_range():
    labels, payload, tail = b"???\nPerson\n", b"TFL3 ssd bytes" * 20, b"more packed files"
    tgz = _tarball({"package/assets.data": labels + payload + tail})
    model = NpmModel(**{**_model(tgz, payload).__dict__, "member": "package/assets.data", "offset": len(labels),
                        "length": len(payload)})
    assert extract_model(tgz, model) == payload
    with pytest.raises(FetchError, match="sha256"):                        # a shifted range is caught
        extract_model(tgz, NpmModel(**{**model.__dict__, "offset": len(labels) + 1}))


def test_fetch_installs_atomically_where_the_experts_look_and_keeps_a_good_copy(tmp_path):
    payload = b"TFL3 lite model bytes"
    tgz = _tarball({"package/pose_landmark_lite.tflite": payload})
    source = tmp_path / "pose.tgz"
    source.write_bytes(tgz)
    dest = tmp_path / "modules"
    path = fetch(_model(tgz, payload), source=source, dest=dest)
    assert path == dest / MODEL_FILES["pose_landmark_lite"] and path.read_bytes() == payload
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == [path.name]          # no temporary file left behind
    source.unlink()                                                        # a good copy is kept: nothing read
    assert fetch(_model(tgz, payload), source=source, dest=dest) == path
    path.write_bytes(b"truncated")                                         # a bad copy is replaced
    with pytest.raises(FileNotFoundError):
        fetch(_model(tgz, payload), source=source, dest=dest)


def test_the_command_says_what_failed_in_one_line(tmp_path, capsys):
    bad = tmp_path / "broken.tgz"
    bad.write_bytes(b"not a tarball")
    assert main(["--model", "pose_landmark_lite", "--from", str(bad), "--dest", str(tmp_path / "modules")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("fetch_models: pose_landmark_lite: tarball checksum mismatch")
    for args in (["--from", str(bad)],                                    # --from names its models
                 ["--model", "pose_landmark_lite", "--model", "person_ssd", "--from", str(bad)]):   # two tarballs
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code == 2 and "--from needs --model" in capsys.readouterr().err


def test_models_of_one_tarball_download_it_once(tmp_path, monkeypatch):
    """The lite and heavy body models share the ``@mediapipe/pose`` tarball: one run fetches it once."""
    import urllib.request

    lite, heavy = b"TFL3" + b"lite" * 64, b"TFL3" + b"heavy" * 64
    tgz = _tarball({"package/pose_landmark_lite.tflite": lite, "package/pose_landmark_heavy.tflite": heavy})
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    models = [NpmModel(name=name, url="https://registry.invalid/pose.tgz", integrity=integrity,
                       member=f"package/{name}.tflite", sha256=hashlib.sha256(data).hexdigest())
              for name, data in (("pose_landmark_lite", lite), ("pose_landmark_heavy", heavy))]
    opened = []

    def urlopen(url, timeout):
        opened.append(url)
        return io.BytesIO(tgz)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    tarballs: dict[str, bytes] = {}
    paths = [fetch(m, dest=tmp_path, tarballs=tarballs) for m in models]
    assert opened == ["https://registry.invalid/pose.tgz"]
    assert [p.read_bytes() for p in paths] == [lite, heavy]
    assert paths[1] == tmp_path / MODEL_FILES["pose_landmark_heavy"]
    assert POSE_LANDMARK_HEAVY.url == POSE_LANDMARK_LITE.url and POSE_LANDMARK_HEAVY.sha256 != POSE_LANDMARK_LITE.sha256


def test_an_installed_lite_model_is_the_pinned_file():
    from dope_core.experts.tflite import ExpertModelNotFound, model_path

    try:
        path = model_path("pose_landmark_lite")
    except ExpertModelNotFound:
        pytest.skip("the lite body model is not installed (scripts/setup_env.sh fetches it)")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == POSE_LANDMARK_LITE.sha256


def test_the_installed_heavy_body_model_is_the_pinned_file():
    """The default configuration's refining body pass (``body_refine: blazepose_heavy``):
    scripts/setup_env.sh must have installed it."""
    from dope_core.experts.tflite import model_path

    path = model_path("pose_landmark_heavy")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == POSE_LANDMARK_HEAVY.sha256


def test_the_installed_person_detector_is_the_pinned_file():
    """The default configuration's ``ssd`` person detector: scripts/setup_env.sh must have installed it."""
    from dope_core.experts.tflite import model_path

    path = model_path("person_ssd")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == PERSON_SSD.sha256


def test_what_a_killed_install_left_is_removed_by_the_next(tmp_path):
    payload = b"TFL3 lite model bytes"
    tgz = _tarball({"package/pose_landmark_lite.tflite": payload})
    (tmp_path / "pose.tgz").write_bytes(tgz)
    dest = tmp_path / "modules"
    target = dest / MODEL_FILES["pose_landmark_lite"]
    target.parent.mkdir(parents=True)
    (target.parent / f"{target.name}.k1ll3d.part").write_bytes(b"2 MB of a model")
    path = fetch(_model(tgz, payload), source=tmp_path / "pose.tgz", dest=dest)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
