"""The first start as a user lives it (issue 15): where the web UI is comes before the
password prompt, log lines wait until the prompt is answered, a start without a terminal
names the command that creates the administrator as it can be run from here, a busy web
port is one clear line, and the sign-in page says how to create the first administrator."""

from __future__ import annotations

import io
import logging
import os
import pty
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coovox import runner
from tests.support.postgres import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def _env(data: Path, port: int, path_without_bin: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
    env.update(COOVOX_DATA_DIR=str(data), COOVOX_WEB_PORT=str(port),
               COOVOX_ARI_URL=f"http://127.0.0.1:{free_port()}", COOVOX_SECRET_KEY="x")
    if path_without_bin:  # `coovox` is not on the PATH: the venv was not activated
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if Path(p) != BIN)
    return env


def _wait_port(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert proc.poll() is None, "coovox exited early"
        time.sleep(0.2)
    pytest.fail("coovox did not listen")


# --- the command named to the user -----------------------------------------------------------


def test_command_name_is_what_runs_from_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tool = tmp_path / ".venv" / "bin" / "coovox"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert runner.command_name(".venv/bin/coovox") == ".venv/bin/coovox"
    assert runner.command_name(str(tool)) == ".venv/bin/coovox"  # relative to here
    monkeypatch.setenv("PATH", f"{tool.parent}:/usr/bin:/bin")  # an activated venv
    assert runner.command_name(str(tool)) == "coovox"
    assert runner.command_name("/somewhere/coovox/__main__.py").endswith(" -m coovox")


def test_a_start_without_a_terminal_names_the_command_as_it_runs_here(tmp_path):
    port = free_port()
    tool = BIN / "coovox"
    proc = subprocess.Popen([str(tool), "run"], env=_env(tmp_path / "data", port),
                            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_port(port, proc)
        time.sleep(0.5)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    # not on the PATH: the line names the path it was started by, which works from here
    line = next(ln for ln in err.splitlines() if "no administrator yet" in ln)
    assert f"`{tool} admin create admin`" in line, line
    assert "WARNING" in line
    assert err.index("web UI on") < err.index("no administrator yet")


# --- the prompt on a terminal ----------------------------------------------------------------


async def test_log_lines_wait_until_the_password_is_typed(coovox, caplog):
    """A line logged while the prompt waits (the ARI connection retrying, say) is printed
    after the prompt was answered, not into it."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    seen_during_prompt: list[str] = []
    answers = iter(["Good-pass-1", "Good-pass-1"])

    def ask(prompt: str) -> str:
        logging.getLogger("coovox.ari.connection").warning("ARI: not connected (test)")
        time.sleep(0.05)
        seen_during_prompt.append(stream.getvalue())
        return next(answers)

    try:
        assert await runner.first_admin(isatty=lambda: True, ask=ask) == "created"
    finally:
        root.removeHandler(handler)
    assert seen_during_prompt and all("(test)" not in text for text in seen_during_prompt)
    out = stream.getvalue()
    assert out.count("ARI: not connected (test)") == 2
    assert out.index("(test)") < out.index("administrator admin created")


def _read_until(fd: int, needle: str, seconds: float, buf: list[str]) -> str:
    deadline = time.monotonic() + seconds
    while needle not in "".join(buf):
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"{needle!r} not seen; output:\n" + "".join(buf))
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                pytest.fail(f"output ended before {needle!r}:\n" + "".join(buf))
            buf.append(chunk.decode(errors="replace"))
    return "".join(buf)


def _reap(pid: int, fd: int, seconds: float) -> int | None:
    """Wait up to ``seconds`` for the child to exit (draining its terminal meanwhile, so it
    never blocks writing); its wait status, or None if it is still running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        try:
            select.select([fd], [], [], 0.2) and os.read(fd, 4096)
        except OSError:
            pass
    return None


def test_on_a_terminal_the_address_comes_first_and_the_prompt_stays_clean(tmp_path):
    port = free_port()
    pid, fd = pty.fork()
    if pid == 0:  # the child: coovox run on a terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "coovox", "run"],
                  _env(tmp_path / "data", port))
    buf: list[str] = []
    try:
        out = _read_until(fd, "Password of the first administrator 'admin':", 60, buf)
        assert f"web UI on http://127.0.0.1:{port}/" in out
        assert out.index("web UI on") < out.index("Password of the first administrator")
        # the ARI connection fails meanwhile (no Asterisk): nothing is printed into the prompt
        time.sleep(1.5)
        ready, _, _ = select.select([fd], [], [], 0.1)
        extra = os.read(fd, 4096).decode(errors="replace") if ready else ""
        assert "ARI" not in extra, extra
        os.write(fd, b"Good-pass-1\n")
        _read_until(fd, "Again:", 10, buf)
        os.write(fd, b"Good-pass-1\n")
        _read_until(fd, "administrator admin created", 20, buf)
    finally:
        os.kill(pid, 15)
        if _reap(pid, fd, 30) is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)


def test_ctrl_c_at_the_password_prompt_stops_at_once(tmp_path):
    port = free_port()
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "coovox", "run"],
                  _env(tmp_path / "data", port))
    buf: list[str] = []
    try:
        _read_until(fd, "Password of the first administrator 'admin':", 60, buf)
        os.write(fd, b"\x03")  # Ctrl-C
        _read_until(fd, "stopping", 15, buf)
        status = _reap(pid, fd, 15)
        assert status is not None and os.WIFEXITED(status), "did not stop after Ctrl-C"
        assert os.WEXITSTATUS(status) == 0
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


# --- a busy web port ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["run"], ["simulate"]])
def test_a_busy_web_port_is_one_clear_line(tmp_path, command):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = [*command, "--port", str(port)] if command == ["simulate"] else command
        done = subprocess.run([sys.executable, "-m", "coovox", *args],
                              env=_env(tmp_path / "data", port), cwd=tmp_path,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("coovox: error:")]
    assert len(errors) == 1, done.stderr
    assert len(done.stderr.splitlines()) <= 4, done.stderr
    line = errors[0]
    assert f"web port {port}" in line and "already in use" in line
    assert ("--port" if command == ["simulate"] else "web_port (COOVOX_WEB_PORT)") in line

