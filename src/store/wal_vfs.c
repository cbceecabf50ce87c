/* wal_vfs.c — a thin SQLite VFS over the default one ("unix") whose only change is how a
 * WAL file is written. SQLite writes a commit's frames one write() at a time, two per frame
 * (the 24-byte frame header, then the page): ~75 pwrite() calls for a batch of 27 orders,
 * each a trip through the page cache for 4 KiB that straddles two of its pages. Here the
 * writes to a WAL file gather in a buffer and reach the file in one pwrite() per 96 KiB when the
 * commit's last frame is written (the frame header whose "database size" field is non-zero
 * — the commit marker of the WAL format, https://sqlite.org/fileformat2.html#walformat),
 * or earlier when anything else touches the file (read, sync, size, truncate, file control,
 * close) or the buffer is full.
 *
 * Why this keeps SQLite's guarantees: SQLite makes a commit visible to other connections
 * by updating the WAL index only after the commit's frames were written (and, with
 * synchronous=FULL, synced); by then the buffer is in the file. Nothing is durable before
 * xSync in either case, and xSync writes the buffer first. A failed flush fails the call
 * that caused it, so SQLite sees the error where it would have seen the write's.
 * Database, journal and temp files are opened by the default VFS untouched. */
#include "store/wal_vfs.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"

#define WAL_FRAME_HEADER_BYTES 24 /* WAL format: page number, database size, salts, checksums */
/* The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length), so a flush
 * goes out in pieces of this size. */
#define WAL_WRITE_CHUNK_BYTES (96 * 1024)

struct wal_file {
    sqlite3_file base;   /* pMethods: wal_methods */
    sqlite3_file *real;  /* the default VFS's file, right after this struct */
    unsigned char *buf;  /* LIMIT_WAL_WRITE_BUFFER_BYTES, allocated at the first write */
    sqlite3_int64 start; /* file offset of buf[0] */
    size_t len;
    bool commit_page_next; /* the last write was a commit frame's header */
};

static sqlite3_vfs *wal_vfs_real;
static sqlite3_vfs wal_vfs;
static _Atomic uint64_t wal_vfs_writes, wal_vfs_flushes; /* for wal_vfs_stats */

static int wal_flush(struct wal_file *file) {
    if (file->len == 0) return SQLITE_OK;
    size_t len = file->len;
    file->len = 0; /* a failed write is not retried: SQLite redoes the whole commit */
    atomic_fetch_add_explicit(&wal_vfs_flushes, 1, memory_order_relaxed);
    int rc = SQLITE_OK;
    for (size_t done = 0; done < len && rc == SQLITE_OK; done += WAL_WRITE_CHUNK_BYTES) {
        size_t chunk = len - done < WAL_WRITE_CHUNK_BYTES ? len - done : WAL_WRITE_CHUNK_BYTES;
        rc = file->real->pMethods->xWrite(file->real, file->buf + done, (int)chunk,
                                          file->start + (sqlite3_int64)done);
    }
    return rc;
}

static int wal_close(sqlite3_file *base) {
    struct wal_file *file = (struct wal_file *)base;
    int rc = wal_flush(file);
    int rc_close = file->real->pMethods->xClose(file->real);
    free(file->buf);
    file->buf = 0;
    return rc != SQLITE_OK ? rc : rc_close;
}

static int wal_read(sqlite3_file *base, void *out, int amount, sqlite3_int64 offset) {
    struct wal_file *file = (struct wal_file *)base;
    int rc = wal_flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xRead(file->real, out, amount, offset);
}

static int wal_write(sqlite3_file *base, const void *data, int amount, sqlite3_int64 offset) {
    struct wal_file *file = (struct wal_file *)base;
    verify(amount >= 0 && offset >= 0);
    atomic_fetch_add_explicit(&wal_vfs_writes, 1, memory_order_relaxed);
    bool commit_page = file->commit_page_next;
    file->commit_page_next = false;
    if (file->buf == 0) {
        file->buf = malloc(LIMIT_WAL_WRITE_BUFFER_BYTES);
        if (file->buf == 0) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    }
    size_t size = (size_t)amount;
    bool appends = file->len > 0 && offset == file->start + (sqlite3_int64)file->len;
    bool inside = file->len > 0 && offset >= file->start &&
                  offset + amount <= file->start + (sqlite3_int64)file->len;
    int rc = SQLITE_OK;
    if (inside) {
        memcpy(file->buf + (offset - file->start), data, size); /* a frame rewritten in place */
    } else if (appends && file->len + size <= LIMIT_WAL_WRITE_BUFFER_BYTES) {
        memcpy(file->buf + file->len, data, size);
        file->len += size;
    } else {
        rc = wal_flush(file);
        if (rc != SQLITE_OK) return rc;
        if (size > LIMIT_WAL_WRITE_BUFFER_BYTES) {
            return file->real->pMethods->xWrite(file->real, data, amount, offset);
        }
        memcpy(file->buf, data, size);
        file->start = offset;
        file->len = size;
    }
    if (commit_page) return wal_flush(file);
    if (amount == WAL_FRAME_HEADER_BYTES) {
        const unsigned char *header = data;
        uint32_t db_size = (uint32_t)header[4] << 24 | (uint32_t)header[5] << 16 |
                           (uint32_t)header[6] << 8 | header[7];
        file->commit_page_next = db_size != 0;
    }
    return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *base, sqlite3_int64 size) {
    struct wal_file *file = (struct wal_file *)base;
    int rc = wal_flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xTruncate(file->real, size);
}

