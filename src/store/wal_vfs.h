/* wal_vfs.h — the SQLite VFS Tessera opens every database through: the default VFS, except
 * that a WAL file's writes reach the file gathered, a few per commit (see wal_vfs.c). */
#ifndef TESSERA_STORE_WAL_VFS_H
#define TESSERA_STORE_WAL_VFS_H

/* Registers the VFS as SQLite's default (once; later calls do nothing). SQLITE_OK or an
 * SQLite error code. */
int wal_vfs_register(void);

#endif
