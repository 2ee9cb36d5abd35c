"""Free text, clause by clause: "5M DAU, 10% of users upload 1 video per day, average video 300 MB, keep 5 years".

The text is cut into clauses (at `,` `;` `.` line breaks and brackets); each clause is a few quantities
(quantities.py) and the words around them. A clause is read by the first frame that fits it (users, a rate, a
ratio, a peak, replication, a size, a retention, a cache, a machine) and only if that frame accounts for every
quantity in it; otherwise it is listed as not understood and yields nothing. Pasted arithmetic, a capacity per
server that is not a request rate, a size per user or per field, ranges and clauses that mix reads and writes are
refused by design. Figures that depend on several clauses (DAU = users × a daily share, a peak factor from an
absolute peak, a rate per concurrent user) are resolved once every clause is read.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction

from sdx.domain.estimates.figures import EXACT, Convention, Estimate, Reading, Stated, compute, merge
from sdx.domain.estimates.formatting import format_exact_bytes, format_number
from sdx.domain.estimates.quantities import (
    DURATION_UNITS,
    NUMBER_WORDS,
    ORDINALS,
    PERIOD_NAMES,
    REPEAT_WORDS,
    NotAQuantity,
    Quantity,
    Token,
    quantity_at,
    tokens,
)
from sdx.domain.estimates.units import DAYS_PER_MONTH
from sdx.domain.estimates.vocabulary import (
    CACHE,
    DATA,
    DISK,
    MACHINES,
    MEMORY,
    NEUTRAL,
    PEAK,
    PER_WORDS,
    PERIOD_ADVERBS,
    READ_NOUNS,
    READ_VERBS,
    REFUSED,
    REFUSED_WORDS,
    REPLICATION,
    REQUEST_NOUNS,
    RETAIN,
    TOTAL,
    USER_QUALIFIERS,
    USERS,
    WRITE_NOUNS,
    WRITE_VERBS,
)
from sdx.errors import UsageError

# Free text with a DAU stated: an "N things a day" that says neither per user nor in total is read as per user
# when a person could do that many (at most PER_USER_MAX) and, as a total, it would be fewer than one a day per
# 1,000 users; as a total when no person would do that many and it is at least one a day per 1,000 users;
# otherwise (both readings or neither plausible) it is listed as not understood.
PER_USER_MAX = 1000
TOTAL_MIN_SHARE = Fraction(1, 1000)

_VERBS = WRITE_VERBS | READ_VERBS
_RW_NOUNS = WRITE_NOUNS | READ_NOUNS
_NOUNS = WRITE_NOUNS | READ_NOUNS | REQUEST_NOUNS
_NEGATIVE_FIGURE = re.compile(r"(?<![\w.])[-−]\d[\d,.]*(?:\s?[a-z%]+)?", re.IGNORECASE)


class Refused(Exception):
    """A clause not read, with why (for the list of what was not understood)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Clause:
    text: str
    start: int
    toks: list[Token]
    qs: list[Quantity] = field(default_factory=list)
    words: list[tuple[int, str]] = field(default_factory=list)  # (token index, lower-case word) outside quantities
    period: Fraction | str | None = ""  # the period of its rate, once found ("" before)
    convention: Convention = EXACT  # seconds in a day and a month
    whole: str = ""  # the clause it was cut from at "and" (read together or not at all), "" when not cut

    def has(self, vocabulary: frozenset[str] | set[str] | dict[str, object]) -> bool:
        return any(word in vocabulary for _, word in self.words)

    def word_set(self) -> set[str]:
        return {word for _, word in self.words}

    def before(self, index: int) -> list[str]:
        return [word for i, word in self.words if i < index]

    def after(self, index: int) -> list[str]:
        return [word for i, word in self.words if i >= index]

    def kinds(self) -> list[str]:
        return [q.kind for q in self.qs]

    def only(self, *kinds: str) -> bool:
        return sorted(self.kinds()) == sorted(kinds)


@dataclass(frozen=True)
class Found:
    """What one clause says: inputs now, or facts that wait for other clauses (`pending`)."""

    stated: dict[str, Fraction]
    reading: str
    pending: tuple[str, Fraction] | None = None  # users, dau_share, concurrent, per_day, interval, peak_absolute
    kind: str = ""  # write or read, for a pending rate
    noun: str = ""  # what a pending rate counts ("tweets"), to tell two streams from one stated twice


@dataclass(frozen=True)
class TextParse:
    stated: dict[str, Stated]
    not_understood: tuple[str, ...]
    readings: tuple[Reading, ...] = ()
    blocked: dict[str, str] = field(default_factory=dict)  # default → the clause that stated it unreadably
    reasons: dict[str, str] = field(default_factory=dict)  # clause → why it was not understood


# ---------------------------------------------------------------------------------------------------------------
# Clauses


def split_clauses(text: str) -> list[Clause]:
    """Clauses at `,` `;` `.` `!` `?` brackets, `|` and line breaks (a decimal point or thousands comma is inside a
    number token, so never a break)."""
    found: list[Clause] = []
    current: list[Token] = []
    for tok in [*tokens(text), Token("nl", "\n", len(text), len(text), "\n")]:
        if tok.kind == "nl" or (tok.kind == "sym" and tok.text in ",;.!?()[]|•"):
            parts = _split_at_and(current)
            whole = text[current[0].start : current[-1].end] if len(parts) > 1 else ""
            for part in parts:
                found.append(Clause(text[part[0].start : part[-1].end], part[0].start, part, whole=whole))
            current = []
        else:
            current.append(tok)
    return found


