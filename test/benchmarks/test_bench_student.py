"""benchmarks/bench_student.py: people-count groups, speed-ups on the same frames, and a short real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from script_loader import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_student.py"


@pytest.fixture(scope="module")
def script():
    return load_script("bench_student")


def test_groups_by_people(script):
    assert [script.group_of(n) for n in (0, 1, 2, 4, 5, 12)] == ["0", "1", "2-4", "2-4", "5+", "5+"]


def test_summary_ratios_use_the_same_frames(script):
    video = {"experts_s": 0.4, "experts_cpu_s": 0.5, "streaming_s": 0.2, "streaming_cpu_s": 0.3,
             "network_s": 0.1, "network_cpu_s": 0.15, "people": 3}
    photo = {"experts_s": 0.9, "experts_cpu_s": 1.0, "network_s": 0.1, "network_cpu_s": 0.15, "people": 2}
    single = {"experts_s": 0.2, "experts_cpu_s": 0.2, "network_s": 0.1, "network_cpu_s": 0.1, "people": 1}
    s = script.summarise([video, photo, single])
    assert list(s) == ["1", "2-4"]
    g = s["2-4"]
    assert g["frames"] == 2 and g["photos"] == 1
    assert g["experts"]["ms"] == pytest.approx(650.0) and g["streaming"]["frames"] == 1
    assert g["network_vs_experts"] == pytest.approx(1.3 / 0.2)
    assert g["network_vs_streaming"] == pytest.approx(0.2 / 0.1)   # the video frame only
    assert "streaming" not in s["1"] and s["1"]["network_vs_experts"] == pytest.approx(2.0)


@pytest.mark.timeout(300)
def test_short_real_run(script, tmp_path, capsys):
    cv2 = pytest.importorskip("cv2")
    from matplotlib import cbook

    portrait = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "portrait.jpg").write_bytes(portrait.read_bytes())
    image = cv2.imread(str(portrait))
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (image.shape[1], image.shape[0]))
    for _ in range(3):
        writer.write(image)
    writer.release()
    out = tmp_path / "out"
    assert script.main(["--video", str(clip), "--photos", str(photos), "--frames", "2", "--out", str(out)]) == 0
    report = json.loads((out / "bench_student.json").read_text())
    assert len(report["frames"]) == 3                                # 2 clip frames + 1 photo
    assert [r["people"] for r in report["frames"]] == [1, 1, 1]      # the experts find the one person
    assert report["groups"]["1"]["photos"] == 1 and report["groups"]["1"]["streaming"]["frames"] == 2
    table = capsys.readouterr().out
    assert "| 1 | 3 (1) |" in table and "network speed-up" in table
