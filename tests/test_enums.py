"""Every enum sdx defines prints as its value on every Python: before 3.11 `str()` of an IntEnum is
`ExitStatus.OK`, and a message, a JSON field or an exit status printed from it would differ by interpreter."""

from __future__ import annotations

import enum
import importlib
import pkgutil

import sdx


def sdx_enums() -> list[type[enum.Enum]]:
    found: list[type[enum.Enum]] = []
    for module_info in pkgutil.walk_packages(sdx.__path__, prefix="sdx."):
        if module_info.name == "sdx.__main__":  # runs the command line when imported
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, enum.Enum) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_sdx_defines_enums_to_check():
    assert any(cls.__name__ == "ExitStatus" for cls in sdx_enums())


def test_every_enum_prints_as_its_value():
    for cls in sdx_enums():
        for member in cls:
            value = str(member.value)
            shown = (str(member), f"{member}", "{}".format(member))  # noqa: UP032 (format() is a third path)
            assert shown == (value, value, value), f"{cls.__name__}.{member.name}"