def _split_at_and(toks: list[Token]) -> list[list[Token]]:
    """`500M DAU and each user sends 40 messages a day`: two clauses when each side has digits (not a range:
    `between 5 and 10 KB`, `from 5 and up`)."""
    if not toks:
        return []
    for i, tok in enumerate(toks):
        if tok.low == "and" and 0 < i < len(toks) - 1:
            left, right = toks[:i], toks[i + 1 :]
            digits = any(t.kind == "num" for t in left) and any(t.kind == "num" for t in right)
            if digits and not any(t.low in ("between", "from") for t in left):
                return [left, *_split_at_and(right)]
    return [toks]


_QUALIFIERS = frozenset(
    ["at", "peak", "during", "the", "peaks", "in", "busiest", "hour", "hours", "time", "times", "on", "average"]
)


def _qualified(clauses: list[Clause]) -> list[Clause]:
    """`at peak, 100k QPS`: a clause that is only a qualifier belongs to the clause after it."""
    joined: list[Clause] = []
    carry: Clause | None = None
    for clause in clauses:
        if carry is not None:
            clause = Clause(f"{carry.text}, {clause.text}", carry.start, carry.toks + clause.toks)
            carry = None
        lows = {tok.low for tok in clause.toks}
        if lows and lows <= _QUALIFIERS and lows & {"peak", "peaks", "busiest", "average"}:
            carry = clause
            continue
        joined.append(clause)
    return joined


def _analyse(clause: Clause) -> None:
    i = 0
    toks = clause.toks
    while i < len(toks):
        quantity = quantity_at(toks, i)
        if quantity is not None:
            clause.qs.append(quantity)
            i = quantity.last
            continue
        if toks[i].kind == "word":
            clause.words.append((i, toks[i].low))
        elif toks[i].kind == "sym" and toks[i].text in "/:=*+^÷~×-'`_&":
            clause.words.append((i, toks[i].text))
        i += 1


# ---------------------------------------------------------------------------------------------------------------
# Frames: each reads a whole clause or raises Refused


def read_clause(clause: Clause) -> Found | None:
    """What the clause states, None when it states no figure at all, Refused when it is not understood."""
    _analyse(clause)
    words = clause.word_set()
    if not clause.qs and not words & _REPEATS and _a_duration(clause) is None:
        return _no_quantity(clause, words)
    if any(q.kind == "bits" for q in clause.qs):
        raise Refused("a figure in bits")
    _refuse_arithmetic_and_ranges(clause)
    for word in words & REFUSED:
        raise Refused(REFUSED_WORDS[word])
    if "'" in words or "`" in words or "_" in words:
        raise Refused("a size per field")
    for frame in (_machine, _ratio, _peak, _replication, _cache, _retention, _size, _users, _rate):
        found = frame(clause, words)
        if found is not None:
            return found
    raise Refused("no frame sdx knows fits it")


_ENDLESS = frozenset(("forever", "indefinitely", "permanently"))


def _no_quantity(clause: Clause, words: set[str]) -> Found | None:
    if words & _ENDLESS:
        raise Refused("a retention without end (sdx needs a duration)")
    text = " ".join(word for _, word in clause.words)
    if re.fullmatch(
        r"(?:with\s+|and\s+|but\s+)?(?:no\s+replication|not\s+replicated|without\s+replication"
        r"|no\s+replicas|(?:a\s+)?single\s+copy|only\s+one\s+copy|one\s+copy)(?:\s+of\s+\w+)?",
        text,
    ):
        return Found({"replication": Fraction(1)}, "replication 1 (one copy)")
    return None


def _refuse_arithmetic_and_ranges(clause: Clause) -> None:
    symbols = [(i, word) for i, word in clause.words if word in ("=", "*", "+", "^", "÷", "×", "/", "-")]
    for i, symbol in symbols:
        before = [q for q in clause.qs if q.last <= i]
        after = [q for q in clause.qs if q.first > i]
        if symbol == "=" and not before and len(clause.qs) == 1:
            continue  # a label: "DAU = 50M", "R:W = 100:1"
        if symbol == "/" and not (before and after and before[-1].last == i and after[0].first == i + 1):
            continue  # "/day", "writes/s": a period, not a division
        if symbol == "-" and not (before and after):
            continue  # "a 5-way", "read-heavy", a list's dash
        if symbol == "-":
            raise Refused("a range")
        if before or after:
            raise Refused("pasted arithmetic")
    if len(clause.qs) >= 2 and any(word == "to" for _, word in clause.words):
        first, second = clause.qs[0], clause.qs[1]
        between = [word for i, word in clause.words if first.last <= i < second.first]
        if between == ["to"]:
            raise Refused("a range")


def _machine(clause: Clause, words: set[str]) -> Found | None:
    if not words & MACHINES:
        return None
    if len(clause.qs) != 1:
        raise Refused("a capacity per server")
    q = clause.qs[0]
    if q.kind == "size" and words & MEMORY and not words & DISK:
        return Found({"memory_bytes": q.value}, f"memory per machine {format_exact_bytes(q.value)}")
    if q.kind == "size" and words & DISK and not words & MEMORY:
        return Found({"disk_bytes": q.value}, f"disk per machine {format_exact_bytes(q.value)}")
    if q.kind == "count" and _per_second_requests(clause, q) and not words & _RW_NOUNS:
        return Found({"server_qps": q.value}, f"requests per second per server {format_number(q.value)}")
    raise Refused("a capacity per server")


def _per_second_requests(clause: Clause, q: Quantity) -> bool:
    after = clause.after(q.last)
    if after[:1] and after[0] in ("qps", "rps"):
        return True
    period = _period(clause)
    return period == DURATION_UNITS["s"] and bool(set(after) & REQUEST_NOUNS)


