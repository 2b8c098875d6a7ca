"""Worked examples of consuming the DOPE node (docs/teleop.md)."""
