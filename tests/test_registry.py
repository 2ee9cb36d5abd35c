"""Model names, providers, keys and the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdx.config import load_config
from sdx.errors import ConfigError
from sdx.model.registry import DUMMY_KEY, normalise_ollama_host, resolve, split_spec
from tests.conftest import OPENROUTER_KEY


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("", "http://localhost:11434/v1"),
        ("127.0.0.1:11434", "http://127.0.0.1:11434/v1"),
        ("http://gpu-box:11434", "http://gpu-box:11434/v1"),
        ("http://gpu-box:11434/", "http://gpu-box:11434/v1"),
        ("http://gpu-box:11434/v1", "http://gpu-box:11434/v1"),
        ("0.0.0.0", "http://localhost:11434/v1"),
        ("gpu-box", "http://gpu-box:11434/v1"),
        ("https://ollama.example.com", "https://ollama.example.com:443/v1"),
        ("[::1]:11434", "http://[::1]:11434/v1"),
    ],
)
def test_ollama_host_forms(host, url):
    assert normalise_ollama_host(host) == url


def test_provider_model_splits_on_the_first_colon_only():
    assert split_spec("ollama:qwen2.5:7b") == ("ollama", "qwen2.5:7b")


def config_for(tmp_path: Path, text: str = "", **env: str):
    home = tmp_path / "sdxhome"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(text)
    return load_config({"SDX_HOME": str(home), **env}, cwd=tmp_path)


def test_default_model_precedence(tmp_path):
    from sdx.model.registry import chosen_model_name

    config = config_for(tmp_path, 'default_model = "from-config"\n')
    assert chosen_model_name("from-flag", config) == "from-flag"
    assert chosen_model_name(None, config) == "from-config"
    config = config_for(tmp_path, 'default_model = "from-config"\n', SDX_MODEL="from-env")
    assert chosen_model_name(None, config) == "from-env"
    assert chosen_model_name(None, config_for(tmp_path)) == "gpt-4o-mini"


def test_keyless_provider_gets_a_dummy_key_never_another_providers(tmp_path):
    config = config_for(tmp_path, OPENROUTER_API_KEY=OPENROUTER_KEY, OPENAI_API_KEY="sk-openai-123456")
    target = resolve("ollama:qwen2.5:7b", config)
    assert (target.model_id, target.api_key) == ("qwen2.5:7b", DUMMY_KEY)
    assert resolve("openai:gpt-4o", config).api_key == "sk-openai-123456"
    assert resolve("gpt-4o-mini", config).api_key == OPENROUTER_KEY


def test_custom_provider_uses_only_its_own_key_variable(tmp_path):
    text = '[providers.gateway]\nbase_url = "https://llm.corp/v1/"\nkey_env = "CORP_KEY"\n'
    config = config_for(tmp_path, text, OPENROUTER_API_KEY=OPENROUTER_KEY)
    with pytest.raises(ConfigError, match="CORP_KEY is not set"):
        resolve("gateway:big", config)
    target = resolve("gateway:big", config_for(tmp_path, text, CORP_KEY="corp-secret-1"))
    assert (target.base_url, target.api_key) == ("https://llm.corp/v1", "corp-secret-1")


def test_aliases_from_the_config_file(tmp_path):
    config = config_for(tmp_path, '[aliases]\nqwen = "ollama:qwen2.5:7b"\n')
    target = resolve("qwen", config)
    assert (target.provider.name, target.model_id) == ("ollama", "qwen2.5:7b")


def test_provider_without_base_url_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"\[providers.local\] has no base_url"):
        resolve("local:m", config_for(tmp_path, "[providers.local]\n"))


def test_unknown_setting_is_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting 'defualt_model'"):
        config_for(tmp_path, 'defualt_model = "x"\n')


def test_environment_beats_dotenv_here_beats_dotenv_in_user_dir(tmp_path):
    home = tmp_path / "sdxhome"
    home.mkdir()
    (home / ".env").write_text("A=home\nB=home\nC=home\n")
    (tmp_path / ".env").write_text("A=cwd\nB=cwd\n")
    config = load_config({"SDX_HOME": str(home), "A": "environ"}, cwd=tmp_path)
    assert (config.env["A"], config.env["B"], config.env["C"]) == ("environ", "cwd", "home")


def test_custom_provider_end_to_end_gets_no_foreign_key(sdx, fake, ollama):
    sdx.write_config(f'default_model = "studio:qwen"\n[providers.studio]\nbase_url = "{ollama.base_url}"\n')
    result = sdx.run("ask", "Design a cache")
    assert result.code == 0, result.stderr
    [request] = ollama.chat_requests()
    assert request.body["model"] == "qwen"
    assert request.headers["authorization"] == f"Bearer {DUMMY_KEY}"
    assert fake.requests == []


def test_ollama_alias_goes_to_ollama_host_with_the_dummy_key(sdx, fake, ollama):
    result = sdx.run("ask", "--model", "llama3.2", "Design a cache")
    assert result.code == 0, result.stderr
    [request] = ollama.chat_requests()
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "llama3.2"
    assert OPENROUTER_KEY not in str(request.headers)
    assert fake.requests == []


def test_sdx_model_variable_picks_the_model(sdx, ollama):
    result = sdx.run("ask", "Design a cache", env={"SDX_MODEL": "ollama:qwen2.5:7b"})
    assert result.code == 0, result.stderr
    assert ollama.chat_requests()[0].body["model"] == "qwen2.5:7b"