def _ratio(clause: Clause, words: set[str]) -> Found | None:
    reads = [i for i, word in clause.words if word in READ_NOUNS or word in ("r", "reading")]
    writes = [i for i, word in clause.words if word in WRITE_NOUNS or word in ("w", "writing")]
    if not (reads and writes) and not (("ratio" in words) and clause.only("ratio")):
        return None
    if not clause.only("ratio"):
        reads = [i for i, word in clause.words if word in ("read", "reads", "r")]
        writes = [i for i, word in clause.words if word in ("write", "writes", "w")]
        if not (reads and writes):
            return None
    if clause.only("ratio"):
        q = clause.qs[0]
        if not (reads and writes):
            raise Refused("a ratio of what?")
        reads_first = reads[0] < writes[0]
        ratio = q.value / q.right if reads_first else q.right / q.value
        return Found({"read_ratio": ratio}, f"reads per write {format_number(ratio)}")
    if len(clause.qs) == 1 and clause.qs[0].kind in ("count", "times"):
        q = clause.qs[0]
        nouns_after = [word for word in clause.after(q.last) if word in ("reads", "read", "writes", "write")]
        before_words = [word for word in clause.before(q.first) if word in ("reads", "read", "writes", "write")]
        later = nouns_after[0] if nouns_after else ""
        if q.kind == "count" and later.startswith("read") and _between(clause, q, ("per", "for", "to", "each")):
            return Found({"read_ratio": q.value}, f"reads per write {format_number(q.value)}")
        if q.kind == "times" or "times" in words or "more" in words:
            if before_words[:1] == ["reads"] and later.startswith("write"):
                return Found({"read_ratio": q.value}, f"reads per write {format_number(q.value)}")
            if later.startswith("read") and "than" in words and "more" in words:
                return Found({"read_ratio": q.value}, f"reads per write {format_number(q.value)}")
        first = not writes or reads[0] < writes[0]
        if q.kind == "count" and "ratio" in words and reads and first and clause.after(q.last) in ([], ["x"]):
            return Found({"read_ratio": q.value}, f"reads per write {format_number(q.value)}")
    raise Refused("a read:write ratio sdx cannot read")


def _between(clause: Clause, q: Quantity, linkers: tuple[str, ...]) -> bool:
    after = clause.after(q.last)
    return len(after) >= 2 and after[0].startswith("read") and after[1] in (*linkers, "/")


def _peak(clause: Clause, words: set[str]) -> Found | None:
    if not words & PEAK:
        return None
    if len(clause.qs) == 2 and clause.kinds() == ["count", "times"] and _period(clause) == DURATION_UNITS["s"]:
        return _average_and_factor(clause, words)
    if len(clause.qs) != 1:
        raise Refused("a peak with more than one figure")
    q = clause.qs[0]
    if q.kind == "times":
        return Found({"peak": q.value}, f"peak-to-average {format_number(q.value)}×")
    if q.kind == "count" and words & {"factor", "multiplier"} and not _period(clause):
        return Found({"peak": q.value}, f"peak-to-average {format_number(q.value)}×")
    if q.kind != "count":
        raise Refused("a peak sdx cannot read")
    period = _period(clause)
    if period is None and not words & _NOUNS:
        return Found({}, f"peak {format_number(q.value)} (absolute)", pending=("peak_absolute", q.value))
    if period != DURATION_UNITS["s"]:
        raise Refused("a peak that is not per second")
    kind = _peak_kind(words)
    if kind == "request":
        return Found({"peak_total_qps": q.value}, f"requests per second at peak {format_number(q.value)}")
    return Found({"peak_write_qps": q.value}, f"writes per second at peak {format_number(q.value)}")


def _peak_kind(words: set[str]) -> str:
    if words & READ_NOUNS or words & {"read"}:
        raise Refused("a peak of reads (sdx reads a peak of requests or writes)")
    if words & WRITE_NOUNS:
        return "write"
    if words & REQUEST_NOUNS:
        return "request"
    raise Refused("a peak of what?")


def _average_and_factor(clause: Clause, words: set[str]) -> Found:
    """`100k QPS peak 3x`: the average and the factor in one clause."""
    average, factor = clause.qs
    if _peak_kind(words) != "request" or not clause.before(factor.first)[-1:] == ["peak"]:
        raise Refused("a peak with more than one figure")
    return Found(
        {"total_qps": average.value, "peak": factor.value},
        f"requests per second {format_number(average.value)}, peak-to-average {format_number(factor.value)}×",
    )


def _replication(clause: Clause, words: set[str]) -> Found | None:
    if not words & (REPLICATION | {"way"}):
        return None
    if len(clause.qs) != 1 or clause.qs[0].kind not in ("count", "times"):
        raise Refused("replication sdx cannot read")
    q = clause.qs[0]
    if words & {"region", "regions", "datacenters", "zones", "sites"}:
        raise Refused("replication across places (copies per place?)")
    return Found({"replication": q.value}, f"replication {format_number(q.value)} (copies in total)")


def _cache(clause: Clause, words: set[str]) -> Found | None:
    if not words & CACHE:
        return None
    if not clause.only("percent"):
        raise Refused("a cache sdx cannot read")
    share = clause.qs[0].value
    rest = set(clause.after(clause.qs[0].last))
    if rest & {"read", "reads", "requests", "traffic", "daily", "day", "day's"}:
        return Found({"cache_ratio": share}, f"cached share of a day's reads {format_number(share)}")
    if rest & (DATA | {"working", "set"}):
        return Found({"cache_data_ratio": share}, f"cached share of the stored data {format_number(share)}")
    if not rest or rest <= {"of", "the", "hot", "it"}:
        return Found({"cache_ratio": share}, f"cached share of a day's reads {format_number(share)}")
    raise Refused("a cached share of what?")


