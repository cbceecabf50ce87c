/* role.h — the roles a user can hold and what each may do. Pure; no I/O. */
#ifndef TESSERA_DOMAIN_ROLE_H
#define TESSERA_DOMAIN_ROLE_H

#include <stdbool.h>

enum role {
    ROLE_ADMIN,
    ROLE_SUPPORT,
    ROLE_RISK,
    ROLE_SUPPLIER,
    ROLE_RESELLER,
    ROLE_BUYER,
    ROLE_COUNT
};

#define ROLE_BIT(role) (1u << (role))
#define ROLES_ANY ((1u << ROLE_COUNT) - 1u)

const char *role_name(enum role role);
/* Parses "admin"…"buyer"; false for anything else. */
bool role_parse(const char *name, enum role *out);

#endif
