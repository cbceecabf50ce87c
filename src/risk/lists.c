/* lists.c — the hash set behind a named list. Linear probing on a 64-bit FNV-1a hash
 * (0 is reserved for empty slots), load at most one half, items kept to confirm a match. */
#include "risk/lists.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/text.h"

static uint64_t list_hash(const char *s, size_t len) {
    uint64_t hash = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char)s[i]) * 1099511628211u;
    return hash ? hash : 1;
}

void risk_list_init(struct risk_list *list, const char *name) {
    verify(list != 0 && name != 0);
    memset(list, 0, sizeof *list);
    (void)text_copy(list->name, sizeof list->name, name);
}

void risk_list_clear(struct risk_list *list) {
    verify(list != 0);
    for (uint32_t i = 0; list->items != 0 && i <= list->mask; i++)
        free(list->items[i]);
    free(list->items);
    free(list->hashes);
    list->items = 0;
    list->hashes = 0;
    list->mask = 0;
    list->count = 0;
}

void risk_list_free(struct risk_list *list) { risk_list_clear(list); }

static void list_place(struct risk_list *list, uint64_t hash, char *item) {
    uint32_t i = (uint32_t)hash & list->mask;
    while (list->hashes[i] != 0)
        i = (i + 1) & list->mask;
    list->hashes[i] = hash;
    list->items[i] = item;
}

static void list_grow(struct risk_list *list) {
    uint32_t old_mask = list->mask;
    uint64_t *old_hashes = list->hashes;
    char **old_items = list->items;
    uint32_t capacity = old_hashes ? (old_mask + 1) * 2 : 16;
    list->hashes = mem_calloc(capacity, sizeof *list->hashes);
    list->items = mem_calloc(capacity, sizeof *list->items);
    list->mask = capacity - 1;
    for (uint32_t i = 0; old_hashes != 0 && i <= old_mask; i++) {
        if (old_hashes[i] != 0) list_place(list, old_hashes[i], old_items[i]);
    }
    free(old_hashes);
    free(old_items);
}

static int list_find(const struct risk_list *list, const char *item, size_t len, uint64_t hash) {
    if (list->hashes == 0) return -1;
    for (uint32_t i = (uint32_t)hash & list->mask; list->hashes[i] != 0; i = (i + 1) & list->mask) {
        if (list->hashes[i] == hash && strlen(list->items[i]) == len &&
            memcmp(list->items[i], item, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

enum status risk_list_add(struct risk_list *list, const char *item, size_t len) {
    verify(list != 0 && item != 0);
    if (len == 0 || len > LIMIT_RISK_TEXT_BYTES || !text_printable(item, len)) {
        return STATUS_INVALID_VALUE;
    }
    uint64_t hash = list_hash(item, len);
    if (list_find(list, item, len, hash) >= 0) return STATUS_OK;
    if (list->count == LIMIT_RISK_LIST_ITEMS) return STATUS_INVALID_VALUE;
    if (list->hashes == 0 || (uint32_t)(list->count + 1) * 2 > list->mask + 1) list_grow(list);
    list_place(list, hash, mem_strndup(item, len));
    list->count++;
    return STATUS_OK;
}

bool risk_list_contains(const struct risk_list *list, const char *item) {
    verify(list != 0 && item != 0);
    if (list->count == 0) return false; /* most lists are empty most of the time */
    size_t len = strlen(item);
    return len > 0 && list_find(list, item, len, list_hash(item, len)) >= 0;
}