def _retention(clause: Clause, words: set[str]) -> Found | None:
    durations = [q for q in clause.qs if q.kind == "duration"]
    simple = _a_duration(clause)
    if not durations and simple is None:
        return None
    if not words & (RETAIN | {"for", "over", "data", "storage", "years", "lifetime"}) and simple is None:
        return None
    if simple is not None and not clause.qs and words & RETAIN:
        return Found({"retention_days": simple}, f"retention {format_number(simple)} days")
    if len(clause.qs) != 1 or not durations or durations[0].value < 1:
        return None
    if words & (USERS | REQUEST_NOUNS) or "every" in words or _period(clause) is not None:
        return None
    if not words & (RETAIN | {"data", "storage", "history", "for", "over"}):
        return None
    days = durations[0].value
    return Found({"retention_days": days}, f"retention {format_number(days)} days")


def _a_duration(clause: Clause) -> Fraction | None:
    """`keep a year`: "a" or "an" and a unit, which is no quantity elsewhere (it is a per in "a day")."""
    for (i, word), (j, unit) in zip(clause.words, clause.words[1:], strict=False):
        if word in ("a", "an") and j == i + 1 and unit in ("year", "month", "week", "day"):
            return DURATION_UNITS[unit]
    return None


_SIZE_NOUNS = WRITE_NOUNS | frozenset(
    [
        "object",
        "objects",
        "item",
        "items",
        "payload",
        "payloads",
        "content",
        "entry",
        "record",
        "blob",
        "blobs",
        "attachment",
        "attachments",
    ]
)
_MEDIA = frozenset(
    [
        "media",
        "photo",
        "photos",
        "image",
        "images",
        "video",
        "videos",
        "attachment",
        "attachments",
        "picture",
        "pictures",
    ]
)


def _size(clause: Clause, words: set[str]) -> Found | None:
    sizes = [q for q in clause.qs if q.kind == "size"]
    if not sizes:
        return None
    if words & USERS - {"dau"}:
        raise Refused("a size per user")
    if len(sizes) != 1:
        raise Refused("more than one size")
    size = sizes[0]
    others = [q for q in clause.qs if q is not size]
    if others:
        return _media_share(clause, words, size, others)
    ordinal = [ORDINALS[word] for _, word in clause.words if word in ORDINALS]
    if ordinal and "every" in words and words & _MEDIA:
        return _media_found(Fraction(1, ordinal[0]), size.value, clause)
    if words & {"has", "have", "contain", "contains", "with", "include", "includes", "carry", "carries"}:
        raise Refused("a size that only some writes have (say which share: '10% of tweets have 1 MB of media')")
    if "-" in words or ("=" in words and not words & {"average", "avg", "size", "each"}):
        raise Refused("a size per field")
    after, before = clause.after(size.last), clause.before(size.first)
    nouns = (set(after) | set(before)) & _SIZE_NOUNS
    if "per" in after or "/" in after or "each" in after or "apiece" in after:
        target = after[after.index("per") + 1 :] if "per" in after else []
        if target and not set(target) & _SIZE_NOUNS:
            raise Refused(f"a size per {target[0]}")
        return Found({"size_bytes": size.value}, f"size per write {format_exact_bytes(size.value)}")
    if nouns or words & {"size", "average", "avg", "each", "every", "typical", "mean"}:
        if words & {"total", "day", "month", "year", "daily", "monthly"}:
            raise Refused("a total size (sdx reads a size per write)")
        return Found({"size_bytes": size.value}, f"size per write {format_exact_bytes(size.value)}")
    raise Refused("a size of what?")


def _media_share(clause: Clause, words: set[str], size: Quantity, others: list[Quantity]) -> Found:
    """`10% of tweets have 1 MB of media`, `1 in 5 posts has a 200 KB photo`: an average size per write."""
    if not words & _MEDIA:
        raise Refused("a size with other figures")
    if len(others) == 1 and others[0].kind == "percent":
        share = others[0].value
    elif len(others) == 2 and [word for i, word in clause.words if others[0].last <= i < others[1].first] == ["in"]:
        share = others[0].value / others[1].value
    else:
        raise Refused("a media share sdx cannot read")
    if share > 1:
        raise Refused("a share above 100%")
    return _media_found(share, size.value, clause)


def _media_found(share: Fraction, media: Fraction, clause: Clause) -> Found:
    average = share * media
    return Found(
        {"size_bytes": average},
        f"size per write {format_exact_bytes(average)} on average ({_percent(share)} × {format_exact_bytes(media)}"
        " of media; other content not counted)",
    )


def _users(clause: Clause, words: set[str]) -> Found | None:
    period = _period(clause)
    if clause.only("percent") and (words & {"daily", "dau"} or {"every", "day"} <= words):
        if words & _VERBS - {"use", "uses"}:
            return None
        share = clause.qs[0].value
        if share > 1:
            raise UsageError(f"share: {clause.qs[0].text} is more than all the users", "write it like 10%")
        return Found({}, f"daily active share {_percent(share)}", pending=("dau_share", share))
    if clause.only("count", "count") and words & USERS:
        return _users_and_daily_users(clause)
    if not clause.only("count") or not words & (USERS | {"mau", "dau", "concurrent"}):
        return None
    q = clause.qs[0]
    after = clause.after(q.last)
    if words & (_NOUNS | _VERBS) - {"use", "read"}:
        return None
    if after[:1] and after[0] not in USERS | _USER_QUALIFIERS:
        if clause.before(q.first) == []:
            raise Refused(f"{q.text} {after[0]}: a count of what?")
        if after[0].isalpha() and after[0] not in _NOT_A_COUNTED_THING:
            return None  # "users read 5 items per day": the number counts items, not users
    if words & {"concurrent", "concurrently", "simultaneous", "simultaneously", "online"}:
        return Found({}, f"concurrent users {format_number(q.value)}", pending=("concurrent", q.value))
    daily = "dau" in words or "daily" in words or (period == 1 and words & USERS)
    if daily and not words & {"mau", "monthly"}:
        return Found({"dau": q.value}, f"DAU {format_number(q.value)}")
    if (after[:1] and after[0] in USERS | {"mau"}) or words & {"mau", "monthly", "registered", "total"}:
        return Found({}, f"users {format_number(q.value)}", pending=("users", q.value))
    return None