static int wal_sync(sqlite3_file *base, int flags) {
    struct wal_file *file = (struct wal_file *)base;
    int rc = wal_flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xSync(file->real, flags);
}

static int wal_file_size(sqlite3_file *base, sqlite3_int64 *size) {
    struct wal_file *file = (struct wal_file *)base;
    int rc = wal_flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFileSize(file->real, size);
}

static int wal_lock(sqlite3_file *base, int level) {
    struct wal_file *file = (struct wal_file *)base;
    return file->real->pMethods->xLock(file->real, level);
}

static int wal_unlock(sqlite3_file *base, int level) {
    struct wal_file *file = (struct wal_file *)base;
    return file->real->pMethods->xUnlock(file->real, level);
}

static int wal_check_reserved_lock(sqlite3_file *base, int *out) {
    struct wal_file *file = (struct wal_file *)base;
    return file->real->pMethods->xCheckReservedLock(file->real, out);
}

static int wal_file_control(sqlite3_file *base, int op, void *arg) {
    struct wal_file *file = (struct wal_file *)base;
    int rc = wal_flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFileControl(file->real, op, arg);
}

static int wal_sector_size(sqlite3_file *base) {
    struct wal_file *file = (struct wal_file *)base;
    return file->real->pMethods->xSectorSize(file->real);
}

static int wal_device_characteristics(sqlite3_file *base) {
    struct wal_file *file = (struct wal_file *)base;
    return file->real->pMethods->xDeviceCharacteristics(file->real);
}

/* Version 1 methods: SQLite keeps a WAL's shared memory on the database file and never
 * memory-maps a WAL, so a WAL file needs none of the later ones. */
static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved_lock,
    .xFileControl = wal_file_control,
    .xSectorSize = wal_sector_size,
    .xDeviceCharacteristics = wal_device_characteristics,
};

static int wal_vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *base, int flags,
                        int *out_flags) {
    (void)vfs;
    if ((flags & SQLITE_OPEN_WAL) == 0) {
        return wal_vfs_real->xOpen(wal_vfs_real, name, base, flags, out_flags); /* untouched */
    }
    struct wal_file *file = (struct wal_file *)base;
    memset(file, 0, sizeof *file);
    file->real = (sqlite3_file *)(file + 1);
    int rc = wal_vfs_real->xOpen(wal_vfs_real, name, file->real, flags, out_flags);
    file->base.pMethods = rc == SQLITE_OK && file->real->pMethods != 0 ? &wal_methods : 0;
    return rc;
}

/* Everything but opening a file is the default VFS's own. */
static int wal_vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs;
    return wal_vfs_real->xDelete(wal_vfs_real, name, sync_dir);
}

static int wal_vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return wal_vfs_real->xAccess(wal_vfs_real, name, flags, out);
}

static int wal_vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return wal_vfs_real->xFullPathname(wal_vfs_real, name, size, out);
}

static void *wal_vfs_dl_open(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return wal_vfs_real->xDlOpen(wal_vfs_real, name);
}

static void wal_vfs_dl_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    wal_vfs_real->xDlError(wal_vfs_real, size, out);
}

static void (*wal_vfs_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return wal_vfs_real->xDlSym(wal_vfs_real, handle, symbol);
}

static void wal_vfs_dl_close(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    wal_vfs_real->xDlClose(wal_vfs_real, handle);
}

static int wal_vfs_randomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return wal_vfs_real->xRandomness(wal_vfs_real, size, out);
}

static int wal_vfs_sleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return wal_vfs_real->xSleep(wal_vfs_real, microseconds);
}

static int wal_vfs_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    return wal_vfs_real->xCurrentTime(wal_vfs_real, out);
}

static int wal_vfs_get_last_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return wal_vfs_real->xGetLastError(wal_vfs_real, size, out);
}

static int wal_vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return wal_vfs_real->xCurrentTimeInt64(wal_vfs_real, out);
}

int wal_vfs_register(void) {
    if (wal_vfs_real != 0) return SQLITE_OK;
    sqlite3_vfs *real = sqlite3_vfs_find(0);
    if (real == 0 || real->iVersion < 2 || real->xCurrentTimeInt64 == 0) return SQLITE_ERROR;
    _Static_assert(sizeof(struct wal_file) % 8 == 0, "the real file after it stays aligned");
    wal_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(struct wal_file) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = "tessera",
        .xOpen = wal_vfs_open,
        .xDelete = wal_vfs_delete,
        .xAccess = wal_vfs_access,
        .xFullPathname = wal_vfs_full_pathname,
        .xDlOpen = wal_vfs_dl_open,
        .xDlError = wal_vfs_dl_error,
        .xDlSym = wal_vfs_dl_sym,
        .xDlClose = wal_vfs_dl_close,
        .xRandomness = wal_vfs_randomness,
        .xSleep = wal_vfs_sleep,
        .xCurrentTime = wal_vfs_current_time,
        .xGetLastError = wal_vfs_get_last_error,
        .xCurrentTimeInt64 = wal_vfs_current_time_int64,
    };
    wal_vfs_real = real;
    int rc = sqlite3_vfs_register(&wal_vfs, 1);
    if (rc != SQLITE_OK) wal_vfs_real = 0;
    return rc;
}

void wal_vfs_stats(struct wal_vfs_stats *out) {
    verify(out != 0);
    out->writes = atomic_load_explicit(&wal_vfs_writes, memory_order_relaxed);
    out->flushes = atomic_load_explicit(&wal_vfs_flushes, memory_order_relaxed);
}
