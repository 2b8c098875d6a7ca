"""Checks of the training configuration that stop a bad setting before training starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dope_core.train.config import ConfigError, config_from_dict
from train_fixtures import tiny_config


def _with(base: dict[str, Any], section: str, **values: Any) -> dict[str, Any]:
    return {**base, section: {**base.get(section, {}), **values}}


@pytest.mark.parametrize("section,values,message", [
    ("schedule", {"batch_size": True}, r"schedule.batch_size: expected int, got bool"),
    ("data", {"loader_workers": -1}, r"data.loader_workers must be >= 0"),
    ("labels", {"stride": 5, "max_gap": 3}, r"labels.max_gap must be 0 \(none\) or >= labels.stride"),
    ("labels", {"crops": ["hands"]}, r"labels.crops must be body/hand/face"),
    ("validation", {"pck_alpha": 0.0}, r"validation.pck_alpha must be in \(0, 1\]"),
    ("loss_weights", {"loss_body_cls": -1.0}, r"loss_weights must be >= 0"),
])
def test_bad_settings_are_refused(tmp_path: Path, section: str, values: dict[str, Any], message: str) -> None:
    """Each out-of-range or mistyped setting is a ConfigError naming it."""
    base = tiny_config(tmp_path / "cache", tmp_path / "out")
    config_from_dict(base)                                  # the base itself is valid
    with pytest.raises(ConfigError, match=message):
        config_from_dict(_with(base, section, **values))


def test_edge_values_that_are_allowed(tmp_path: Path) -> None:
    """The documented limits themselves are accepted: max_gap 0 or equal to stride, pck_alpha 1, weight 0."""
    base = tiny_config(tmp_path / "cache", tmp_path / "out")
    assert config_from_dict(_with(base, "labels", stride=3, max_gap=3)).labels.max_gap == 3
    assert config_from_dict(_with(base, "labels", stride=3, max_gap=0)).labels.max_gap == 0
    assert config_from_dict(_with(base, "validation", pck_alpha=1.0)).validation.pck_alpha == 1.0
    assert config_from_dict(_with(base, "loss_weights", loss_face_cls=0.0)).loss_weights == {"loss_face_cls": 0.0}
    assert config_from_dict(_with(base, "data", loader_workers=0)).data.loader_workers == 0