_USER_QUALIFIERS = USER_QUALIFIERS
_NOT_A_COUNTED_THING = frozenset({"per", "a", "an", "each", "every", "in", "of", "total", "daily", "monthly", "at"})


def _users_and_daily_users(clause: Clause) -> Found | None:
    """`1B total users with 200M daily active users`: the DAU, and the users beside it (not used)."""
    first, second = clause.qs
    groups = [
        [word for i, word in clause.words if first.last <= i < second.first],
        [word for i, word in clause.words if i >= second.last],
    ]
    if not all(set(group) & USERS for group in groups):
        return None
    daily = [bool(set(group) & {"daily", "dau"}) for group in groups]
    if daily.count(True) != 1 or any(set(group) & (_NOUNS) for group in groups):
        raise Refused("two counts of users")
    dau, users = (second, first) if daily[1] else (first, second)
    return Found({"dau": dau.value}, f"DAU {format_number(dau.value)} (users {format_number(users.value)}: not used)")


def _period(clause: Clause) -> Fraction | None:
    """The period a clause's rate is per, in days: `per day`, `a month`, `/s`, `monthly`, `QPS`; None if none.
    Two different periods are refused."""
    if clause.period == "":
        clause.period = _find_period(clause)
    return clause.period  # type: ignore[return-value]


def _find_period(clause: Clause) -> Fraction | None:
    periods: set[Fraction] = set()
    words = clause.words
    for (i, word), (j, unit) in itertools.pairwise(words):
        if (word in PER_WORDS and j == i + 1 and unit in DURATION_UNITS and unit not in ("m", "min")) or (
            word in PER_WORDS and unit in ("min",) and j == i + 1
        ):
            periods.add(DURATION_UNITS[unit])
    for _, word in words:
        if word in PERIOD_ADVERBS:
            periods.add(PERIOD_ADVERBS[word])
        if word in ("qps", "rps", "tps"):
            periods.add(DURATION_UNITS["s"])
    for q in clause.qs:
        if q.kind == "duration" and _word_before(clause, q) == "every":
            periods.add(q.value)
    if len(periods) > 1:
        raise Refused("two periods in one clause")
    return next(iter(periods), None)


def _word_before(clause: Clause, q: Quantity) -> str:
    before = [word for i, word in clause.words if i == q.first - 1]
    return before[0] if before else ""


def _counted(clause: Clause, q: Quantity) -> str:
    """What a rate counts: write, read or request; the verb before the figure decides, then the head noun."""
    before = clause.before(q.first)
    _refuse_unknown_actions(before)
    verbs = {("write" if word in WRITE_VERBS else "read") for word in before if word in _VERBS}
    verbs -= {"read"} if "write" in verbs and set(before) & {"read", "reads"} and len(verbs) == 2 else set()
    if len(verbs) > 1:
        raise Refused("reads and writes in one clause")
    if verbs:
        return verbs.pop()
    after = [word for word in clause.after(q.last) if word in _NOUNS]
    if not after:  # "QPS of 20k", "writes: 500/s"
        after = [word for word in before if word in _NOUNS]
    if not after:
        raise Refused("a rate of what?")
    head = after[-1]
    if head in REQUEST_NOUNS:
        modifiers = {("write" if w in WRITE_NOUNS else "read") for w in after[:-1] if w in _RW_NOUNS}
        if len(modifiers) > 1:
            raise Refused("reads and writes in one clause")
        return modifiers.pop() if modifiers else "request"
    return "write" if head in WRITE_NOUNS else "read"


def _refuse_unknown_actions(before: list[str]) -> None:
    """`each user favorites five tweets`: a word sdx does not know, before any verb it knows, may be the action
    (a favorite is no tweet), so the clause is not read; words after a known verb are its object."""
    for word in before:
        if word in WRITE_VERBS or word in READ_VERBS:
            return
        known = word in NEUTRAL or word in USERS or word in TOTAL or word in REQUEST_NOUNS
        if not known:
            raise Refused(f"an action sdx does not know ({word!r})")


def _rate(clause: Clause, words: set[str]) -> Found | None:
    period = _period(clause)
    if period is None:
        return None
    counts = [q for q in clause.qs if q.kind in ("count", "times")]
    interval = [q for q in clause.qs if q.kind == "duration" and _word_before(clause, q) == "every"]
    shares = [q for q in clause.qs if q.kind == "percent"]
    if len(counts) > 1 or len(shares) > 1 or len(clause.qs) != len(counts) + len(interval) + len(shares):
        raise Refused("a rate with other figures")
    if not counts:
        count = _spelled_count(clause)
        if count is None:
            raise Refused("a rate of what?")
        anchor = interval[0] if interval else None
    else:
        count, anchor = counts[0].value, counts[0]
        if counts[0].kind == "times" and not words & _VERBS:
            raise Refused("times a day, of what?")
    kind = _counted_around(clause, anchor)
    share = _user_share(clause, shares[0]) if shares else None
    per_user = share is not None or _per_user(clause, anchor)
    total = bool(words & TOTAL) or {"across", "all"} <= words
    if per_user and total:
        raise Refused("per user and in total at once")
    if not counts and not per_user and not interval:
        raise Refused("once or twice a period, of what?")
    if kind == "request" and per_user:
        kind = "read"  # requests a user makes are reads (a read-only system)
    per_second = count / _seconds(period, clause.convention)
    what = {"write": "writes", "read": "reads", "request": "requests (reads + writes)"}[kind]
    rate_text = _rate_text(count, period)
    if interval:
        if not per_user and not words & USERS and "each" not in words and "an" not in words and "a" not in words:
            raise Refused("an interval of what?")
        if share is not None:
            raise Refused("a share of users with an interval")
        return Found({}, f"{what} per concurrent user {rate_text}", pending=("interval", per_second), kind=kind)
    if per_user:
        per_day = per_second * clause.convention.seconds_per_day
        stated_share = share if share is not None else Fraction(1)
        name = "writes_per_user" if kind == "write" else "reads_per_user"
        how = f"{what} per user per day {format_number(per_day * stated_share)}"
        if share is not None:
            how += f" ({_percent(share)} of users × {rate_text})"
        elif period != 1:
            how += f" ({rate_text})"
        return Found({name: per_day * stated_share}, how, kind=kind)
    noun = _head_noun(clause, anchor)
    pending = ("rate", per_second)
    return Found({}, f"{what} {rate_text}", pending=pending, kind=kind if not total else f"{kind}!", noun=noun)


