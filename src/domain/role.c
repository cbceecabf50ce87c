/* role.c — role names. */
#include "domain/role.h"

#include <string.h>

#include "base/assert.h"

static const char *const role_names[ROLE_COUNT] = {"admin",    "support",  "risk",
                                                   "supplier", "reseller", "buyer"};

const char *role_name(enum role role) {
    verify((unsigned)role < ROLE_COUNT);
    return role_names[role];
}

bool role_parse(const char *name, enum role *out) {
    verify(name != 0 && out != 0);
    for (int i = 0; i < ROLE_COUNT; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (enum role)i;
            return true;
        }
    }
    return false;
}
