"""The one process runner: argv in, code and both streams out, timeouts kill the group."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from fabrikate.errors import ProcessError, TimedOut, ToolNotFound
from fabrikate.support.process import Command, run


def test_stdout_and_stderr_come_back_apart_and_stdin_is_fed() -> None:
    done = run(Command(("sh", "-c", "cat; echo oops >&2; exit 3"), input=b"in\n"))
    assert (done.returncode, done.stdout, done.stderr) == (3, "in\n", "oops\n")
    with pytest.raises(ProcessError, match=r"sh failed \(exit 3\): oops") as info:
        done.check()
    assert info.value.returncode == 3


def test_without_input_stdin_is_empty() -> None:
    assert run(Command(("cat",))).stdout == ""


def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 30 & echo $! > {pids}; wait"
    started = time.monotonic()
    with pytest.raises(TimedOut, match="timed out after 0.5s"):
        run(Command(("sh", "-c", script), timeout=0.5))
    assert time.monotonic() - started < 20
    child = int(pids.read_text())
    for _ in range(100):  # reaped by its parent's death; give the kernel a moment
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the background child {child} outlived the timeout")


def test_secrets_never_show_in_the_command_line_or_its_errors() -> None:
    command = Command(("sh", "-c", "echo s3cret >&2; exit 1", "s3cret"), secrets=("s3cret",))
    assert "s3cret" not in str(command)
    with pytest.raises(ProcessError) as info:
        run(command).check()
    assert "s3cret" not in str(info.value) and "s3cret" not in info.value.stderr


def test_a_missing_tool_and_a_missing_folder_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ToolNotFound, match="executable not found: no-such-tool"):
        run(Command(("no-such-tool",), what="tool"))
    with pytest.raises(ProcessError, match="working directory does not exist") as info:
        run(Command(("true",), cwd=str(tmp_path / "gone")))
    assert not isinstance(info.value, ToolNotFound)


def test_git_variables_of_a_calling_hook_do_not_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_DIR", "/elsewhere/.git")
    monkeypatch.setenv("KEPT", "yes")
    done = run(Command(("sh", "-c", 'echo "${GIT_DIR:-none} $KEPT $EXTRA"'), env={"EXTRA": "x"}))
    assert done.stdout == "none yes x\n"
    only = run(Command(("/bin/sh", "-c", 'echo "${KEPT:-gone}"'), env={}, replace_env=True))
    assert only.stdout == "gone\n"
