"""`sdx models` shows what a custom provider serves (its /v1/models), or why it cannot tell, as `sdx doctor` does."""

from __future__ import annotations

import json

from tests.fake_server import Failure


def test_models_shows_the_status_of_custom_providers(sdx, fake, ollama):
    sdx.write_config(
        f'[providers.openrouter]\nbase_url = "{fake.root}/api/v1"\n'
        f'[providers.local]\nbase_url = "{ollama.base_url}"\n'
        '[providers.gone]\nbase_url = "http://127.0.0.1:9/v1"\n'
        f'[providers.locked]\nbase_url = "{fake.root}/locked/v1"\nkey_env = "LOCKED_KEY"\n'
    )
    fake.scenario.failures.append(Failure.json_error(401, "invalid api key", path="/locked/v1/models"))
    rows = {
        row["name"]: row
        for row in json.loads(sdx.call("models", "--json", env={"LOCKED_KEY": "k-0123456789"}).out)["providers"]
    }
    assert (rows["local"]["reachable"], rows["local"]["models"], rows["local"]["status"]) == (
        True,
        ["llama3.2:latest", "openai/gpt-4o-mini"],
        None,
    )
    assert rows["gone"]["reachable"] is False and "cannot reach http://127.0.0.1:9/v1/models" in rows["gone"]["status"]
    assert rows["locked"]["reachable"] is True and "401" in rows["locked"]["status"]
    assert [r.headers.get("authorization") for r in fake.requests if r.path == "/locked/v1/models"] == [
        "Bearer k-0123456789"
    ]
    fake.scenario.failures.append(Failure.json_error(401, "invalid api key", path="/locked/v1/models"))
    table = sdx.call("models", tty=True, columns=250, env={"LOCKED_KEY": "k-0123456789"}).out
    line = next(line for line in table.splitlines() if "│ local " in line)
    assert "serving: llama3.2:latest, openai/gpt-4o-mini" in line
    assert "cannot reach" in next(line for line in table.splitlines() if "│ gone " in line)
