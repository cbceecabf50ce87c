/* migrations.h — the schema migrations embedded at build time, applied in order.
 * The generated table lives in the build tree (cmake/embed_sql.cmake). */
#ifndef TESSERA_STORE_MIGRATIONS_H
#define TESSERA_STORE_MIGRATIONS_H

struct migration {
    const char *name; /* "001_init.sql" */
    const char *sql;
};

extern const struct migration migrations[];
extern const int migrations_count;

#endif
