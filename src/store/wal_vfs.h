/* wal_vfs.h — the SQLite VFS Tessera opens every database through: the default VFS, except
 * that a WAL file's writes reach the file in one write per commit (see wal_vfs.c). */
#ifndef TESSERA_STORE_WAL_VFS_H
#define TESSERA_STORE_WAL_VFS_H

#include <stdint.h>

struct wal_vfs_stats {
    uint64_t writes;  /* writes SQLite made to WAL files */
    uint64_t flushes; /* writes that reached a WAL file */
};

/* Registers the VFS as SQLite's default (once; later calls do nothing). SQLITE_OK or an
 * SQLite error code. */
int wal_vfs_register(void);

/* Counts since the process started, over all WAL files. */
void wal_vfs_stats(struct wal_vfs_stats *out);

#endif
