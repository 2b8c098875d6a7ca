"""The comparison table of validation reports."""

from dope_core.train.report import comparison_table


def _report(mode: str, pck: float, accuracy: dict | None) -> dict:
    parts = {"body": {"pck": pck, "recall": 0.5, "precision": 0.75, "mpjpe_3d_mm": 123.4, "teachers": 10, "students": 6},
             "hand": {"pck": 0.0, "recall": 0.0, "precision": float("nan"), "mpjpe_3d_mm": None, "teachers": 4, "students": 0}}
    return {"step": 800, "mode": mode, "agreement": {"images": 3, "alpha": 0.1, "parts": parts}, "accuracy": accuracy}


def test_one_row_per_run_and_part_with_formatted_values():
    accuracy = {"all/body/detection_rate": 0.52, "all/body/pck@0.1": 0.1951, "all/body/mpjpe_mm": 254.2,
                "h36m/body/pck@0.1": 0.9}
    table = comparison_table({"distilled": _report("distillation", 0.2314, accuracy),
                              "hard": _report("hard", 0.176, None)}).splitlines()
    assert table[0].count("|") == table[1].count("|") == 13
    assert table[2] == ("| distilled | distillation | 800 | body | 0.231 @0.1 | 0.50 | 0.75 | 123 "
                        "| 0.52 | 0.195 | 254 | - |")
    assert table[3] == "| distilled | distillation | 800 | hand | 0.000 @0.1 | 0.00 | - | - | - | - | - | - |"
    assert table[4].startswith("| hard | hard | 800 | body | 0.176 @0.1 |") and table[4].endswith("| - | - | - | - |")
    assert len(table) == 6


def test_compare_refuses_what_is_not_a_report_in_one_line(tmp_path, capsys):
    from dope_core.train.cli import main

    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "other.json").write_text('{"a": 1}')
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    for bad, why in (("list.json", "is not a validation report"), ("other.json", "is not a validation report"),
                     ("binary.json", "is not a validation report"), (".", "Is a directory")):
        assert main(["compare", str(tmp_path / bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("dope-train compare: error:") and why in err and "\n" not in err, err


def test_rows_per_kind_of_image_follow_when_the_report_splits_them():
    report = _report("distillation", 0.2314, None)
    report["agreement"]["by_kind"] = {
        "whole": {"images": 2, "parts": {"body": {"pck": 0.4, "recall": 0.75, "precision": 0.9, "mpjpe_3d_mm": 100.0}}},
        "crops": {"images": 1, "parts": {"body": {"pck": 0.05, "recall": 0.1, "precision": 0.5, "mpjpe_3d_mm": 200.0}}}}
    table = comparison_table({"run": report}).splitlines()
    assert table[4] == "| run | distillation | 800 | body, whole images (2) | 0.400 @0.1 | 0.75 | 0.90 | 100 | - | - | - | - |"
    assert table[5] == "| run | distillation | 800 | body, crops (1) | 0.050 @0.1 | 0.10 | 0.50 | 200 | - | - | - | - |"
    assert len(table) == 6


def test_compare_gives_every_report_its_own_rows(tmp_path, capsys):
    """Two reports of one run folder (validation.json, final_validation.json), or of two folders of the same
    name, each get their rows under a name that tells them apart; other reports keep their folder's name."""
    import json

    from dope_core.train.cli import main

    files = {tmp_path / "run1" / "validation.json": 0.111, tmp_path / "run1" / "final_validation.json": 0.222,
             tmp_path / "run2" / "final_validation.json": 0.333, tmp_path / "b" / "run2" / "final_validation.json": 0.444}
    for path, pck in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_report("distillation", pck, None)))
    paths = list(files)
    assert main(["compare", *map(str, paths)]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()[2:]]
    body = {r[0].lstrip("| "): r[4] for r in rows if r[3] == "body"}
    assert body == {"run1/validation.json": "0.111 @0.1", "run1/final_validation.json": "0.222 @0.1",
                    str(paths[2]): "0.333 @0.1", str(paths[3]): "0.444 @0.1"}
    from dope_core.train.cli import report_names

    assert report_names([paths[0], paths[2]]) == ["run1", "run2"]
    assert report_names([paths[1], paths[1]]) == ["run1", "run1 #2"]
