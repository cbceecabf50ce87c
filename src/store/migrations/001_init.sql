-- 001_init.sql — the core schema: users and sessions, catalog, sealed inventory, orders,
-- the double-entry ledger, idempotency records and the hash-chained audit log.
-- Portable SQL (SQLite STRICT now, PostgreSQL later): integer money, no floats.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin','support','risk','supplier','reseller','buyer')),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    face_value INTEGER NOT NULL CHECK (face_value > 0),
    price INTEGER NOT NULL CHECK (price > 0),
    currency TEXT NOT NULL,
    liquidity TEXT NOT NULL CHECK (liquidity IN ('high','low')),
    stock INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),  -- cached count of free codes
    created_at INTEGER NOT NULL
) STRICT;

-- A code is sealed (nonce || XChaCha20-Poly1305 ciphertext, the id as associated data) and
-- deduplicated through a keyed BLAKE2b hash; the plaintext is never stored.
-- state: 0 free, 1 sold, 2 expired unsold (retired by the writer's periodic sweep).
CREATE TABLE codes (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products(id),
    hash BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL,
    expires_at INTEGER,
    state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
    order_id INTEGER REFERENCES orders(id),
    imported_at INTEGER NOT NULL,
    CHECK ((state = 1) = (order_id IS NOT NULL))
) STRICT;
CREATE INDEX codes_free ON codes (product_id, id) WHERE state = 0;
CREATE INDEX codes_expiring ON codes (expires_at) WHERE state = 0 AND expires_at IS NOT NULL;
CREATE INDEX codes_order ON codes (order_id) WHERE order_id IS NOT NULL;

-- Orders keep a snapshot of the product as sold, so later price changes never rewrite them.
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    buyer_id INTEGER NOT NULL REFERENCES users(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    sku TEXT NOT NULL,
    product_name TEXT NOT NULL,
    unit_price INTEGER NOT NULL,
    face_value INTEGER NOT NULL,
    currency TEXT NOT NULL,
    liquidity TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    amount INTEGER NOT NULL CHECK (amount > 0),
    payment TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending_payment','review','paid','delivered','refunded','cancelled')),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX orders_buyer ON orders (buyer_id, id);

-- Double-entry ledger. owner_id 0 marks a platform account. A transfer's postings sum to
-- zero per currency; accounts.balance caches the sum of the account's postings.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('buyer_wallet','credit_receivable','gateway_clearing',
        'escrow','supplier_payable','reseller_payable','platform_revenue','fees','funding')),
    owner_id INTEGER NOT NULL,
    currency TEXT NOT NULL,
    balance INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, owner_id, currency)
) STRICT;

CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    order_id INTEGER REFERENCES orders(id),
    actor_id INTEGER,
    reason TEXT,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE postings (
    transfer_id INTEGER NOT NULL REFERENCES transfers(id),
    seq INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount != 0),
    currency TEXT NOT NULL,
    PRIMARY KEY (transfer_id, seq)
) STRICT, WITHOUT ROWID;

-- The first answer to an Idempotency-Key is re-rendered from its order on replay.
CREATE TABLE idempotency (
    user_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT, WITHOUT ROWID;

-- Tamper-evident audit log: hash = BLAKE2b(prev_hash || the entry's fields).
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
) STRICT;
