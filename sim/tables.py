"""The tidy tables a run produces: their columns, types and meaning.

Every table is a :class:`pandas.DataFrame`, one row per observation, with the
columns and types of its ``*_SCHEMA`` below. The simulator fills them
(``sim.engine``, ``sim.run``); in cascade mode the referral tables
(``closures``, ``needs``, ``timeseries``, ``deciles``) have their columns and
no rows; measures (``sim.measures``) and plots (``sim.viz``) are pure
functions of them. Person ids are row numbers ``0..n-1``
of the ``people`` table; ``-1`` means "nobody".

``closures`` (one row per closed need)
    ``closure`` int64: row number; ``need`` int64: need id; ``day`` int32: day
    closed (0-based); ``posted_day`` int32; ``days_to_close`` int32 (0 = same
    day as posted); ``kind`` str: ``direct`` (the provider saw the need) or
    ``referral`` (a broker who saw it introduced a contact whose topic matches);
    ``seeker``, ``provider``, ``broker`` int32 (broker -1 for direct);
    ``topic`` int32; ``value`` float64; ``valuable`` bool; ``hops`` int32: ties
    from seeker to provider along the path; ``path`` list[int32]: seeker, the
    carriers, [broker,] provider; ``path_strengths`` list[float64]: strength of
    each tie on the path on the day the need crossed it (for a referral, the
    broker-provider tie on the closing day); len(path) - 1 values;
    ``arrival_strength`` float64: strength of the tie over which the closer
    (the provider for direct, the broker for a referral) received the need;
    ``arrival_class`` str: ``weak`` / ``medium`` / ``strong``; ``new_tie`` bool:
    the closure created the seeker-provider tie; ``seeker_audience``,
    ``provider_audience``, ``broker_audience`` int32 (broker -1 for direct);
    ``accepted`` bool: the introduction became an engagement (always for
    direct closures and without the trust rule, ``trust.enabled``);
    ``worked`` bool: the engagement worked; ``realised_value`` float64: the
    value realised (``value`` if it worked, else 0); ``broker_credibility``
    float64: the broker's credibility that day (1.0 for direct closures and
    without the trust rule).

``needs`` (one row per need)
    ``need`` int64; ``posted_day`` int32; ``seeker`` int32; ``topic`` int32;
    ``value`` float64; ``valuable`` bool; ``status`` str: ``closed``,
    ``expired`` or ``open`` (still open when the run ended); ``closed_day``
    int32 (-1 unless closed); ``seen_by`` int32: people who saw it.

``people`` (one row per person)
    ``person`` int32; ``label`` int64 (original id in an edge list, else the
    person id); ``audience`` int32: ties at the start of the run; ``community``
    int32; ``topic`` int32; ``budget`` float64 (posts/day); ``is_large`` bool;
    ``decile`` int8 (1 = smallest audiences, 10 = largest); ``final_audience``
    int32: ties at the end; ``sought``, ``provided``, ``brokered``,
    ``brokered_valuable``, ``carried`` int32: needs posted, closures as provider,
    referrals made, valuable referrals made, needs passed on (a pass on a need
    that closed the same day does not count; one on its last day does); ``credit``,
    ``credit_valuable`` float64: brokerage credit under the configured rule;
    ``loyalty`` float64: loyalty of their audience when measurement started,
    the mean share of their followers' attention they get (0 without followers;
    ``sim.engine.World.audience_loyalty``).

``timeseries`` (one row per day)
    ``day`` int32; ``needs_posted``, ``open_needs``, ``closures``, ``direct``,
    ``referrals``, ``valuable_closures``, ``expired``, ``messages`` (tie checks
    made: a post offered to a contact), ``views`` (posts seen), ``new_ties``,
    ``meetups`` int64; ``mean_strength`` float64.

``cascades`` (cascade mode; one row per cascade)
    ``cascade`` int32; ``source`` int32: the person it started from; ``reach``
    int64: people reached, the source included; ``depth`` int32: largest hop
    count reached; ``edge_checks`` int64: ties examined.

``deciles`` (one row per audience decile)
    ``decile`` int8; ``people`` int64; ``mean_audience`` float64; ``credit``,
    ``credit_valuable`` float64: total credit; ``credit_per_capita``,
    ``credit_valuable_per_capita``, ``credit_valuable_per_audience`` float64;
    ``frac_brokering_valuable`` float64.
"""

from __future__ import annotations

import pandas as pd

#: Column -> pandas dtype of each table, in column order (``str``: text,
#: ``object``: a list per row).
CLOSURE_SCHEMA = {
    "closure": "int64", "need": "int64", "day": "int32", "posted_day": "int32",
    "days_to_close": "int32", "kind": "str", "seeker": "int32", "provider": "int32",
    "broker": "int32", "topic": "int32", "value": "float64", "valuable": "bool", "hops": "int32",
    "path": "object", "path_strengths": "object", "arrival_strength": "float64",
    "arrival_class": "str", "new_tie": "bool", "seeker_audience": "int32",
    "provider_audience": "int32", "broker_audience": "int32", "accepted": "bool",
    "worked": "bool", "realised_value": "float64", "broker_credibility": "float64",
}  # fmt: skip
NEED_SCHEMA = {
    "need": "int64", "posted_day": "int32", "seeker": "int32", "topic": "int32",
    "value": "float64", "valuable": "bool", "status": "str", "closed_day": "int32",
    "seen_by": "int32",
}  # fmt: skip
PEOPLE_SCHEMA = {
    "person": "int32", "label": "int64", "audience": "int32", "community": "int32",
    "topic": "int32", "budget": "float64", "is_large": "bool", "decile": "int8",
    "final_audience": "int32", "sought": "int32", "provided": "int32", "brokered": "int32",
    "brokered_valuable": "int32", "carried": "int32", "credit": "float64",
    "credit_valuable": "float64", "loyalty": "float64",
}  # fmt: skip
TIMESERIES_SCHEMA = {
    "day": "int32", "needs_posted": "int64", "open_needs": "int64", "closures": "int64",
    "direct": "int64", "referrals": "int64", "valuable_closures": "int64", "expired": "int64",
    "messages": "int64", "views": "int64", "new_ties": "int64", "meetups": "int64",
    "mean_strength": "float64",
}  # fmt: skip
CASCADE_SCHEMA = {
    "cascade": "int32", "source": "int32", "reach": "int64", "depth": "int32",
    "edge_checks": "int64",
}  # fmt: skip
DECILE_SCHEMA = {
    "decile": "int8", "people": "int64", "mean_audience": "float64", "credit": "float64",
    "credit_valuable": "float64", "credit_per_capita": "float64",
    "credit_valuable_per_capita": "float64", "credit_valuable_per_audience": "float64",
    "frac_brokering_valuable": "float64",
}  # fmt: skip

CLOSURE_COLUMNS = tuple(CLOSURE_SCHEMA)
NEED_COLUMNS = tuple(NEED_SCHEMA)
PEOPLE_COLUMNS = tuple(PEOPLE_SCHEMA)
TIMESERIES_COLUMNS = tuple(TIMESERIES_SCHEMA)
CASCADE_COLUMNS = tuple(CASCADE_SCHEMA)
DECILE_COLUMNS = tuple(DECILE_SCHEMA)


def empty_table(schema: dict[str, str]) -> pd.DataFrame:
    """A table with no rows and the columns (and types) of ``schema``."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in schema.items()})
