"""Model names, providers, keys and the config file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdx.config import load_config
from sdx.errors import ConfigError, ExitStatus
from sdx.model.registry import (
    DUMMY_KEY,
    normalise_base_url,
    normalise_ollama_host,
    providers,
    resolve,
    split_spec,
    unknown_model_error,
)
from tests.conftest import OPENROUTER_KEY
from tests.test_errors import one_error_line


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


# --- OLLAMA_HOST and base URLs that cannot be used ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("::1", "http://[::1]:11434/v1"),
        ("::1/", "http://[::1]:11434/v1"),
        ("::", "http://localhost:11434/v1"),
        (":11434", "http://localhost:11434/v1"),
        ("  127.0.0.1:8080  ", "http://127.0.0.1:8080/v1"),
    ],
)
def test_more_ollama_host_forms(host, url):
    assert normalise_ollama_host(host) == url


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1:abc", "the port must be a number from 1 to 65535"),
        (":99999", "the port must be a number from 1 to 65535"),
        ("gpu-box:0", "the port must be a number from 1 to 65535"),
        ("not a host", "'not a host' is not a host name"),
        ("ftp://gpu-box", "the scheme must be http or https, not 'ftp'"),
        ("http://[::1", "the brackets around the IPv6 address do not match"),
        ("http://", "there is no host name"),
    ],
)
def test_unusable_ollama_host_is_a_problem_only_when_ollama_is_used(tmp_path, host, reason):
    config = config_for(tmp_path, OLLAMA_HOST=host, OPENROUTER_API_KEY=OPENROUTER_KEY)
    ollama = providers(config)["ollama"]  # listing providers does not raise: models and doctor keep working
    assert reason in ollama.problem
    assert resolve("gpt-4o-mini", config).api_key == OPENROUTER_KEY
    with pytest.raises(
        ConfigError, match=re.escape(f"OLLAMA_HOST is {host!r}, which is not a usable address")
    ) as caught:
        resolve("llama3.2", config)
    assert "127.0.0.1:11434" in caught.value.fix


def test_bad_ollama_host_fails_ollama_only_and_says_why(sdx, fake, ollama):
    env = {"OLLAMA_HOST": "127.0.0.1:abc"}
    result = sdx.call("ask", "--model", "llama3.2", "Design a cache", env=env)
    assert result.code == ExitStatus.CONFIG, result.stderr
    line = one_error_line(result.stderr)
    assert "OLLAMA_HOST is '127.0.0.1:abc', which is not a usable address: the port must be" in line
    assert sdx.call("ask", "Design a cache", env=env).code == 0  # the default model does not need Ollama
    assert len(fake.chat_requests()) == 1


def test_bad_ollama_host_does_not_break_models_or_doctor(sdx, fake, ollama):
    env = {"OLLAMA_HOST": ":99999"}
    result = sdx.call("models", "--json", env=env)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    [row] = [row for row in report["providers"] if row["name"] == "ollama"]
    assert row["base_url"] == ":99999"
    assert "OLLAMA_HOST is ':99999', which is not a usable address" in row["problem"]
    [alias] = [row for row in report["aliases"] if row["alias"] == "llama3.2"]
    assert "not a usable address" in alias["problem"]
    table = sdx.call("models", env=env, tty=True, columns=200)
    assert table.code == 0, table.stderr
    assert "OLLAMA_HOST is ':99999'" in table.stdout.decode()


def test_bad_ollama_host_does_not_break_doctor(sdx, fake, ollama):
    doctor = sdx.call("doctor", env={"OLLAMA_HOST": ":99999"})
    assert doctor.code == ExitStatus.OK, doctor.stderr  # the default model (OpenRouter) is fine
    assert "ollama: OLLAMA_HOST is ':99999', which is not a usable address" in doctor.stdout.decode()


def test_models_table_shows_brackets_and_no_escape_sequences(sdx, fake, ollama):
    sdx.write_config('[providers.local]\nkey_env = "X"\n')
    (sdx.home / ".env").write_text('OPENAI_BASE_URL="http://evil\x1b[2J"\n')
    result = sdx.call("models", tty=True, columns=300)
    out = result.stdout.decode()
    assert result.code == 0, result.stderr
    assert "[providers.local] has no base_url" in out  # not swallowed as Rich markup
    assert "\x1b[2J" not in out and "http://evil␛[2J" in out


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        ("localhost:1234/v1", "http://localhost:1234/v1"),
        ("127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1"),
        ("[::1]:8080/v1", "http://[::1]:8080/v1"),
        ("https://llm.corp/v1/", "https://llm.corp/v1"),
    ],
)
def test_base_url_forms(base_url, url):
    assert normalise_base_url(base_url) == url


def test_remote_base_url_without_scheme_says_so(tmp_path):
    config = config_for(tmp_path, '[providers.gateway]\nbase_url = "llm.corp/v1"\n')
    with pytest.raises(ConfigError, match=r"\[providers.gateway\] base_url in .* is 'llm.corp/v1', .*no scheme"):
        resolve("gateway:big", config)


def test_local_base_url_without_scheme_gets_http(sdx, fake, ollama):
    sdx.write_config(f'default_model = "studio:qwen"\n[providers.studio]\nbase_url = "127.0.0.1:{ollama.port}/v1"\n')
    result = sdx.call("ask", "Design a cache")
    assert result.code == 0, result.stderr
    assert ollama.chat_requests()[0].body["model"] == "qwen"


def test_openai_base_url_without_scheme_is_named(sdx, fake):
    result = sdx.call(
        "ask",
        "-m",
        "openai:gpt-4o",
        "q",
        env={"OPENAI_API_KEY": "sk-x-123456789", "OPENAI_BASE_URL": "api.example.com/v1"},
    )
    assert result.code == ExitStatus.CONFIG, result.stderr
    assert "OPENAI_BASE_URL is 'api.example.com/v1', which is not a usable address: it has no scheme" in one_error_line(
        result.stderr
    )


# --- aliases -------------------------------------------------------------------------------------------------------


def test_alias_pointing_at_an_alias_is_followed(tmp_path):
    config = config_for(tmp_path, '[aliases]\nfast = "qwen"\nqwen = "ollama:qwen2.5:7b"\ncheap = "gpt-4o-mini"\n')
    target = resolve("fast", config)
    assert (target.name, target.provider.name, target.model_id) == ("fast", "ollama", "qwen2.5:7b")
    assert (
        resolve(
            "cheap", config_for(tmp_path, '[aliases]\ncheap = "gpt-4o-mini"\n', OPENROUTER_API_KEY=OPENROUTER_KEY)
        ).model_id
        == "openai/gpt-4o-mini"
    )


def test_alias_loop_is_named(tmp_path):
    config = config_for(tmp_path, '[aliases]\nfast = "quick"\nquick = "speedy"\nspeedy = "quick"\n')
    with pytest.raises(ConfigError, match="the aliases form a loop: quick → speedy → quick"):
        resolve("fast", config)


def test_alias_to_itself_is_a_loop(tmp_path):
    with pytest.raises(ConfigError, match="loop: fast → fast"):
        resolve("fast", config_for(tmp_path, '[aliases]\nfast = "fast"\n'))


def test_alias_to_an_unknown_provider_names_it(sdx, fake):
    sdx.write_config('[aliases]\nfast = "fsat:qwen"\n')
    result = sdx.call("ask", "-m", "fast", "Design a cache")
    assert result.code == ExitStatus.CONFIG, result.stderr
    line = one_error_line(result.stderr)
    assert "alias fast → fsat:qwen: there is no provider 'fsat'" in line
    assert "did you mean fast" not in line and "known providers: openrouter, ollama, openai" in line


def test_alias_to_neither_alias_nor_spec(tmp_path):
    config = config_for(tmp_path, '[aliases]\nfast = "quick"\nquick = "qwen2"\n')
    with pytest.raises(ConfigError, match="alias fast → quick → qwen2: 'qwen2' is neither an alias nor provider:model"):
        resolve("fast", config)


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("opnai:gpt-4o", "unknown model 'opnai:gpt-4o': there is no provider 'opnai' — did you mean openai:gpt-4o?"),
        ("zz:gpt-4o", "there is no provider 'zz' — the providers are openrouter, ollama, openai;"),
        ("openai", "unknown model 'openai': openai is a provider, not a model — name one of its models: openai:MODEL"),
        ("openai:", "unknown model 'openai:': it names no model after openai: — e.g. openai:MODEL"),
        ("llama3", "unknown model 'llama3' — did you mean llama3.2? `sdx models` lists"),
        ("qwen", "unknown model 'qwen' — `sdx models` lists the aliases and providers, or use provider:model"),
    ],
)
def test_an_unknown_model_or_provider_is_named_in_plain_words(sdx, fake, name, said):
    result = sdx.call("ask", "-m", name, "Design a cache")
    assert result.code == ExitStatus.CONFIG
    line = one_error_line(result.stderr)
    assert said in line
    suggested = line.split("did you mean ")[1].split("?")[0] if "did you mean " in line else ""
    assert ":?" not in line and "ollama:" not in suggested
    assert fake.requests == []


def test_unknown_model_never_suggests_itself():
    error = unknown_model_error("fast", {"fast": "fsat:x", "fats": "ollama:x"}, {})
    assert "did you mean fats? " in error.fix


def test_models_lists_a_broken_alias_with_its_problem(sdx, fake, ollama):
    sdx.write_config('[aliases]\nfast = "quick"\nquick = "fast"\nlocal = "qwen"\nqwen = "ollama:qwen2.5"\n')
    result = sdx.call("models", "--json")
    assert result.code == 0, result.stderr
    rows = {row["alias"]: row for row in json.loads(result.stdout)["aliases"]}
    assert "loop" in rows["fast"]["problem"]
    assert (rows["local"]["provider"], rows["local"]["model_id"], rows["local"]["problem"]) == (
        "ollama",
        "qwen2.5",
        None,
    )


# --- precedence: the environment beats the config file ------------------------------------------------------------


def test_ollama_host_beats_the_config_files_base_url(sdx, fake, ollama):
    sdx.write_config(f'[providers.ollama]\nbase_url = "{fake.base_url}"\n')
    result = sdx.call("ask", "-m", "llama3.2", "Design a cache")  # OLLAMA_HOST points at `ollama`
    assert result.code == 0, result.stderr
    assert len(ollama.chat_requests()) == 1 and fake.requests == []
    result = sdx.call("ask", "-m", "llama3.2", "Design a cache", env={"OLLAMA_HOST": None})
    assert result.code == 0, result.stderr
    assert len(fake.chat_requests()) == 1  # without OLLAMA_HOST, the config file's base_url is used


def test_openai_base_url_beats_the_config_files_base_url(sdx, fake, ollama):
    # the fixture's config file points [providers.openai] at `fake`
    result = sdx.call(
        "ask",
        "-m",
        "openai:gpt-4o",
        "q",
        env={"OPENAI_API_KEY": "sk-openai-123456", "OPENAI_BASE_URL": ollama.base_url},
    )
    assert result.code == 0, result.stderr
    assert len(ollama.chat_requests()) == 1 and fake.requests == []


# --- keys: a .env in the working directory cannot redirect them ---------------------------------------------------

OPENAI_KEY = "sk-openai-REAL-KEY-0123456789"


def key_reached(server) -> bool:
    return any(OPENAI_KEY in f"{r.path} {r.headers} {r.body}" for r in server.requests)


def test_dotenv_here_cannot_send_a_key_from_the_environment_elsewhere(sdx, fake, ollama):
    capture = ollama
    (sdx.home / ".env").write_text(f"OPENAI_BASE_URL={capture.base_url}\n")
    result = sdx.call("ask", "-m", "openai:gpt-4o", "Design a cache", env={"OPENAI_API_KEY": OPENAI_KEY})
    assert result.code == ExitStatus.CONFIG, result.stderr
    line = one_error_line(result.stderr)
    assert (
        f"refusing to send OPENAI_API_KEY (from the environment) to the OPENAI_BASE_URL set in {sdx.home / '.env'}"
        in line
    )
    assert capture.requests == [] and fake.requests == []
    assert OPENAI_KEY not in result.stderr


def test_dotenv_here_cannot_redirect_a_key_from_the_user_dirs_dotenv(sdx, fake, ollama):
    (sdx.config_dir / ".env").write_text(f"OPENAI_API_KEY={OPENAI_KEY}\n")
    (sdx.home / ".env").write_text(f"OPENAI_BASE_URL={ollama.base_url}\n")
    result = sdx.call("ask", "-m", "openai:gpt-4o", "Design a cache")
    assert result.code == ExitStatus.CONFIG, result.stderr
    assert f"(from {sdx.config_dir / '.env'})" in one_error_line(result.stderr)
    assert not key_reached(ollama) and ollama.requests == []


def test_dotenv_here_cannot_redirect_a_key_to_a_keyed_ollama(sdx, fake, ollama):
    sdx.write_config('[providers.ollama]\nkey_env = "OLLAMA_KEY"\n')
    (sdx.home / ".env").write_text(f"OLLAMA_HOST={ollama.root}\n")
    result = sdx.call("ask", "-m", "llama3.2", "q", env={"OLLAMA_HOST": None, "OLLAMA_KEY": OPENAI_KEY})
    assert result.code == ExitStatus.CONFIG, result.stderr
    assert "refusing to send OLLAMA_KEY (from the environment) to the OLLAMA_HOST set in" in one_error_line(
        result.stderr
    )
    assert ollama.requests == []


def test_key_and_base_url_from_the_same_dotenv_are_used(sdx, fake, ollama):
    (sdx.home / ".env").write_text(f"OPENAI_API_KEY={OPENAI_KEY}\nOPENAI_BASE_URL={ollama.base_url}\n")
    result = sdx.call("ask", "-m", "openai:gpt-4o", "Design a cache")
    assert result.code == 0, result.stderr
    assert ollama.chat_requests()[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_base_url_from_a_trusted_place_receives_the_key(sdx, fake, ollama):
    (sdx.config_dir / ".env").write_text(f"OPENAI_BASE_URL={ollama.base_url}\n")
    (sdx.home / ".env").write_text(f"OPENAI_API_KEY={OPENAI_KEY}\n")  # a key from ./.env may go anywhere trusted
    result = sdx.call("ask", "-m", "openai:gpt-4o", "Design a cache")
    assert result.code == 0, result.stderr
    assert ollama.chat_requests()[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    result = sdx.call(
        "ask", "-m", "openai:gpt-4o", "q", env={"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": ollama.base_url}
    )
    assert result.code == 0, result.stderr


def test_dotenv_here_cannot_copy_a_key_into_a_url(sdx, fake, ollama, monkeypatch):
    """No `${VAR}` interpolation: a keyless provider's URL cannot carry a key out."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    (sdx.home / ".env").write_text(f"OLLAMA_HOST={ollama.root}/${{OPENAI_API_KEY}}\n")
    sdx.call("ask", "-m", "llama3.2", "Design a cache", env={"OLLAMA_HOST": None, "OPENAI_API_KEY": OPENAI_KEY})
    assert ollama.requests and not key_reached(ollama)


