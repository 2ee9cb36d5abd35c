"""CI: build the sdist and the wheel, install the wheel into a fresh environment outside the source tree, and run
sdx from there as a user would, against the loopback test server. This catches package data left out of the
wheel (the question bank, prompt files) and a console script that does not start.

Usage: python .ci/wheel_smoke.py   (with the test environment's Python: it needs `build` and tests/fake_server.py)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fake_server import ANSWER, FakeOpenAI  # noqa: E402


def step(what: str, *command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    print(f"ci: wheel smoke: {what}", flush=True)
    proc = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"ci: wheel smoke: {what} failed (exit {proc.returncode})\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def check(condition: bool, what: str, output: str) -> None:
    if not condition:
        sys.exit(f"ci: wheel smoke: {what}\n--- output ---\n{output}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sdx-wheel-") as scratch:
        root = Path(scratch)
        dist, env_dir, home = root / "dist", root / "venv", root / "home"
        step("build the sdist and the wheel", sys.executable, "-m", "build", "--outdir", dist, REPO, cwd=root)
        wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
        listing = "\n".join(map(str, dist.iterdir()))
        check(len(wheels) == 1 and len(sdists) == 1, "expected one wheel and one sdist", listing)
        check(wheels[0].name.startswith("sdx_interview-"), "the wheel is not named sdx_interview", wheels[0].name)

        venv.create(env_dir, with_pip=True)
        bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
        python = bin_dir / "python"
        step("install the wheel into a fresh environment", python, "-m", "pip", "install", "-q", wheels[0], cwd=root)

        server = FakeOpenAI().start()
        try:
            home.mkdir()
            (home / "config.toml").write_text(f'[providers.openrouter]\nbase_url = "{server.root}/api/v1"\n')
            env = {
                "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                "HOME": str(home),
                "SDX_HOME": str(home),
                "LANG": "C.UTF-8",
                "OPENROUTER_API_KEY": "sk-or-v1-wheel-smoke-test-key",
            }
            sdx = bin_dir / "sdx"
            out = step("sdx --version", sdx, "--version", cwd=home, env=env)
            check(str(env_dir) in out and str(REPO) not in out, "sdx does not run from the installed wheel", out)
            out = step("sdx examples", sdx, "examples", cwd=home, env=env)
            check("URL shortener" in out, "sdx examples lists no questions", out)
            out = step("sdx estimate --reference", sdx, "estimate", "--reference", cwd=home, env=env)
            check("L1 cache" in out, "sdx estimate --reference shows no latency table", out)
            out = step("sdx ask", sdx, "ask", "--no-estimate", "Design a URL shortener", cwd=home, env=env)
            check(out == ANSWER, "sdx ask did not print the server's answer byte for byte", out)
            check(len(server.chat_requests()) == 1, "the server did not receive exactly one request", out)
        finally:
            server.stop()
    print("ci: wheel smoke: ok (build, install, --version, examples, estimate --reference, ask)")


if __name__ == "__main__":
    main()
