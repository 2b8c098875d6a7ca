"""Helpers of the ROS tests: the launch file's command line, node processes, polling.

Kept apart from conftest.py so that test modules can import them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
LAUNCH_FILE = REPO / "launch" / "dope.launch.py"


def launch_arguments() -> tuple[dict[str, tuple[str, str]], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """``ARGUMENTS``, ``NODE_PARAMETERS`` and ``REMAPPINGS`` of the launch file, read with ast.

    (launch is not importable here.)
    """
    tree = ast.parse(LAUNCH_FILE.read_text())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values["ARGUMENTS"], values["NODE_PARAMETERS"], values["REMAPPINGS"]


def node_executable() -> Path:
    """The installed node executable (lib/dope_ros/dope_node in the prefix), else the source script."""
    installed = Path(sys.prefix) / "lib" / "dope_ros" / "dope_node"
    return installed if installed.exists() else REPO / "scripts" / "dope_node"


def launch_command(*, parameters: dict[str, str] | None = None, **overrides: str) -> list[str]:
    """The command the launch file runs: its node executable with the parameters and remappings it would pass.

    ``overrides`` are launch arguments (as ``ros2 launch ... name:=value`` gives them);
    ``parameters`` are further ``-p`` overrides (as a ``params_file`` would give them).
    """
    arguments, node_parameters, remappings = launch_arguments()
    values = {name: default for name, (default, _) in arguments.items()}
    values.update(overrides)
    params_file = values["params_file"] or str(REPO / "config" / "dope.yaml")
    cmd = [sys.executable, str(node_executable()), "--ros-args", "-r", "__node:=dope"]
    if values["namespace"]:
        cmd += ["-r", "__ns:=/" + values["namespace"].lstrip("/")]
    cmd += ["--params-file", params_file]
    for name, argument in remappings:
        cmd += ["-r", f"{name}:={values[argument]}"]
    extra = {name: values[name] for name in node_parameters if values[name] != ""} | dict(parameters or {})
    for name, value in extra.items():
        cmd += ["-p", f"{name}:={value}" if value != "" else f"{name}:=''"]
    return cmd


class NodeProcess:
    """A node running in its own process, its output going to a log file."""

    def __init__(self, cmd: list[str], log: Path) -> None:
        self.log = log
        self._file = open(log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._file, stderr=subprocess.STDOUT, cwd=REPO)

    def output(self) -> str:
        self._file.flush()
        return self.log.read_text()

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready:" in self.output():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.2)
        raise TimeoutError(f"node not ready after {timeout} s:\n{self.output()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._file.close()
        return self.proc.returncode


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 50 ms; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def set_parameter(client, ns: str, name: str, value: bool | float | str) -> tuple[bool, str]:
    """Set one parameter of the node ``/<ns>/dope`` through its set_parameters service, from the
    rclpy node ``client``: ``(successful, reason)``."""
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    kinds = {bool: ("bool_value", ParameterType.PARAMETER_BOOL), float: ("double_value", ParameterType.PARAMETER_DOUBLE),
             str: ("string_value", ParameterType.PARAMETER_STRING)}
    field, kind = kinds[type(value)]
    cli = client.create_client(SetParameters, f"/{ns}/dope/set_parameters")
    try:
        assert cli.wait_for_service(timeout_sec=20)
        request = SetParameters.Request(parameters=[Parameter(name=name, value=ParameterValue(type=kind, **{field: value}))])
        future = cli.call_async(request)
        wait_for(future.done, 20, f"set_parameters {name}")
        result = future.result().results[0]
        return result.successful, result.reason
    finally:
        client.destroy_client(cli)
