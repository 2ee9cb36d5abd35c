"""The config file, `.env` files and option values: every mistake is one sentence with the right exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdx.config import (
    ENVIRONMENT,
    Origin,
    check_max_tokens_option,
    check_timeout_option,
    load_config,
    max_input_kb_problem,
    timeout_problem,
)
from sdx.errors import ConfigError, ExitStatus, UsageError
from tests.test_errors import one_error_line


def load(tmp_path: Path, config: str | None = None, **environ: str):
    home = tmp_path / "sdxhome"
    home.mkdir(exist_ok=True)
    if config is not None:
        (home / "config.toml").write_text(config, encoding="utf-8")
    return load_config({"SDX_HOME": str(home), **environ}, cwd=tmp_path)


# --- timeout, max_input_kb, --max-tokens ---------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [-5.0, 0.0, float("nan"), float("inf"), 1e12])
def test_unusable_timeouts_have_a_reason(seconds):
    assert "must be a number of seconds above 0" in timeout_problem(seconds)


@pytest.mark.parametrize("seconds", [0.5, 60.0, 86400.0])
def test_usable_timeouts(seconds):
    assert timeout_problem(seconds) == ""
    assert check_timeout_option(seconds) == seconds


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "-inf"])
def test_timeout_in_the_config_file_is_checked(tmp_path, value):
    with pytest.raises(ConfigError, match=rf"timeout must be a number of seconds above 0 .*\(got {value}\)"):
        load(tmp_path, f"timeout = {value}\n")


@pytest.mark.parametrize("kb", [-1, 0, 10**9])
def test_max_input_kb_out_of_range_is_a_config_error(tmp_path, kb):
    with pytest.raises(ConfigError, match=rf"max_input_kb must be a whole number of KB from 1 to 65536 \(got {kb}\)"):
        load(tmp_path, f"max_input_kb = {kb}\n")


def test_max_input_kb_in_range(tmp_path):
    assert max_input_kb_problem(1) == max_input_kb_problem(65536) == ""
    assert load(tmp_path, "max_input_kb = 2048\n").max_input_kb == 2048


def test_option_validators_raise_usage_errors():
    with pytest.raises(UsageError, match=r"--timeout must be .*\(got -5\)"):
        check_timeout_option(-5.0)
    with pytest.raises(UsageError, match=r"--max-tokens must be at least 1 \(got 0\)"):
        check_max_tokens_option(0)
    assert check_timeout_option(None) is None and check_max_tokens_option(None) is None
    assert check_max_tokens_option(1) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--timeout", "-5"), "--timeout must be a number of seconds above 0 and at most 86400 (got -5)"),
        (("--timeout", "0"), "(got 0)"),
        (("--timeout", "nan"), "(got nan)"),
        (("--timeout", "inf"), "(got inf)"),
        (("--max-tokens", "0"), "--max-tokens must be at least 1 (got 0)"),
        (("--max-tokens", "-1"), "--max-tokens must be at least 1 (got -1)"),
    ],
)
def test_bad_option_values_are_usage_errors(sdx, fake, args, expected):
    result = sdx.call("ask", *args, "Design a cache")
    assert result.code == ExitStatus.USAGE, result.stderr
    assert expected in one_error_line(result.stderr)
    assert result.stdout == b""
    assert fake.requests == []


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("timeout = 0", "timeout must be a number of seconds above 0 and at most 86400 (got 0) — e.g. timeout = 300"),
        ("timeout = nan", "(got nan)"),
        ("timeout = -5", "(got -5)"),
        ("max_input_kb = -1", "max_input_kb must be a whole number of KB from 1 to 65536 (got -1)"),
        ("max_input_kb = 99999999999", "(got 99999999999)"),
        ("max_tokens = 0", "max_tokens must be at least 1 (got 0) — e.g. max_tokens = 4000"),
        ("max_tokens = -1", "max_tokens must be at least 1 (got -1)"),
        ("max_tokens = 2.5", "max_tokens must be a whole number"),
        ('max_tokens = "2000"', "max_tokens must be a whole number"),
    ],
)
def test_bad_values_in_the_config_file_are_config_errors(sdx, fake, setting, expected):
    sdx.write_config(setting + "\n")
    result = sdx.call("ask", "Design a cache")
    assert result.code == ExitStatus.CONFIG, result.stderr
    line = one_error_line(result.stderr)
    assert str(sdx.config_file) in line and expected in line
    assert fake.requests == []


def test_max_tokens_in_the_config_file_caps_every_command_and_the_option_wins(sdx, fake):
    sdx.config_file.write_text("max_tokens = 1500\n" + sdx.config_file.read_text(encoding="utf-8"), encoding="utf-8")
    (sdx.home / "questions.txt").write_text("Design a cache\n", encoding="utf-8")
    for args in (
        ("ask", "Design a cache"),
        ("chat", "Design a cache"),
        ("batch", "questions.txt", "-o", "guide"),
        ("ask", "--max-tokens", "300", "Design a cache"),
    ):
        result = sdx.call(*args)
        assert result.code == 0, (args, result.stderr)
    assert [request.body["max_tokens"] for request in fake.chat_requests()] == [1500, 1500, 1500, 300]
    assert load_config({"SDX_HOME": str(sdx.config_dir)}, cwd=sdx.home).max_tokens == 1500


def test_no_max_tokens_anywhere_sends_none(sdx, fake):
    assert sdx.call("ask", "Design a cache").code == 0
    assert "max_tokens" not in fake.chat_requests()[0].body


# --- the log setting ---------------------------------------------------------------------------------------------


def test_log_defaults_to_true_and_can_be_turned_off(tmp_path):
    assert load(tmp_path).log is True
    assert load(tmp_path, "log = false\n").log is False


def test_log_must_be_a_boolean(tmp_path):
    with pytest.raises(ConfigError, match=r"log must be true or false$"):
        load(tmp_path, 'log = "no"\n')


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('timeout = "60"', "timeout must be a number —"),
        ("max_input_kb = 1.5", "max_input_kb must be a whole number —"),
        ("default_model = 3", "default_model must be text in quotes —"),
        ("providers = 1", "[providers] must be a table —"),
    ],
)
def test_a_setting_of_the_wrong_type_is_named_in_plain_words(tmp_path, line, said):
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, line + "\n")
    assert said in raised.value.sentence()
    assert " a int" not in raised.value.sentence() and "float" not in raised.value.sentence()


# --- encodings ---------------------------------------------------------------------------------------------------


def test_config_file_with_a_utf8_byte_order_mark_is_read(tmp_path):
    home = tmp_path / "sdxhome"
    home.mkdir()
    (home / "config.toml").write_bytes('\ufefftimeout = 5\ndefault_model = "ollama:ü"\n'.encode())
    config = load_config({"SDX_HOME": str(home)}, cwd=tmp_path)
    assert (config.timeout, config.default_model) == (5.0, "ollama:ü")


def test_config_file_with_bom_end_to_end(sdx, ollama):
    sdx.config_file.write_bytes(b'\xef\xbb\xbfdefault_model = "ollama:qwen"\n')
    result = sdx.call("ask", "Design a cache")
    assert result.code == 0, result.stderr
    assert ollama.chat_requests()[0].body["model"] == "qwen"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_dotenv_with_a_byte_order_mark_is_read(tmp_path, encoding):
    data = "SDX_MODEL=ollama:qwen\nOTHER=é\n".encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # what PowerShell's `>` and Out-File write: a BOM first
        data = "\ufeff".encode(encoding) + data
    (tmp_path / ".env").write_bytes(data)
    config = load(tmp_path)
    assert (config.env["SDX_MODEL"], config.env["OTHER"]) == ("ollama:qwen", "é")


def test_dotenv_that_is_not_utf8_names_the_file(tmp_path):
    (tmp_path / ".env").write_bytes("OTHER=caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"{tmp_path / '.env'} is not UTF-8 text") as caught:
        load(tmp_path)
    assert "save it as UTF-8" in caught.value.fix


def test_dotenv_that_is_not_utf8_end_to_end(sdx, fake):
    (sdx.home / ".env").write_bytes("\x00O\x00K\x00=\x001".encode("latin-1") + b"\xff\xff\xff")
    result = sdx.call("ask", "Design a cache")
    assert result.code == ExitStatus.CONFIG, result.stderr
    assert f"{sdx.home / '.env'} is not UTF-8 text" in one_error_line(result.stderr)
    assert fake.requests == []


def test_dotenv_values_are_not_interpolated(tmp_path):
    """`${VAR}` would copy a variable (a key, from the real environment) into another (a URL)."""
    (tmp_path / ".env").write_text("OLLAMA_HOST=http://x/${HOME}\n")
    assert load(tmp_path).env["OLLAMA_HOST"] == "http://x/${HOME}"


# --- where each variable came from -------------------------------------------------------------------------------


def test_each_variable_knows_its_origin(tmp_path):
    home = tmp_path / "sdxhome"
    home.mkdir()
    (home / ".env").write_text("A=home\nB=home\nC=home\n")
    (tmp_path / ".env").write_text("A=cwd\nB=cwd\n")
    config = load_config({"SDX_HOME": str(home), "A": "environ"}, cwd=tmp_path)
    assert (config.env["A"], config.env["B"], config.env["C"]) == ("environ", "cwd", "home")
    assert config.origin_of("A") == ENVIRONMENT
    assert config.origin_of("B") == Origin(str(tmp_path / ".env"), trusted=False)
    assert config.origin_of("C") == Origin(str(home / ".env"), trusted=True)


def test_working_directory_that_is_the_user_dir_is_trusted(tmp_path):
    home = tmp_path / "sdxhome"
    home.mkdir()
    (home / ".env").write_text("A=home\n")
    config = load_config({"SDX_HOME": str(home)}, cwd=home)
    assert config.origin_of("A") == Origin(str(home / ".env"), trusted=True)


def test_a_dotenv_line_that_is_not_name_value_is_one_sdx_warning(sdx, fake):
    (sdx.home / ".env").write_text("SDX_MODEL=gpt-4o-mini\nthis line is not an assignment\n", encoding="utf-8")
    result = sdx.call("ask", "--no-log", "Design a cache")
    assert result.code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"sdx: warning: line 2 of {sdx.home / '.env'} is not NAME=value; it was ignored"
    ]
