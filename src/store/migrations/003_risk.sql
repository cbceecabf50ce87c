-- 003_risk.sql — the risk engine's records: every event it saw (with the decision for
-- decidable ones), rule file versions, list contents, and the outcome of manual reviews.

-- One row per event, in the order the engine saw it (id): the engine's feature state is
-- rebuilt from these at start. body is the event's canonical JSON (risk_event_append_json).
-- Decidable events carry their decision: action, score, the rule version it ran, the fired
-- rules and every feature value, packed (risk/decision.c: rule indices as 16-bit integers;
-- feature values as doubles, then last-value strings) and explained by name when read,
-- with the rule file of that version. label is 0/1 when known (posted with the event, or
-- set by a review) and feeds backtests.
CREATE TABLE risk_events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    user_key TEXT NOT NULL, -- the event's user (a username for Tessera's own events)
    body TEXT NOT NULL,
    order_id INTEGER REFERENCES orders(id),
    action TEXT CHECK (action IS NULL OR action = 'allow' OR action = 'challenge' OR
                       action = 'review' OR action = 'block'),
    score REAL,
    model_score REAL,
    rules_version INTEGER,
    rules BLOB,
    features BLOB,
    label INTEGER CHECK (label IS NULL OR label = 0 OR label = 1),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX risk_events_order ON risk_events (order_id) WHERE order_id IS NOT NULL;

-- Rule files as uploaded; the active one is the highest version.
CREATE TABLE risk_rulesets (
    version INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    actor_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- List contents set through the API (a list a rule file declares starts with the items the
-- file gives, until an operator replaces them).
CREATE TABLE risk_list_items (
    list TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (list, item)
) STRICT, WITHOUT ROWID;
CREATE TABLE risk_lists (
    name TEXT PRIMARY KEY,
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The person's word on an order the engine held for review.
CREATE TABLE risk_reviews (
    order_id INTEGER PRIMARY KEY REFERENCES orders(id),
    decision TEXT NOT NULL CHECK (decision = 'approve' OR decision = 'reject'),
    note TEXT NOT NULL,
    actor_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
