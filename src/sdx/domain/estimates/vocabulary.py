"""The words the sentence reader knows: who the users are, what is written and read, machines, periods."""

from __future__ import annotations

from fractions import Fraction

from sdx.domain.estimates.units import DAYS_PER_MONTH, DAYS_PER_YEAR


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


USERS = _words(
    "user users people persons person accounts account members member subscribers subscriber customers "
    "customer visitors visitor players player viewers viewer drivers driver riders rider dau daus"
)
WRITE_NOUNS = _words(
    "write writes post posts tweet tweets message messages upload uploads photo photos video videos paste "
    "pastes url urls link links shortlink shortlinks event events insert inserts record records order "
    "orders transaction transactions comment comments update updates file files image images picture "
    "pictures entry entries row rows document documents story stories status statuses ride rides trip "
    "trips booking bookings payment payments review reviews pin pins location locations shortening shortenings"
)
READ_NOUNS = _words(
    "read reads view views pageview pageviews search searches lookup lookups visit visits click clicks "
    "fetch fetches redirect redirects impression impressions"
)
REQUEST_NOUNS = _words("request requests req reqs query queries qps rps call calls hit hits")
WRITE_VERBS = _words(
    "post posts posting posted upload uploads uploaded uploading send sends sent sending create creates "
    "created creating write writes written writing shorten shortens shortened tweet tweets tweeted "
    "publish publishes published add adds added submit submits submitted insert inserts inserted generate "
    "generates generated place places placed report reports reported"
)
READ_VERBS = _words(
    "watch watches watched watching view views viewed viewing read reads reading fetch fetches fetched "
    "fetching open opens opened search searches searched visit visits visited click clicks clicked load "
    "loads loaded browse browses check checks checked refresh refreshes play plays stream streams listen "
    "listens access accesses download downloads look looks lookup"
)
MACHINES = _words(
    "server servers machine machines node nodes host hosts instance instances box boxes shard shards "
    "database databases db dbs cluster worker workers"
)
MEMORY = _words("ram memory mem")
DISK = _words("disk disks ssd ssds hdd hdds drive drives")
REPLICATION = _words("replica replicas replication replicated replicate copies copy rf")
CACHE = _words("cache cached caching")
PEAK = _words("peak peaks peaking spike spikes busiest")
RETAIN = _words("keep kept keeping retain retained retaining retention store stored storing persist persisted history")
DATA = _words("data storage stored dataset content contents objects records urls pastes files")
TOTAL = _words("total overall altogether aggregate platform system")
REFUSED_WORDS = {
    "fanout": "a fan-out",
    "fan": "a fan-out",
    "deliveries": "a fan-out",
    "delivered": "a fan-out",
    "followers": "a follower count (fan-out)",
    "friends": "a friend count (fan-out)",
    "follows": "a follower count (fan-out)",
    "field": "a size per field",
    "column": "a size per field",
    "id": "a size per field",
    "bandwidth": "a bandwidth",
    "up": "an upper bound",
    "max": "a maximum",
    "maximum": "a maximum",
    "min": "a minimum",
    "minimum": "a minimum",
    "least": "a minimum",
    "most": "a maximum",
    "between": "a range",
    "or": "a choice of figures",
    "mil": "a scale word sdx does not know",
    "mill": "a scale word sdx does not know",
    "mln": "a scale word sdx does not know",
    "bil": "a scale word sdx does not know",
    "bln": "a scale word sdx does not know",
    "lakh": "a scale word sdx does not know",
    "lakhs": "a scale word sdx does not know",
    "crore": "a scale word sdx does not know",
    "crores": "a scale word sdx does not know",
}
REFUSED = frozenset(REFUSED_WORDS)
PERIOD_ADVERBS = {
    "daily": Fraction(1),
    "weekly": Fraction(7),
    "monthly": Fraction(DAYS_PER_MONTH),
    "yearly": Fraction(DAYS_PER_YEAR),
    "annually": Fraction(DAYS_PER_YEAR),
    "hourly": Fraction(1, 24),
}
PER_WORDS = _words("per a an each every /")
# words that may stand before a rate's figure without changing what it counts ("let's assume we have …",
# "an average person performs …"); any other word there, before a known verb, leaves the clause unread
NEUTRAL = _words(
    "let's let us assume assuming we have has had there are is will be with and also about around roughly"
    " approximately approx say expect expected estimate estimated can could would may might on average avg an a the"
    " of each every per typical typically generally usually makes make made does do performs perform performing"
    " takes take gets get sees see receives receive will then so that which who whom this these those our their"
    " new total daily monthly % ~ : = - all"
)
# words that may follow a count of users ("300M monthly active users", "800 million of whom are daily active")
USER_QUALIFIERS = _words("mau dau daily monthly active total registered concurrent new unique of whom users")
