/* lists.h — named lists of strings (IPs, devices, users, payout accounts) that rules test
 * with `x in NAME`. Contents change without recompiling rules: the engine holds one
 * risk_list per name, and a program refers to it by its declared name. A list is an open
 * hash set of its strings, LIMIT_RISK_LIST_ITEMS at most. */
#ifndef TESSERA_RISK_LISTS_H
#define TESSERA_RISK_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/status.h"

struct risk_list {
    char name[LIMIT_RISK_NAME_BYTES + 1];
    int count;
    uint32_t mask;    /* capacity - 1 (a power of two) */
    uint64_t *hashes; /* 0: empty slot */
    char **items;
};

void risk_list_init(struct risk_list *list, const char *name);
void risk_list_free(struct risk_list *list);
/* Adds item (duplicates ignored); STATUS_INVALID_VALUE past the item limit or for an item
 * that is empty, too long or not printable. */
must_check enum status risk_list_add(struct risk_list *list, const char *item, size_t len);
bool risk_list_contains(const struct risk_list *list, const char *item);
void risk_list_clear(struct risk_list *list);

#endif