def _seconds(period: Fraction, convention: Convention) -> Fraction:
    """A period (in days) in seconds: a month and a day as the convention has them, a week 7 days, a year 365."""
    if period == DAYS_PER_MONTH:
        return Fraction(convention.seconds_per_month)
    if period >= 1:
        return period * convention.seconds_per_day
    return period * 86_400


def _head_noun(clause: Clause, anchor: Quantity | None) -> str:
    nouns = _NOUNS
    after = [word for word in clause.after(anchor.last if anchor else 0) if word in nouns]
    return after[-1].rstrip("s") if after else ""


def _percent(share: Fraction) -> str:
    return f"{format_number(share * 100)}%"


def _rate_text(count: Fraction, period: Fraction) -> str:
    name = PERIOD_NAMES.get(period)
    if name is not None:
        return f"{format_number(count)} a {name}"
    return f"{format_number(count)} every {format_number(period * 86_400)} s"


def _spelled_count(clause: Clause) -> Fraction | None:
    """`an update every 30 seconds`, `once a day`, `twice a day`."""
    for _, word in clause.words:
        if word in REPEAT_WORDS:
            return Fraction(REPEAT_WORDS[word])
    interval = [q for q in clause.qs if q.kind == "duration"]
    if interval and _word_before(clause, interval[0]) == "every":
        before = clause.before(interval[0].first - 1)
        if any(word in ("a", "an", "one") for word in before):
            return Fraction(1)
        if before[:1] and before[0] in USERS and set(before) & _VERBS:
            return Fraction(1)  # "users report their locations every 30 seconds": one each time
    return None


def _counted_around(clause: Clause, anchor: Quantity | None) -> str:
    if anchor is not None and anchor.kind in ("count", "times"):
        return _counted(clause, anchor)
    words = clause.words
    before = [word for _, word in words]
    verbs = {("write" if word in WRITE_VERBS else "read") for word in before if word in _VERBS}
    nouns = {("write" if word in WRITE_NOUNS else "read") for word in before if word in _RW_NOUNS}
    found = verbs or nouns
    if len(found) != 1:
        raise Refused("a rate of what?")
    return found.pop()


def _user_share(clause: Clause, share: Quantity) -> Fraction:
    after = clause.after(share.last)
    if after[:1] != ["of"] or not set(after[1:4]) & (USERS | {"them"}):
        raise Refused("a share of what?")
    if share.value > 1:
        raise UsageError(f"share: {share.text} is more than all the users", "write it like 10%")
    return share.value


def _per_user(clause: Clause, anchor: Quantity | None) -> bool:
    words = clause.words
    for (i, word), (j, nxt) in itertools.pairwise(words):
        if word in PER_WORDS - {"a", "an"} | {"the", "average"} and nxt in USERS and j == i + 1:
            return True
        if word in ("a", "an") and nxt in USERS - {"users"} and j == i + 1:
            return True
    if anchor is not None:
        before = clause.before(anchor.first)
        if any(word in USERS for word in before):
            return True
        after = clause.after(anchor.last)
        if after and after[-1] in ("each", "apiece"):
            return True
    return False


# ---------------------------------------------------------------------------------------------------------------
# The text


def parse_text(text: str, dau: Fraction | None = None, convention: Convention = EXACT) -> TextParse:
    """The figures stated in free text, how each clause was read, and the clauses not understood (never guessed).

    `dau`: a DAU stated outside the text (`--dau`), which decides how "N things a day" reads as it would in it.
    A figure stated twice with different values is a usage error naming both phrases.
    """
    if negative := _NEGATIVE_FIGURE.search(text):
        raise UsageError(f"{negative.group()!r}: a quantity must be more than zero", "state it without a minus sign")
    text = "\n".join(dict.fromkeys(text.split("\n")))  # a line said twice says nothing new (and costs nothing)
    found: list[tuple[Clause, Found]] = []
    refused: dict[str, str] = {}
    blocked: dict[str, str] = {}
    seen: set[str] = set()
    failed: dict[str, str] = {}  # clauses cut at "and" with a part not understood
    for clause in _qualified(split_clauses(text)):
        clause.convention = convention
        if clause.text in seen or not _may_state_a_figure(clause):
            continue  # a clause said twice says nothing new
        seen.add(clause.text)
        try:
            result = read_clause(clause)
        except (Refused, NotAQuantity) as exc:
            _refuse(clause, exc, refused, blocked)
            if clause.whole:
                failed[clause.whole] = refused.pop(_short(clause.text), "a part not understood")
            continue
        except UsageError as exc:
            raise UsageError(f"{_short(clause.text)!r}: {exc.what}", exc.fix) from None
        if result is not None:
            found.append((clause, result))
    return _resolve(_whole_clauses(found, refused, failed), refused, blocked, dau, convention)


