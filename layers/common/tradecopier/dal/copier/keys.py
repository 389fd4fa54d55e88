"""The copier's table: groups, followers, account claims, leader events, their copies, order links,
the leader listener's last-seen state.

Single-table design (``CopierTable``; key ``pk``/``sk``, one overloaded GSI ``gsi1``):

| item          | pk                          | sk                 | gsi1pk / gsi1sk                     |
|---------------|-----------------------------|--------------------|-------------------------------------|
| group         | GROUP#{group_id}            | META               | GROUPS / {created_at}#{group_id}    |
| follower      | GROUP#{group_id}            | FOLLOWER#{account} |                                     |
| account claim | ACCOUNT#{account_id}        | CLAIM              |                                     |
| queue owner   | QUEUE#{queue_name}          | QUEUE              |                                     |
| leader event  | EVENT#{group_id}#{event_id} | EVENT              | EVENTS#{group_id} / {received_at}#… |
| copy          | EVENT#{group_id}#{event_id} | COPY#{account}     | (of any event but order.placed)     |
| placed copy   | LINK#{group_id}#{order_id}  | FOLLOWER#{account} | (= the order link it creates)       |
| leg link      | LINK#{group_id}#{leg_id}    | FOLLOWER#{account} | (a bracket leg's order link)        |
| broker token  | TVTOKEN#{user digest}       | TOKEN              |                                     |
| leader pos.   | LEADER#{group_id}           | POSITION#{symbol}  |                                     |
| sync history  | SYNC#{group_id}#{account}   | {symbol}#{id}      |                                     |
| listener state| LISTENER#{group_id}         | LEADER#{account}   |                                     |
| alert ledger  | ALERT#{account_id}          | ALERT#{kind}       |                                     |

Access patterns (module of ``tradecopier.dal.copier`` in brackets):
- create group: one transaction, leader claim (``attribute_not_exists``) + group item. [groups]
- get group with followers: one strongly consistent Query on ``GROUP#{gid}``. [groups]
- group version: ``version`` on the group item, bumped (``ADD version 1``) in the same request by
  every write that changes what ingest reads from the group: the token hash, the topic ARNs, a
  follower's creation, provisioning and deletion. Ingest keeps the group in memory and accepts an
  event only while the version is unchanged (below); follower settings, locks, risk and sync
  state do not bump it (ingest does not read them; the executor reads them itself). [versions]
- list groups: Query ``gsi1`` on ``GROUPS``. [groups]
- add follower: one transaction, follower claim (``attribute_not_exists``) + follower item + the
  group's version bump (conditional on the group existing). The claim is what makes "an account
  belongs to at most one group, and a leader is never a follower" race-proof: two requests cannot
  both create it.
  [followers, claims]
- mark provisioned: one transaction, the follower's ``provisioned`` flag + the queue-owner item
  (read by the executor to map a queue to its follower) + the group's version bump. [followers,
  queues]
- lock / unlock: conditional UpdateItem on the follower item. [followers]
- accept event: one TransactWriteItems (ingest) of the event item with the list of its
  ``followers`` (``attribute_not_exists`` = idempotency on ``event_id``; the existing item comes
  back on conflict, decoded, in ``EventExists``) and a ConditionCheck that the group item is still
  at the version the followers were read at (else ``GroupChanged``, nothing written: ingest reads
  the group again). The leader listener, which reads the group right before, writes the same item
  with a plain conditional PutItem. No copy item is written: a follower of the list without one is
  ``pending``. The event item is written once and never rewritten, so its size and write units do
  not depend on what the copies do. [events]
- where a copy record lives (data layer v2, ``copies.copy_order_id``): the copy of an
  ``order.placed`` *is* its order link item, ``LINK#{gid}#{order_id}`` / ``FOLLOWER#{account}``:
  the copy fields, the ``event_id``, and, when a follower order was placed, the link attributes
  (``link_broker_order_id``, ``link_client_order_id``, ``symbol``, ``leg_order_ids``: named apart
  from the record's own ``broker_order_id``, so a later link update never rewrites the record). A
  skipped, rejected or pending placed copy is written there too, without link attributes: a later
  modify/cancel of that order finds no link and is skipped "no follower order copies …", as
  before. Every other copy is ``EVENT#{gid}#{event_id}`` / ``COPY#{account}``, in the event's
  partition. The link key is the one key a later modify/cancel can compute (it knows only the
  leader order id, not the id of the event that placed the order; a GSI would be eventually
  consistent only, and a cancel right after its place could miss the link and leave the
  follower's order working), so the placed copy moves to the link rather than the link to the
  copy. The readers compute the keys from the event item (its ``type``, the order id in
  ``accepted``, its ``followers``). A leader order id sent again in a second ``order.placed``
  finds the link key holding the first event's record: that second copy falls back to the
  event's partition (its condition fails, one consistent GetItem of the link item's
  ``event_id`` tells it is another event's), its link is set on the link item as below, and
  readers that find the link item naming another event read the event's partition too.
- executor load: one strongly consistent BatchGetItem of five items: follower (lock and risk
  state), claim, event (its ``followers``: a follower missing there joined later, nothing to copy),
  the copy item in the event's partition, the link item of the order the event acts on (for an
  ``order.placed`` that is its own copy record, when it names this event). An ``order.placed``'s
  load (``placed=True``) reads four: not the event's partition, read (one GetItem more) only when
  the link item is another event's or a link alone. Each key is 1 RRU, found or not. [copy_inputs]
- record copy: one conditional PutItem (small, ≈ 1 WRU whatever the number of followers; an
  ``order.placed``'s at its link key, carrying the link it creates: after the broker call the
  copy costs this one write), going through only while no final outcome of this event is there
  (absent, or the item names this ``event_id`` and is ``pending`` — a failed attempt's note — or
  skipped by a removal): the executor's exactly-once record. A follower with risk rules writes it
  in one transaction with its risk state (copies + risk). [copies, risk]
- other order links: a bracket's leg links are items of their own (a bracket is more than one
  order): one PutItem, or one BatchWriteItem for both legs, before the entry's record. A link
  made or changed by a later event — a modify whose broker replaced the follower order (rare:
  one UpdateItem more, before that modify's record), an entry copied from a leader fill in copy
  mode ``fills`` (its placed event's copy was skipped) — is one UpdateItem of the link
  attributes only, so a copy record sharing the item stays as it was. [links]
- event with its copies (``GET …/events/{id}``): one strongly consistent Query of the event's
  partition (the event item and its copy items); for an ``order.placed`` one BatchGetItem more,
  of its followers' link items (its copy records). [events]
- removed follower: its events still without a final copy record (event items of the group
  projected to ``followers``, ``type`` and ``accepted``, then its copy records by key) get a
  ``skipped`` record marked ``by_removal``, where the executor would have written it. [copies]
- copy log (list events of a group, newest first): Query ``gsi1`` on ``EVENTS#{gid}`` (ids
  only), BatchGetItem of the events, BatchGetItem of their copy records (keys from each event's
  type, order id and ``followers``; 100 keys a call): three calls whatever the number of events
  and followers (an index holding the copies would double every copy's write units); a fourth
  only if a link item names another event (a reused leader order id). Home mode's re-drive reads
  this list: a copy without a final record is re-sent. [events]
- broker token (not written through ``CopierStore``: the Tradovate adapter's own
  ``brokers/tradovate/store.py`` owns it): one item per Tradovate user, the digest of REST base +
  username (never a secret, never the username itself). The token as KMS ciphertext, its expiry and
  version, the renewal lease and a refused-login record; ConsistentRead GetItem + conditional
  UpdateItem only (``brokers/tradovate/lease.py``). Expires through TTL a day after the token.
- leader position (sync): ingest, for an event that tells the leader's position (``position_after``
  on a market ``order.placed`` or an ``order.filled``, or ``position.flattened``), one blind
  UpdateItem of ``LEADER#{gid}`` / ``POSITION#{symbol}`` (qty, the lots since it last started over
  for the average entry price, the latest price, the event id); other events write nothing. A
  sync check reads all of a group's in one Query. [sync]
- follower sync status: the ``sync`` map attribute of the follower item (its view's ``sync``
  field), one UpdateItem per check that changes it. [sync]
- sync history: one PutItem per catch-up or refusal under ``SYNC#{gid}#{account}`` (sk derived from
  the deterministic catch-up id, so a repeated check overwrites, never doubles); TTL. [sync]
- leader listener: one consistent GetItem of its last-seen state per leader on (re)connect; one
  UpdateItem of the view after each frame's events were accepted, and of the stream's state
  (connected / reconnecting / down) when it changes. [listener: ``ListenerStateStore``, outside the
  ``CopierStore`` facade so the hot handlers do not import it]
- alert rate limit: one conditional PutItem of the ledger item (``sent_at`` older than the
  interval, or none). [alerts]
Events, copies and links expire through TTL (``expires_at``) after ``event_retention_days``.
Timestamps are stored as UTC ISO 8601 with milliseconds and a ``Z`` (``iso``): they sort as text,
which is what the ``gsi1sk`` orderings rely on.

No migration: this layout (copy items instead of a ``copies`` map on the event item; the placed
copy as its link item, the link's attributes named ``link_*``) replaced the earlier ones before
any deployment had users; a table with earlier items would show their placed copies ``pending``
and their links missing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

INDEX = "gsi1"
GROUPS_INDEX_PK = "GROUPS"

# What ``item_kind`` answers for each item type (the pk and sk prefixes).
FOLLOWER_KIND = "GROUP|FOLLOWER"
CLAIM_KIND = "ACCOUNT|CLAIM"
EVENT_KIND = "EVENT|EVENT"
COPY_KIND = "EVENT|COPY"
LINK_KIND = "LINK|FOLLOWER"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def group_pk(group_id: str) -> str:
    return f"GROUP#{group_id}"


def group_key(group_id: str) -> dict[str, Any]:
    return {"pk": {"S": group_pk(group_id)}, "sk": {"S": "META"}}


def groups_index_sk(created: str, group_id: str) -> str:
    return f"{created}#{group_id}"


def follower_key(group_id: str, account_id: str) -> dict[str, Any]:
    return {"pk": {"S": group_pk(group_id)}, "sk": {"S": f"FOLLOWER#{account_id}"}}


def claim_key(account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ACCOUNT#{account_id}"}, "sk": {"S": "CLAIM"}}


def queue_key(queue_name: str) -> dict[str, Any]:
    return {"pk": {"S": f"QUEUE#{queue_name}"}, "sk": {"S": "QUEUE"}}


def event_key(group_id: str, event_id: str) -> dict[str, Any]:
    return {"pk": {"S": event_pk(group_id, event_id)}, "sk": {"S": "EVENT"}}


def event_pk(group_id: str, event_id: str) -> str:
    return f"EVENT#{group_id}#{event_id}"


def copy_key(group_id: str, event_id: str, account_id: str) -> dict[str, Any]:
    """One follower's copy of one event: in the event's partition, so one Query reads both."""
    return {"pk": {"S": event_pk(group_id, event_id)}, "sk": {"S": f"COPY#{account_id}"}}


def events_index_pk(group_id: str) -> str:
    return f"EVENTS#{group_id}"


def events_index_sk(received: str, event_id: str) -> str:
    return f"{received}#{event_id}"


def link_key(group_id: str, leader_order_id: str, account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"LINK#{group_id}#{leader_order_id}"}, "sk": {"S": f"FOLLOWER#{account_id}"}}


def leader_positions_pk(group_id: str) -> str:
    return f"LEADER#{group_id}"


def leader_position_key(group_id: str, symbol: str) -> dict[str, Any]:
    return {"pk": {"S": leader_positions_pk(group_id)}, "sk": {"S": f"POSITION#{symbol}"}}


def sync_log_pk(group_id: str, account_id: str) -> str:
    return f"SYNC#{group_id}#{account_id}"


def listener_key(group_id: str, account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"LISTENER#{group_id}"}, "sk": {"S": f"LEADER#{account_id}"}}


def alert_key(account_id: str, kind: str) -> dict[str, Any]:
    return {"pk": {"S": f"ALERT#{account_id}"}, "sk": {"S": f"ALERT#{kind}"}}


def item_kind(values: dict[str, Any]) -> str:
    """The item type of a decoded item, from its key prefixes (e.g. ``FOLLOWER_KIND``)."""
    return str(values["pk"]).split("#", 1)[0] + "|" + str(values["sk"]).split("#", 1)[0]
