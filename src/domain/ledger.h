/* ledger.h — double-entry transfers as pure values. A transfer is a list of postings
 * (account, signed amount, currency) that must sum to zero per currency before the store
 * may write it. No I/O here; src/store/ledger_store.c persists what this validates. */
#ifndef TESSERA_DOMAIN_LEDGER_H
#define TESSERA_DOMAIN_LEDGER_H

#include <stdint.h>

#include "base/money.h"
#include "base/status.h"

#define LEDGER_MAX_POSTINGS 8

/* Account kinds, from the shared design; names match the accounts.kind column. */
enum ledger_kind {
    LEDGER_BUYER_WALLET,      /* liability to a buyer; never negative */
    LEDGER_CREDIT_RECEIVABLE, /* installments owed by a buyer */
    LEDGER_GATEWAY_CLEARING,  /* money in flight at a payment provider */
    LEDGER_ESCROW,            /* held until settlement */
    LEDGER_SUPPLIER_PAYABLE,
    LEDGER_RESELLER_PAYABLE,
    LEDGER_PLATFORM_REVENUE,
    LEDGER_FEES,
    LEDGER_FUNDING, /* stand-in source of wallet credits until gateways exist */
    LEDGER_KIND_COUNT
};

const char *ledger_kind_name(enum ledger_kind kind);
/* Accounts of these kinds must never hold a negative balance. */
int ledger_kind_nonnegative(enum ledger_kind kind);

struct ledger_posting {
    int64_t account_id;
    enum ledger_kind kind;
    int64_t amount; /* signed minor units; + increases the account's balance */
    char currency[MONEY_CURRENCY_BYTES];
};

struct ledger_transfer {
    const char *kind; /* "order", "wallet_credit", … */
    int count;
    struct ledger_posting postings[LEDGER_MAX_POSTINGS];
};

void ledger_transfer_init(struct ledger_transfer *transfer, const char *kind);
/* Adds one posting; amount must be non-zero. */
must_check enum status ledger_transfer_add(struct ledger_transfer *transfer, int64_t account_id,
                                           enum ledger_kind kind, int64_t amount,
                                           const char *currency);
/* A move of amount from one account to another: two postings, -amount and +amount. */
must_check enum status ledger_transfer_move(struct ledger_transfer *transfer, int64_t from_id,
                                            enum ledger_kind from_kind, int64_t to_id,
                                            enum ledger_kind to_kind, int64_t amount,
                                            const char *currency);
/* STATUS_OK when there are at least two postings and they sum to zero per currency. */
must_check enum status ledger_transfer_check(const struct ledger_transfer *transfer);

#endif
