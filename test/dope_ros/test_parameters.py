"""ROS descriptors of the node's parameters (pure: no node, no rclpy.init)."""

from __future__ import annotations

from dope_ros.parameters import PARAMETERS, descriptor


def test_descriptors_carry_read_only_and_the_range_of_the_right_type() -> None:
    """descriptor(): read-only as declared, integer ranges for int parameters (step 1), float ranges otherwise."""
    assert descriptor("backend").read_only is True
    assert descriptor("body_score_threshold").read_only is False
    assert all(descriptor(name).read_only is p.read_only for name, p in PARAMETERS.items())
    ints = descriptor("num_threads")
    assert not ints.floating_point_range
    (r,) = ints.integer_range
    assert (r.from_value, r.to_value, r.step) == (1, 64, 1)
    floats = descriptor("detect_every_s")
    assert not floats.integer_range
    (f,) = floats.floating_point_range
    assert (f.from_value, f.to_value, f.step) == (0.0, 3600.0, 0.0)
    plain = descriptor("fp16")
    assert not plain.integer_range and not plain.floating_point_range and plain.name == "fp16"
