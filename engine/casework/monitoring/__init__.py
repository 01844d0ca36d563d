"""The monthly review run (在保必核): compare every household on benefit with the month's data feeds.

The package: ``models`` (tables), ``rules`` (rules and plain results), ``roll`` (the roll, member
index and feeds), ``run`` (the set-based run and its reading).

Jining's closed loop is *automatic comparison every month → warning → investigation → stop*
(DOMAIN §3.1 "Ongoing management").  This module is the comparison and the hand-over to the
``review`` process:

1. **The roll.**  ``recipient`` lists who is on benefit (household, programme, region, amount, since,
   status).  Until payments build entitlements this table *is* the roll.
2. **The feeds.**  ``data_feed_row`` holds what the 14 departments sent for a month, one row per
   person and event, keyed by ``id_hash`` = sha256 of the normalised ID number — feeds never hold ID
   numbers.  A row may already name its household (``household_id``); otherwise it is matched
   through ``recipient_member`` (id_hash → household), an index kept from the households' member
   lists and refreshed incrementally (only households whose row version changed are re-read).
3. **The run** (:func:`run_monthly_review`) is set-based: one grouped SQL query per rule finds the
   households hit by that rule (index range on ``(month, feed, id_hash)``, join on the member index
   and the roll); only those hits — about 2% of the roll — come back to Python.  The result of every
   comparison is written with one ``INSERT … SELECT`` per batch of household ids (the hits first, with
   their flags; everyone else as ``none`` through an anti-join), never one ORM object per household.
4. **Investigations.**  For each household whose action is ``investigate`` the run starts the
   ``review`` process (``business_key = review:<month>:<household>``) in batches of cases per
   transaction, each case in its own savepoint.  A household that already has a case for the month,
   or a review case still open from an earlier month, gets no second one, so re-running a month
   opens nothing twice.  Without a deployed ``review`` process the result still says ``investigate``
   (note ``not_deployed``) and no case is opened.

Rules are data (:class:`Rule`, configurable through ``REVIEW_RULES`` in the config); the defaults
follow the brief: a death → investigate; a new vehicle (not an exempt kind) or new property above
the limit → investigate; social-insurance contributions as an employee → warn and investigate (a
possible taper); a business registration → investigate; hospital bills above a threshold → warn
only (possible expenditure-type help, not a stop).  Limits marked [A] are assumptions to configure.
"""

from engine.casework.bulk import bulk_insert
from engine.casework.monitoring.models import (ACTIONS, FEEDS, RECIPIENT_STATUSES, REVIEW_PROCESS, FeedRow,
                                               RecipientMemberRow, RecipientRow, ReviewResultRow, ReviewRunRow)
from engine.casework.monitoring.roll import enrol, import_feed, refresh_member_index, set_recipient_status
from engine.casework.monitoring.rules import (DEFAULT_RULES, ImportReport, Progress, ReviewResult, ReviewRun, Rule,
                                              check_month, id_hash, rules_from_config)
from engine.casework.monitoring.run import compare, results, run_monthly_review, runs
from engine.errors import ValidationError

__all__ = [
    "ACTIONS", "DEFAULT_RULES", "FEEDS", "RECIPIENT_STATUSES", "REVIEW_PROCESS", "FeedRow", "ImportReport",
    "Progress", "RecipientMemberRow", "RecipientRow", "ReviewResult", "ReviewResultRow", "ReviewRun",
    "ReviewRunRow", "Rule", "ValidationError", "bulk_insert", "check_month", "compare", "enrol", "id_hash",
    "import_feed", "refresh_member_index", "results", "rules_from_config", "run_monthly_review", "runs",
    "set_recipient_status",
]