def _whole_clauses(
    found: list[tuple[Clause, Found]], refused: dict[str, str], failed: dict[str, str]
) -> list[tuple[Clause, Found]]:
    """A clause cut at "and" is read only if every part is ("each user uploads 2 photos and 1 video per day":
    the video alone would be read per user, the photos not at all); else it is listed whole."""
    for whole, reason in failed.items():
        refused.setdefault(_short(whole), reason)
    return [(clause, result) for clause, result in found if clause.whole not in failed]


_SPELLED = frozenset(
    [
        *NUMBER_WORDS,
        *REPEAT_WORDS,
        "a",
        "an",
        "no",
        "not",
        "single",
        "without",
        "one",
        "forever",
        "indefinitely",
        "permanently",
    ]
)


def _may_state_a_figure(clause: Clause) -> bool:
    """A clause with no digits and no number word states no figure (most of a pasted spec): skip it fast."""
    return any(tok.kind == "num" or tok.low in _SPELLED for tok in clause.toks)


_REPEATS = frozenset(REPEAT_WORDS)
_COUNTING_WORDS = frozenset(word for word in [*NUMBER_WORDS, *REPEAT_WORDS] if word not in ("zero", "one"))


def _refuse(clause: Clause, exc: Exception, refused: dict[str, str], blocked: dict[str, str]) -> None:
    reason = exc.reason if isinstance(exc, Refused) else "a number written ambiguously"
    counted = any(tok.kind == "num" or tok.low in _COUNTING_WORDS for tok in clause.toks)
    if not counted and not _mentions_a_default(clause):
        return
    refused.setdefault(_short(clause.text), reason)
    words = clause.word_set()
    topics = {
        "read_ratio": words & ({"read", "reads", "ratio", "r"} | READ_NOUNS),
        "peak": words & (PEAK | {"average", "avg", "mean"}),
        "replication": words & (REPLICATION | {"way"}),
        "cache_ratio": words & CACHE,
    }
    if words & MACHINES:
        return
    for name, hit in topics.items():
        if hit:
            blocked.setdefault(name, repr(_short(clause.text)))


def _mentions_a_default(clause: Clause) -> bool:
    words = clause.word_set()
    if words & _ENDLESS:
        return True
    spelled = any(word in REPEAT_WORDS or word in ("once",) for word in words) or bool(clause.qs)
    return spelled and bool(words & (PEAK | REPLICATION | CACHE | {"reads", "read", "ratio"}))


def _short(clause: str) -> str:
    clause = clause.strip(" \t-*")
    return clause if len(clause) <= 80 else f"{clause[:79]}…"


def _resolve(
    found: list[tuple[Clause, Found]],
    refused: dict[str, str],
    blocked: dict[str, str],
    dau: Fraction | None,
    convention: Convention,
) -> TextParse:
    """The figures that depend on others: DAU from users × a share, rates per user or in total, a rate per
    concurrent user, a peak factor from an absolute peak. What cannot be decided is listed as not understood."""
    stated: list[tuple[str, Stated]] = []
    readings: list[Reading] = []
    pending: dict[str, list[tuple[Clause, Found]]] = {}
    for clause, result in found:
        origin = repr(_short(clause.text))
        if result.pending is None:
            stated += [(name, Stated(value, origin)) for name, value in result.stated.items()]
            readings.append(Reading(_short(clause.text), result.reading, tuple(result.stated)))
        else:
            pending.setdefault(result.pending[0], []).append((clause, result))
    given = dict(stated)

    def refuse(clause: Clause, reason: str) -> None:
        refused.setdefault(_short(clause.text), reason)

    def read(clause: Clause, how: str, **values: Stated) -> None:
        stated.extend(values.items())
        readings.append(Reading(_short(clause.text), how, tuple(values)))

    population = dau if dau is not None else given["dau"].value if "dau" in given else None
    users, shares = pending.get("users", []), pending.get("dau_share", [])
    if len(users) == 1 and len(shares) == 1 and population is None:
        (u_clause, u), (s_clause, s) = users[0], shares[0]
        total, share = u.pending[1], s.pending[1]  # type: ignore[index]
        origin = f"{_short(u_clause.text)!r} × {_short(s_clause.text)!r}"
        value = total * share
        stated.append(("dau", Stated(value, origin, f"DAU {format_number(value)} = {origin}")))
        readings.append(Reading(_short(u_clause.text), u.reading, ()))
        readings.append(Reading(_short(s_clause.text), f"{s.reading}: DAU {format_number(value)}", ("dau",)))
        population = value
    else:
        for clause, result in users:
            if population is not None or shares:
                readings.append(Reading(_short(clause.text), f"{result.reading} (not used: the DAU is stated)", ()))
            else:
                refuse(clause, "users, but how many are active daily? (e.g. '50% daily active')")
        for clause, _ in shares:
            refuse(clause, "a daily share of how many users?")
    rates = _single_streams(pending.get("rate", []), refuse, blocked)
    _resolve_rates(rates, population, users, convention, refuse, read)
    concurrent = pending.get("concurrent", [])
    intervals = pending.get("interval", [])
    if len(concurrent) == 1 and len(intervals) == 1:
        (c_clause, c), (i_clause, i) = concurrent[0], intervals[0]
        online, per_second = c.pending[1], i.pending[1]  # type: ignore[index]
        name = "writes_per_day" if i.kind == "write" else "reads_per_day"
        per_day = online * per_second * convention.seconds_per_day
        origin = f"{_short(c_clause.text)!r} × {_short(i_clause.text)!r}"
        note = (
            f"{name.replace('_', ' ')} {format_number(per_day)} = {format_number(online)} concurrent users ×"
            f" {format_number(per_second)}/s × {format_number(Fraction(convention.seconds_per_day))} s"
        )
        readings.append(Reading(_short(c_clause.text), c.reading, ()))
        read(i_clause, f"{i.reading}: {format_number(online * per_second)}/s", **{name: Stated(per_day, origin, note)})
    else:
        for clause, _ in concurrent:
            refuse(clause, "concurrent users, but no rate per user with an interval")
        for clause, _ in intervals:
            refuse(clause, "a rate with an interval needs the number of concurrent users")
    _resolve_peaks(pending.get("peak_absolute", []), stated, refuse, read)
    merged = merge(*({name: item} for name, item in stated))
    order = {_short(clause.text): clause.start for clause, _ in found}
    readings.sort(key=lambda reading: order.get(reading.clause, 0))  # in the order of the text
    return TextParse(merged, tuple(refused), tuple(readings), blocked, dict(refused))