def test_models_sends_no_key_to_a_redirected_base_url(sdx, fake, ollama):
    (sdx.home / ".env").write_text(f"OPENAI_BASE_URL={ollama.base_url}\n")
    result = sdx.call("models", "--json", env={"OPENAI_API_KEY": OPENAI_KEY})
    assert result.code == 0, result.stderr
    [row] = [row for row in json.loads(result.stdout)["providers"] if row["name"] == "openai"]
    assert row["problem"].startswith("refusing to send OPENAI_API_KEY")
    assert not key_reached(ollama)


def test_doctor_sends_no_key_to_a_redirected_base_url(sdx, fake, ollama):
    (sdx.home / ".env").write_text(f"OPENAI_BASE_URL={ollama.base_url}\n")
    result = sdx.call("doctor", env={"OPENAI_API_KEY": OPENAI_KEY})
    assert "openai: refusing to send OPENAI_API_KEY" in result.stdout.decode()
    assert not key_reached(ollama)


def test_real_process_in_an_untrusted_checkout_keeps_the_key(sdx, fake, ollama):
    """Through the real entry point: the working directory's `.env` is found and distrusted as in-process."""
    (sdx.home / ".env").write_text(f"OPENAI_BASE_URL={ollama.base_url}\n")
    result = sdx.run("ask", "-m", "openai:gpt-4o", "Design a cache", env={"OPENAI_API_KEY": OPENAI_KEY})
    assert result.code == ExitStatus.CONFIG, result.stderr
    assert "refusing to send OPENAI_API_KEY (from the environment)" in one_error_line(result.stderr)
    assert ollama.requests == [] and OPENAI_KEY not in result.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab1:/[]. %@-_\x1bé"), max_size=20) | st.text(max_size=20))
def test_any_address_is_a_url_or_a_reason(text):
    """Whatever OLLAMA_HOST or a base_url holds, the answer is a usable URL or a ValueError (never another crash)."""
    for normalise in (normalise_ollama_host, normalise_base_url):
        try:
            url = normalise(text)
        except ValueError as exc:
            assert str(exc)
            continue
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https") and parts.hostname and (parts.port is None or parts.port > 0)
