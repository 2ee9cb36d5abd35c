"""Free text: "50M DAU, 20 posts per user per day, 10 reads per write, 1 KB each, keep 5 years"."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

from sdx.domain.estimates.figures import Estimate, Stated, compute, merge
from sdx.domain.estimates.formatting import format_number
from sdx.domain.estimates.units import (
    NUMBER,
    SECONDS_PER_DAY,
    parse_count,
    parse_duration,
    parse_ratio,
    parse_size,
)
from sdx.errors import UsageError

_COUNT_WORDS = r"thousand|million|billion|trillion|mn|bn|tn|mm|k|m|b|t"
# A figure starts where no digit does: a long run of digits is then tried once, not from each of its positions.
_FIGURE = rf"(?<!\d)(?<!\d[.,])(?:{NUMBER})"
_COUNT = rf"(?P<q>(?:{_FIGURE})(?:\s*(?:{_COUNT_WORDS})\b)?)"
_NUM = rf"(?P<q>{_FIGURE})"
_SIZE = rf"(?P<q>(?:{_FIGURE})\s*(?:[kmgtpe]i?b|bytes?)\b)"
_DURATION = (
    rf"(?P<q>(?:{_FIGURE})\s*(?:years?|yrs?|y|months?|mos?|weeks?|wks?|w|days?|d|hours?|hrs?|h)\b"
    r"|(?:a|an|one)\s+(?:year|month|week|day))"
)
_PER_SECOND = r"(?:qps|rps|req/s|(?:requests?|queries|reqs?)\s*(?:/|per)\s*s(?:ec(?:ond)?)?)\b"
_SERVER = r"(?:servers?|nodes?|machines?|hosts?|instances?|boxes|box)\b"
_USER = r"(?:users?|dau|persons?|members?)\b"
_PER = r"(?:per|a|/|each|every)"
_GAP = r"[^,;.\d]{0,30}?"  # words inside one clause, no figure
_WORDS = r"(?:[a-z]+\s+){0,2}?"
_READ_NOUNS = re.compile(
    r"\b(?:reads?|reading|views?|viewing|watch\w*|visits?|lookups?|fetch\w*|gets?|clicks?|impressions?|searche?s?)\b",
    re.I,
)
_REQUEST_NOUNS = re.compile(r"\b(?:requests?|queries|calls|hits|api calls)\b", re.I)
_SIZE_NOUNS = re.compile(r"\b(?:[kmgtpe]i?b|bytes?|bits?)\b", re.I)
_USER_NOUNS = re.compile(rf"\b{_USER}", re.I)
_NOUNS = r"(?P<nouns>(?:[a-z]+\b\s*){0,2}?)"  # up to two words: "posts", "new photos"
_DAY = r"(?:(?:per|a|/|each|every)\s*day\b|daily\b)"
# "per user", "/user", "each" (not "each of 1 KB", "each 2 KB", "each is…"), "apiece"
_PER_USER = (
    rf"(?:(?:per|a|/|each|every)\s*{_USER}"
    r"|(?:each|apiece)\b(?!\s*(?:of|is|are|at|about|around|averag\w*|weigh\w*|up)\b|\s*[~\d]))"
)
_TOTAL = r"(?:in\s+total|total|overall|in\s+aggregate|altogether|across\s+(?:all\s+)?users|platform[- ]wide)\b"
# Free text with a DAU stated: an "N things a day" that says neither per user nor in total is read as per user
# when a person could do that many (at most PER_USER_MAX) and, as a total, it would be fewer than one a day per
# 1,000 users; as a total when no person would do that many and it is at least one a day per 1,000 users;
# otherwise (both readings or neither plausible) it is listed as not understood.
PER_USER_MAX = 1000
TOTAL_MIN_SHARE = Fraction(1, 1000)
_AT_PEAK = (
    r"(?:at\s+(?:the\s+)?peak\b|during\s+(?:the\s+)?peaks?\b|in\s+peak\b|\(\s*peak\s*\)"
    r"|peak\b(?![- ]to[- ]average|\s*(?:factor|multiplier|ratio|of|is|=|:|~|\d)))"  # not "100k QPS, peak 3x"
)
_PEAK_LEAD = (
    r"\bpeak(?:s|ing)?\b(?:\s*(?:(?:traffic|load|throughput|rate|of|at|is|around|about|reach(?:es|ing)?|"
    r"hit(?:s|ting)?|up\s+to)\b|[=:~,]))*\s*"
)
_WRITES_PER_SECOND = (
    r"(?:(?:writes?|posts?|messages?|uploads?|inserts?|events?)\s*(?:/|per)\s*s(?:ec(?:ond)?)?\b"
    rf"|writes?\s*{_PER_SECOND})"
)


def _days_of(text: str) -> Fraction:
    words = text.lower().split()
    if words[0] in ("a", "an", "one"):
        return parse_duration(f"1 {words[1]}")
    return parse_duration(text)


def _ratio_pair(a: str, b: str) -> Fraction:
    return parse_ratio(f"{a}:{b}", "read:write ratio")


@dataclass(frozen=True)
class _Pattern:
    name: str
    regex: re.Pattern[str]
    value: object  # callable on the match → Fraction (or None to skip the match)


def _p(name: str, pattern: str, value: object = None) -> _Pattern:
    return _Pattern(name, re.compile(pattern, re.IGNORECASE), value)


def _count(match: re.Match[str]) -> Fraction:
    return parse_count(match["q"])


def _noun_kind(words: str) -> str:
    """What an "N <words> a day" counts: `write`, `request` (reads + writes), or `other` (reads, bytes, users)."""
    if _READ_NOUNS.search(words) or _SIZE_NOUNS.search(words) or _USER_NOUNS.search(words):
        return "other"
    return "request" if _REQUEST_NOUNS.search(words) else "write"


def _writes_per_user(match: re.Match[str]) -> Fraction | tuple[str, None]:
    """`20 posts per user per day`, `each user sends 40 messages a day`. Reads or requests per user are not
    writes: the phrase is blocked (no later pattern reads it as a total) and listed as not understood."""
    words = match["nouns"] if "nouns" in match.re.groupindex else match.group()
    kind = _noun_kind(_USER_NOUNS.sub(" ", words or ""))  # "each user sends…": the user is not the noun counted
    return parse_count(match["q"]) if kind == "write" else ("blocked", None)


@dataclass(frozen=True)
class _PerDay:
    """An "N things a day" whose reading (per user or in total) waits for the DAU; see PER_USER_MAX."""

    kind: str  # write or request
    value: Fraction
    total: bool  # said in total ("10B messages a day in total")


def _per_day(match: re.Match[str]) -> tuple[str, _PerDay] | None:
    """`10B messages/day` → writes; `1B requests a day` → reads + writes; `1B views/day` is neither."""
    kind = _noun_kind(match["nouns"] or "")
    if kind == "other":
        return None
    total = bool(match["pre"] or match["total"] or re.search(r"\b(?:total|overall)\b", match["nouns"] or "", re.I))
    return "per_day", _PerDay(kind, parse_count(match["q"]), total)


def _share(match: re.Match[str]) -> Fraction:
    share = parse_ratio(f"{match['q']}%")
    if share > 1:
        raise UsageError(f"share: {match['q']}% is more than all the users", "write it like 10%")
    return share


@functools.cache
def _patterns() -> list[_Pattern]:
    """Compiled on first use: `sdx estimate --reference` and other commands need none of them."""
    return [
        # requests per second one server handles
        _p("server_qps", rf"{_COUNT}\s*{_PER_SECOND}\s*(?:per|/|on\s+(?:a|one|each))\s*{_SERVER}", _count),
        _p("server_qps", rf"\b{_SERVER}{_GAP}{_COUNT}\s*{_PER_SECOND}", _count),
        # requests or writes per second at peak (before the averages below)
        _p("peak_write_qps", rf"{_COUNT}\s*{_WRITES_PER_SECOND}\s*{_AT_PEAK}", _count),
        _p("peak_write_qps", rf"{_COUNT}\s*peak\s*{_WRITES_PER_SECOND}", _count),
        _p("peak_write_qps", rf"{_PEAK_LEAD}{_COUNT}\s*{_WRITES_PER_SECOND}", _count),
        _p("peak_total_qps", rf"{_COUNT}\s*{_PER_SECOND}\s*{_AT_PEAK}", _count),
        _p("peak_total_qps", rf"{_COUNT}\s*peak\s*{_PER_SECOND}", _count),
        _p("peak_total_qps", rf"{_PEAK_LEAD}{_COUNT}\s*{_PER_SECOND}", _count),
        _p("peak_total_qps", rf"\bpeak\s*(?:qps|rps)\s*(?:of|=|:|is|at|around|about|~|\s)*{_COUNT}", _count),
        # writes per user per day: "20 posts per user per day", "20 writes/user/day", "20 tweets per day each"
        _p("writes_per_user", rf"{_COUNT}\s*{_NOUNS}{_PER_USER}\s*{_DAY}", _writes_per_user),
        _p("writes_per_user", rf"{_COUNT}\s*{_NOUNS}{_DAY}\s*{_PER_USER}", _writes_per_user),
        _p(
            "writes_per_user",
            rf"\b(?:each|every|a|an|per|the average)\s+{_USER}{_GAP}{_COUNT}\s+{_WORDS}"
            rf"(?:{_PER}\s*day\b|daily\b)",
            _writes_per_user,
        ),
        # a share of the users active daily ("1B users, 10% daily active"): DAU = users × share
        _p(
            "dau_share",
            rf"(?P<q>{_FIGURE})\s*%\s*(?:of\s+(?:them|users|those|all\s+users|the\s+users|mau)\s+)?(?:are\s+)?"
            r"(?:daily\s+active|active\s+daily|dau\b|daily\s+users\b|use\s+it\s+daily\b)",
            _share,
        ),
        _p(
            "dau_share",
            rf"\b(?:dau|daily\s+active\s+users)\s*(?:is|are|=|:|of|~|about|around|\s)*(?P<q>{_FIGURE})\s*%",
            _share,
        ),
        # daily active users
        _p(
            "dau",
            rf"{_COUNT}\s*(?:dau\b|daily\s+active\s+users\b|daily\s+users\b|active\s+users\s+{_PER}\s+day\b)",
            _count,
        ),
        _p("dau", rf"\b(?:dau|daily active users)\s*(?:of|=|:|is|are|at|around|about|~|\s)*{_COUNT}", _count),
        _p(
            "users",
            rf"{_COUNT}\s*(?:(?:total|registered|monthly\s+active|active)\s+)?(?:users|accounts|members|subscribers"
            r"|customers)\b|(?:" + _COUNT.replace("?P<q>", "?P<q2>") + r")\s*(?:mau\b|monthly\s+active\s+users\b)",
            lambda m: parse_count(m["q"] or m["q2"]),
        ),
        # write rates per second, and total requests per second
        _p(
            "writes_per_day",
            rf"{_COUNT}\s*(?:writes?|posts?|messages?|uploads?|inserts?|events?)\s*(?:/|per)\s*"
            r"s(?:ec(?:ond)?)?\b",
            lambda m: parse_count(m["q"]) * SECONDS_PER_DAY,
        ),
        _p("writes_per_day", rf"{_COUNT}\s*writes?\s*{_PER_SECOND}", lambda m: parse_count(m["q"]) * SECONDS_PER_DAY),
        _p("total_qps", rf"{_COUNT}\s*{_PER_SECOND}", _count),
        _p("total_qps", rf"\b(?:qps|rps)\s*(?:of|=|:|is|at|around|about|~|\s)*{_COUNT}", _count),
        # writes (or requests) per day: per user or in total (decided once the DAU is known)
        _p(
            "per_day",
            rf"(?P<pre>\b(?:a\s+)?total\s+(?:of\s+)?)?{_COUNT}\s*{_NOUNS}{_DAY}(?P<total>\s*{_TOTAL})?",
            _per_day,
        ),
        # read:write ratio
        _p(
            "read_ratio",
            r"\bread\s*[:/-]?\s*write(?:\s+ratio)?\s*(?:of|=|:|is|~|about|\s)*"
            rf"(?P<a>{_FIGURE})\s*:\s*(?P<b>{_FIGURE})",
            lambda m: _ratio_pair(m["a"], m["b"]),
        ),
        _p(
            "read_ratio",
            r"\bwrite\s*[:/-]?\s*read(?:\s+ratio)?\s*(?:of|=|:|is|~|about|\s)*"
            rf"(?P<a>{_FIGURE})\s*:\s*(?P<b>{_FIGURE})",
            lambda m: _ratio_pair(m["b"], m["a"]),
        ),
        _p(
            "read_ratio",
            rf"(?P<a>{_FIGURE})\s*:\s*(?P<b>{_FIGURE})\s*(?:read\s*[:/-]?\s*write|reads?\s+to\s+writes?)",
            lambda m: _ratio_pair(m["a"], m["b"]),
        ),
        _p(
            "read_ratio",
            rf"\bread[- ]heavy\s*(?:,|\(|at|of|:|\s)*(?P<a>{_FIGURE})\s*:\s*(?P<b>{_FIGURE})",
            lambda m: _ratio_pair(m["a"], m["b"]),
        ),
        _p(
            "read_ratio",
            rf"{_NUM}\s*(?:reads?|views?|lookups?)\s*(?:per|for\s+(?:each|every)|/|to\s+(?:one|1|each|every))"
            r"\s*(?:writes?|posts?|messages?|uploads?)\b",
            lambda m: parse_ratio(m["q"]),
        ),
        _p(
            "read_ratio",
            rf"{_NUM}\s*(?:x|×|times)?\s*(?:more\s+)?reads\s+than\s+writes\b",
            lambda m: parse_ratio(m["q"]),
        ),
        _p(
            "read_ratio",
            rf"\bread(?:[-: /]*write)?\s+ratio\s*(?:of|=|:|is|\s)*{_NUM}\b(?!\s*:)",
            lambda m: parse_ratio(m["q"]),
        ),
        # peak-to-average
        _p("peak", rf"\bpeak\b{_GAP}{_NUM}\s*(?:x|×|times)(?![a-z])", lambda m: parse_ratio(m["q"])),
        _p(
            "peak",
            rf"{_NUM}\s*(?:x|×|times)\s*(?:the\s+)?(?:average\s+)?(?:at\s+)?peak\b",
            lambda m: parse_ratio(m["q"]),
        ),
        _p(
            "peak",
            rf"\bpeak(?:[- ]to[- ]average)?\s*(?:factor|multiplier|ratio)\s*(?:of|=|:|is|\s)*{_NUM}",
            lambda m: parse_ratio(m["q"]),
        ),
        # replication
        _p(
            "replication",
            rf"{_NUM}\s*(?:replicas\b|copies\b|[- ]?(?:way|x|fold)\s+replicat\w*|[- ]replicated\b)",
            lambda m: parse_ratio(m["q"]),
        ),
        _p(
            "replication",
            rf"\breplicat\w*\s*(?:factor)?\s*(?:of|=|:|is|to|\s)*{_NUM}(?:\s*(?:x|×|times|ways?)\b)?",
            lambda m: parse_ratio(m["q"]),
        ),
        # cached share of the reads
        _p("cache_ratio", rf"\bcach\w*\b{_GAP}(?P<q>{_FIGURE})\s*%", lambda m: parse_ratio(f"{m['q']}%")),
        _p(
            "cache_ratio",
            rf"(?P<q>{_FIGURE})\s*%\s*(?:of\s+)?{_WORDS}(?:cached|in\s+(?:the\s+)?cache)\b",
            lambda m: parse_ratio(f"{m['q']}%"),
        ),
        # size per write
        _p("size_bytes", rf"{_SIZE}\s*(?:per\b|/|each\b|an?\s)", lambda m: parse_size(m["q"])),
        _p(
            "size_bytes", rf"\b(?:each|every|per|average|avg|typical|mean)\b{_GAP}{_SIZE}", lambda m: parse_size(m["q"])
        ),
        _p("size_bytes", rf"\bsize\s*(?:is|of|=|:|~|about|around|\s)*{_SIZE}", lambda m: parse_size(m["q"])),
        _p(
            "size_bytes",
            rf"{_SIZE}\s+(?:messages?|records?|objects?|rows?|entries|items?|posts?|events?|payloads?)\b",
            lambda m: parse_size(m["q"]),
        ),
        # retention
        _p(
            "retention_days",
            rf"\b(?:keep|kept|keeping|retain|retained|retaining|retention|store|stored|storing|persist\w*)"
            rf"\b{_GAP}{_DURATION}",
            lambda m: _days_of(m["q"]),
        ),
        _p(
            "retention_days",
            rf"{_DURATION}\s+(?:of\s+)?(?:retention|history|data|storage)\b",
            lambda m: _days_of(m["q"]),
        ),
    ]


_FIGURE_IN_TEXT = re.compile(r"\d")
_CLAUSE_BREAK = re.compile(r"[;\n]|,(?!\d{3}(?!\d))|\.(?!\d)")


@dataclass(frozen=True)
class TextParse:
    stated: dict[str, Stated]
    not_understood: tuple[str, ...]


def parse_text(text: str, dau: Fraction | None = None) -> TextParse:
    """The figures stated in free text, and the clauses with figures that were not understood (never guessed).

    `dau`: a DAU stated outside the text (`--dau`), which decides how "N things a day" reads as it would in it.
    A figure stated twice with different values is a usage error naming both phrases.
    """
    text = _squeeze_spaces(text)
    if negative := _NEGATIVE_FIGURE.search(text):  # the patterns read digits only: "-5 replicas" would become 5
        raise UsageError(f"{negative.group()!r}: a quantity must be more than zero", "state it without a minus sign")
    taken = bytearray(len(text))  # 1 where a pattern took the character
    found: list[tuple[int, str, Stated]] = []
    pending: list[tuple[int, int, str, object]] = []  # start, end, name, value: resolved once all is read
    for pattern in _patterns():
        for match in pattern.regex.finditer(text):
            if any(taken[match.start() : match.end()]):
                continue
            try:
                outcome = pattern.value(match)  # type: ignore[operator]
            except UsageError as exc:  # name the phrase, not the parser: "'0 DAU': '0' must be more than zero"
                raise UsageError(f"{match.group().strip()!r}: {exc.what.partition(': ')[2]}", exc.fix) from None
            if outcome is None:
                continue
            name, value = outcome if isinstance(outcome, tuple) else (pattern.name, outcome)
            taken[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
            if name in _PENDING:
                pending.append((match.start(), match.end(), name, value))
            else:
                found.append((match.start(), name, Stated(value, repr(match.group().strip()))))
    found.sort(key=lambda item: item[0])
    stated = merge(*({name: item} for _, name, item in found))
    found += _resolve(text, pending, stated, dau, taken)
    found.sort(key=lambda item: item[0])
    stated = merge(*({name: item} for _, name, item in found))
    return TextParse(stated, _leftovers(text, taken))


_PENDING = ("per_day", "users", "dau_share", "blocked")
# a minus sign stuck to a figure ("-5 replicas", "(-20 KB"), not a range ("5-10") nor a list's dash ("- 50M DAU")
_NEGATIVE_FIGURE = re.compile(r"(?<![\w.])[-−]\d[\d,.]*(?:\s?[a-z%]+)?", re.IGNORECASE)


def _resolve(
    text: str,
    pending: list[tuple[int, int, str, object]],
    stated: dict[str, Stated],
    dau: Fraction | None,
    taken: bytearray,
) -> list[tuple[int, str, Stated]]:
    """The figures that depend on others: DAU = users × a daily-active share, then each "N things a day" read
    per user or in total (see PER_USER_MAX). What cannot be decided is given back to the not-understood list."""

    def phrase(start: int, end: int) -> str:
        return repr(text[start:end].strip())

    def untake(start: int, end: int) -> None:
        taken[start:end] = bytes(end - start)

    resolved: list[tuple[int, str, Stated]] = []
    users = [(start, end, value) for start, end, name, value in pending if name == "users"]
    shares = [(start, end, value) for start, end, name, value in pending if name == "dau_share"]
    population = dau if dau is not None else stated["dau"].value if "dau" in stated else None
    if len({value for *_, value in users}) == 1 and len({value for *_, value in shares}) == 1:
        (u_start, u_end, total_users), (s_start, s_end, share) = users[0], shares[0]
        assert isinstance(total_users, Fraction) and isinstance(share, Fraction)
        origin = f"{phrase(u_start, u_end)} × {phrase(s_start, s_end)}"
        derived = Stated(total_users * share, origin, f"DAU {format_number(total_users * share)} = {origin}")
        resolved.append((min(u_start, s_start), "dau", derived))
        population = population if population is not None else derived.value
    else:
        for start, end, *_ in users + shares:
            untake(start, end)
        if population is None and users:  # not a DAU, but it says a day's count may be per user
            population = min(value for *_, value in users)  # type: ignore[type-var]
    for start, end, name, value in pending:
        if name == "blocked":
            untake(start, end)
        if name != "per_day":
            continue
        assert isinstance(value, _PerDay)
        reading = "total" if value.total or population is None else _reading(value.value, population)
        origin = phrase(start, end)
        if reading == "total" and value.kind == "write":
            resolved.append((start, "writes_per_day", Stated(value.value, origin)))
        elif reading == "total":
            resolved.append((start, "total_qps", Stated(value.value / SECONDS_PER_DAY, origin)))
        elif reading == "per_user" and value.kind == "write":
            note = (
                f"{origin} read per user a day: at most {PER_USER_MAX:,}, and as a total it would be under one a day"
                f" per 1,000 of the {format_number(population)} users stated"
            )
            resolved.append((start, "writes_per_user", Stated(value.value, origin, note)))
        else:
            untake(start, end)
    return resolved


def _reading(count: Fraction, population: Fraction) -> str | None:
    """`per_user`, `total`, or None (ambiguous) for "N things a day" beside a DAU: see PER_USER_MAX."""
    per_user = count <= PER_USER_MAX
    total = count >= population * TOTAL_MIN_SHARE
    if per_user and not total:
        return "per_user"
    if total and not per_user:
        return "total"
    return None


def _squeeze_spaces(text: str) -> str:
    """Runs of spaces become one (a line break stays one line break): no pattern then meets a long run of
    whitespace, where adjacent optional spaces (`\\s*(?:of)?\\s*`) would backtrack in quadratic time."""
    return _LINE_BREAKS.sub("\n", _SPACES.sub(" ", text))


_SPACES = re.compile(r"[^\S\n]+")
_LINE_BREAKS = re.compile(r" ?\n\s*")  # after _SPACES: linear, it starts at the one space or the break


def _leftovers(text: str, taken: bytearray) -> tuple[str, ...]:
    """The clauses holding a figure that no pattern took (in one pass: contexts can be long)."""
    clauses: dict[str, None] = {}
    start = 0
    for end in [*(m.end() for m in _CLAUSE_BREAK.finditer(text)), len(text)]:
        for figure in _FIGURE_IN_TEXT.finditer(text, start, end):
            if not taken[figure.start()]:
                clause = text[start:end].strip(" \t\n,;.")
                clauses.setdefault(clause if len(clause) <= 80 else f"{clause[:79]}…")
                break
        start = end
    return tuple(clauses)


def estimate_from_text(text: str) -> Estimate | None:
    """The estimate for a question and its context, or None when no write rate can be known from them.

    Never raises: an `ask` must not fail because of its context (contradictions and bad figures give None).
    """
    try:
        parsed = parse_text(text)
        if not parsed.stated:
            return None
        return compute(parsed.stated, parsed.not_understood)
    except UsageError:
        return None