def _single_streams(rates, refuse, blocked):  # type: ignore[no-untyped-def]
    """Two totals of one kind (`250 billion read requests per month`, `10 billion searches per month`) are two
    streams: sdx estimates one, so neither is used (nor a default in place of the reads)."""
    by_kind: dict[str, set[str]] = {}
    for _, result in rates:
        by_kind.setdefault(result.kind.rstrip("!"), set()).add(result.noun)
    kept = []
    for clause, result in rates:
        kind = result.kind.rstrip("!")
        if len(by_kind[kind]) > 1:  # the same noun twice is one stream stated twice (equal, or contradictory)
            refuse(clause, f"one of several {kind} streams (sdx estimates one)")
            if kind == "read":
                blocked.setdefault("read_ratio", repr(_short(clause.text)))
        else:
            kept.append((clause, result))
    return kept


def _resolve_rates(rates, population, users, convention, refuse, read) -> None:  # type: ignore[no-untyped-def]
    """Each "N things per period" with no per-user marker: in total, or per user beside a DAU (PER_USER_MAX)."""
    day = convention.seconds_per_day
    for clause, result in rates:
        per_second = result.pending[1]
        kind, said_total = result.kind.rstrip("!"), result.kind.endswith("!")
        per_day = per_second * day
        origin = repr(_short(clause.text))
        reading = "total"
        period = _period(clause)
        if not said_total and period == 1:
            if population is not None:
                reading = _reading(per_day, population) or "ambiguous"
            elif users:
                reading = "per_user"
        if reading == "ambiguous" or (reading == "per_user" and kind == "request"):
            refuse(clause, "per user or in total?")
            continue
        if reading == "per_user":
            name = "writes_per_user" if kind == "write" else "reads_per_user"
            note = (
                f"{origin} read per user a day: at most {PER_USER_MAX:,}, and as a total it would be under one a day"
                f" per 1,000 of the {format_number(population)} users stated"
                if population is not None
                else ""
            )
            read(clause, f"{kind}s per user per day {format_number(per_day)}", **{name: Stated(per_day, origin, note)})
            continue
        how = f"{result.reading}: {format_number(per_second)}/s"
        if kind == "write":
            read(clause, f"writes per day {format_number(per_day)} ({how})", writes_per_day=Stated(per_day, origin))
        elif kind == "read":
            read(clause, f"reads per day {format_number(per_day)} ({how})", reads_per_day=Stated(per_day, origin))
        else:
            read(clause, f"requests per second {format_number(per_second)}", total_qps=Stated(per_second, origin))


def _resolve_peaks(peaks, stated, refuse, read) -> None:  # type: ignore[no-untyped-def]
    """`peak 300k` beside `100k QPS`: a peak factor of 3; `peak 300k QPS` beside it too."""
    given = dict(stated)
    average = given.get("total_qps")
    absolute = given.get("peak_total_qps")
    if average is not None and absolute is not None:
        stated[:] = [(name, item) for name, item in stated if name != "peak_total_qps"]
        factor = absolute.value / average.value
        origin = f"{absolute.origin} ÷ {average.origin}"
        note = f"peak-to-average {format_number(factor)}× = {origin}"
        stated.append(("peak", Stated(factor, origin, note)))
    for clause, result in peaks:
        if average is None:
            refuse(clause, "an absolute peak of what? (state the average QPS beside it)")
            continue
        value = result.pending[1]
        factor = value / average.value
        origin = f"{_short(clause.text)!r} ÷ {average.origin}"
        note = f"peak-to-average {format_number(factor)}× = {origin}"
        read(
            clause,
            f"peak {format_number(value)}/s: peak-to-average {format_number(factor)}×",
            peak=Stated(factor, origin, note),
        )


def _reading(count: Fraction, population: Fraction) -> str | None:
    """`per_user`, `total`, or None (ambiguous) for "N things a day" beside a DAU: see PER_USER_MAX."""
    per_user = count <= PER_USER_MAX
    total = count >= population * TOTAL_MIN_SHARE
    if per_user and not total:
        return "per_user"
    if total and not per_user:
        return "total"
    return None


def estimate_from_text(text: str, convention: Convention = EXACT) -> Estimate | None:
    """The estimate for a question and its context, or None when no rate can be known from them.

    Never raises: an `ask` must not fail because of its context (contradictions and bad figures give None).
    """
    try:
        parsed = parse_text(text, convention=convention)
        if not parsed.stated:
            return None
        estimate = compute(
            parsed.stated,
            parsed.not_understood,
            convention=convention,
            readings=parsed.readings,
            blocked=parsed.blocked,
        )
        return replace(estimate, reasons=parsed.reasons)
    except UsageError:
        return None
