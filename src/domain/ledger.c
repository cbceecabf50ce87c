/* ledger.c — building and validating balanced transfers. */
#include "domain/ledger.h"

#include <string.h>

#include "base/assert.h"

static const char *const ledger_kind_names[LEDGER_KIND_COUNT] = {
    [LEDGER_BUYER_WALLET] = "buyer_wallet",
    [LEDGER_CREDIT_RECEIVABLE] = "credit_receivable",
    [LEDGER_GATEWAY_CLEARING] = "gateway_clearing",
    [LEDGER_ESCROW] = "escrow",
    [LEDGER_SUPPLIER_PAYABLE] = "supplier_payable",
    [LEDGER_RESELLER_PAYABLE] = "reseller_payable",
    [LEDGER_PLATFORM_REVENUE] = "platform_revenue",
    [LEDGER_FEES] = "fees",
    [LEDGER_FUNDING] = "funding",
};

const char *ledger_kind_name(enum ledger_kind kind) {
    verify((unsigned)kind < LEDGER_KIND_COUNT);
    return ledger_kind_names[kind];
}

int ledger_kind_nonnegative(enum ledger_kind kind) {
    verify((unsigned)kind < LEDGER_KIND_COUNT);
    return kind == LEDGER_BUYER_WALLET || kind == LEDGER_RESELLER_PAYABLE ||
           kind == LEDGER_SUPPLIER_PAYABLE || kind == LEDGER_ESCROW;
}

void ledger_transfer_init(struct ledger_transfer *transfer, const char *kind) {
    verify(transfer != 0 && kind != 0);
    memset(transfer, 0, sizeof *transfer);
    transfer->kind = kind;
}

enum status ledger_transfer_add(struct ledger_transfer *transfer, int64_t account_id,
                                enum ledger_kind kind, int64_t amount, const char *currency) {
    verify(transfer != 0 && currency != 0);
    verify(account_id > 0);
    verify(amount != 0);
    verify(money_currency_valid(currency));
    verify(transfer->count < LEDGER_MAX_POSTINGS);
    struct ledger_posting *posting = &transfer->postings[transfer->count++];
    posting->account_id = account_id;
    posting->kind = kind;
    posting->amount = amount;
    memcpy(posting->currency, currency, MONEY_CURRENCY_BYTES);
    return STATUS_OK;
}

enum status ledger_transfer_move(struct ledger_transfer *transfer, int64_t from_id,
                                 enum ledger_kind from_kind, int64_t to_id,
                                 enum ledger_kind to_kind, int64_t amount, const char *currency) {
    verify(amount > 0);
    verify(from_id != to_id);
    enum status status = ledger_transfer_add(transfer, from_id, from_kind, -amount, currency);
    if (status != STATUS_OK) return status;
    return ledger_transfer_add(transfer, to_id, to_kind, amount, currency);
}

enum status ledger_transfer_check(const struct ledger_transfer *transfer) {
    verify(transfer != 0);
    if (transfer->count < 2) return STATUS_INVALID_VALUE;
    for (int i = 0; i < transfer->count; i++) {
        const char *currency = transfer->postings[i].currency;
        int64_t sum = 0;
        for (int k = 0; k < transfer->count; k++) {
            if (strcmp(transfer->postings[k].currency, currency) != 0) continue;
            if (transfer->postings[k].amount == 0) return STATUS_INVALID_VALUE;
            if (money_add(sum, transfer->postings[k].amount, &sum) != STATUS_OK) {
                return STATUS_OVERFLOW;
            }
        }
        if (sum != 0) return STATUS_INVALID_VALUE;
    }
    return STATUS_OK;
}
