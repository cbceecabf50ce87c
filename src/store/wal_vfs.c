/* wal_vfs.c — a thin SQLite VFS over the default one ("unix") whose only change is how a
 * WAL file is written. SQLite writes a commit's frames one write() at a time, two per frame
 * (the 24-byte frame header, then the page): ~75 pwrite() calls for a batch of 27 orders,
 * each a trip through the page cache for 4 KiB that straddles two of its pages. Here the
 * writes to a WAL file gather in a buffer and reach the file in pieces of 96 KiB.
 *
 * When the buffer is written (any of these): the WAL file is synced (every commit under
 * synchronous=FULL), read, sized, truncated, given a file control or closed; a write does
 * not continue the buffered range or does not fit; and — through the main database file,
 * which is wrapped only for this — its connection calls xShmBarrier or xShmLock. SQLite
 * publishes a commit to other connections by writing the WAL index header around an
 * xShmBarrier, and ends every write transaction (commit or rollback) by releasing the WAL
 * write lock with xShmLock, so the buffer is in the file before any other connection can
 * see a frame, and before another writer can take the lock and write at the same offsets
 * (a rolled-back transaction's spilled frames are written then, as SQLite itself would
 * have written them at once). Nothing is durable before xSync, which writes the buffer
 * first. A failed write is sticky: every later read, write, sync, size or truncate of the
 * WAL returns its error until the write transaction ends (the write lock is released; the
 * unwritten frames are dropped then), so the transaction can never commit over frames that
 * are not in the file — SQLite, writing at once, would have failed the transaction too.
 * Only xShmBarrier cannot return an error; a failure there stops the process (the
 * unwritten commit was never acknowledged). No buffering without shared memory (exclusive
 * locking mode keeps the WAL index on the heap and never calls xShmLock or xShmBarrier).
 * Journal and temp files are opened by the default VFS untouched. */
#include "store/wal_vfs.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/mem.h"

/* The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length), so a flush
 * goes out in pieces of this size. */
#define WAL_WRITE_CHUNK_BYTES (96 * 1024)
/* The WAL index's lock slots (wal.c): 0 is the write lock, held for a whole write
 * transaction. */
#define WAL_WRITE_LOCK_SLOT 0

struct wal_file;

struct db_file {
    sqlite3_file base;    /* pMethods: one of dbfile_methods */
    sqlite3_file *real;   /* the default VFS's file, right after this struct */
    struct wal_file *wal; /* this connection's WAL, while open */
    bool shm;             /* xShmMap was called: the flush points below will be reached */
    bool exclusive;       /* holds SQLITE_LOCK_EXCLUSIVE: WAL exclusive mode skips xShmLock */
};

struct wal_file {
    sqlite3_file base;   /* pMethods: wal_methods */
    sqlite3_file *real;  /* the default VFS's file, right after this struct */
    struct db_file *db;  /* its database file; 0: not ours, so every write goes through */
    unsigned char *buf;  /* LIMIT_WAL_BUFFER_BYTES, allocated at the first write */
    sqlite3_int64 start; /* file offset of buf[0] */
    size_t len;
    int err; /* a failed flush's error, returned until the write transaction ends */
};

/* Both wrappers start with the sqlite3_file SQLite sees and then the real file. */
struct wrapped {
    sqlite3_file base;
    sqlite3_file *real;
};

static sqlite3_file *real_of(sqlite3_file *base) { return ((struct wrapped *)base)->real; }

static sqlite3_vfs *wal_vfs_real;
static sqlite3_vfs wal_vfs;
static sqlite3_io_methods dbfile_methods[4]; /* by the default VFS's iVersion (1..3) */

/* ---- methods that only pass through (the database file uses all; the WAL
 * flushes first, then passes on) ---- */

static int pass_lock(sqlite3_file *base, int level) {
    return real_of(base)->pMethods->xLock(real_of(base), level);
}

static int pass_unlock(sqlite3_file *base, int level) {
    return real_of(base)->pMethods->xUnlock(real_of(base), level);
}

static int pass_check_reserved_lock(sqlite3_file *base, int *out) {
    return real_of(base)->pMethods->xCheckReservedLock(real_of(base), out);
}

static int pass_sector_size(sqlite3_file *base) {
    return real_of(base)->pMethods->xSectorSize(real_of(base));
}

static int pass_device_characteristics(sqlite3_file *base) {
    return real_of(base)->pMethods->xDeviceCharacteristics(real_of(base));
}

static int pass_read(sqlite3_file *base, void *out, int amount, sqlite3_int64 offset) {
    return real_of(base)->pMethods->xRead(real_of(base), out, amount, offset);
}

static int pass_write(sqlite3_file *base, const void *data, int amount, sqlite3_int64 offset) {
    return real_of(base)->pMethods->xWrite(real_of(base), data, amount, offset);
}

static int pass_truncate(sqlite3_file *base, sqlite3_int64 size) {
    return real_of(base)->pMethods->xTruncate(real_of(base), size);
}

static int pass_sync(sqlite3_file *base, int flags) {
    return real_of(base)->pMethods->xSync(real_of(base), flags);
}

static int pass_file_size(sqlite3_file *base, sqlite3_int64 *size) {
    return real_of(base)->pMethods->xFileSize(real_of(base), size);
}

static int pass_file_control(sqlite3_file *base, int op, void *arg) {
    return real_of(base)->pMethods->xFileControl(real_of(base), op, arg);
}

static int pass_fetch(sqlite3_file *base, sqlite3_int64 offset, int amount, void **out) {
    return real_of(base)->pMethods->xFetch(real_of(base), offset, amount, out);
}

static int pass_unfetch(sqlite3_file *base, sqlite3_int64 offset, void *page) {
    return real_of(base)->pMethods->xUnfetch(real_of(base), offset, page);
}

static int wal_flush(struct wal_file *file) {
    if (file->err != SQLITE_OK) return file->err;
    if (file->len == 0) return SQLITE_OK;
    size_t len = file->len;
    file->len = 0; /* never retried: the transaction fails (err) and SQLite redoes it */
    int rc = SQLITE_OK;
    for (size_t done = 0; done < len && rc == SQLITE_OK; done += WAL_WRITE_CHUNK_BYTES) {
        size_t chunk = len - done < WAL_WRITE_CHUNK_BYTES ? len - done : WAL_WRITE_CHUNK_BYTES;
        rc = file->real->pMethods->xWrite(file->real, file->buf + done, (int)chunk,
                                          file->start + (sqlite3_int64)done);
    }
    file->err = rc;
    return rc;
}

/* The write transaction ended (its lock released): a failed flush's frames belonged to it. */
static void wal_transaction_ended(struct wal_file *file) {
    file->len = 0;
    file->err = SQLITE_OK;
}

/* ---- the WAL file ---- */

static int wal_close(sqlite3_file *base) {
    struct wal_file *file = (struct wal_file *)base;
    int rc = wal_flush(file);
    if (file->db != 0) file->db->wal = 0;
    int rc_close = file->real->pMethods->xClose(file->real);
    free(file->buf);
    file->buf = 0;
    return rc != SQLITE_OK ? rc : rc_close;
}

static int wal_read(sqlite3_file *base, void *out, int amount, sqlite3_int64 offset) {
    int rc = wal_flush((struct wal_file *)base);
    return rc != SQLITE_OK ? rc : pass_read(base, out, amount, offset);
}

static int wal_write(sqlite3_file *base, const void *data, int amount, sqlite3_int64 offset) {
    struct wal_file *file = (struct wal_file *)base;
    verify(amount >= 0 && offset >= 0);
    size_t size = (size_t)amount;
    if (file->err != SQLITE_OK) return file->err;
    if (file->db == 0 || !file->db->shm || file->db->exclusive || size > LIMIT_WAL_BUFFER_BYTES) {
        int rc = wal_flush(file);
        return rc != SQLITE_OK ? rc : pass_write(base, data, amount, offset);
    }
    if (file->buf == 0) file->buf = mem_alloc(LIMIT_WAL_BUFFER_BYTES);
    sqlite3_int64 end = file->start + (sqlite3_int64)file->len;
    if (file->len > 0 && offset >= file->start && offset + amount <= end) {
        memcpy(file->buf + (offset - file->start), data, size); /* rewritten in place */
        return SQLITE_OK;
    }
    if (file->len > 0 && offset == end && file->len + size <= LIMIT_WAL_BUFFER_BYTES) {
        memcpy(file->buf + file->len, data, size);
        file->len += size;
        return SQLITE_OK;
    }
    int rc = wal_flush(file); /* not contiguous, or full: what is buffered goes first */
    if (rc != SQLITE_OK) return rc;
    memcpy(file->buf, data, size);
    file->start = offset;
    file->len = size;
    return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *base, sqlite3_int64 size) {
    int rc = wal_flush((struct wal_file *)base);
    return rc != SQLITE_OK ? rc : pass_truncate(base, size);
}

static int wal_sync(sqlite3_file *base, int flags) {
    int rc = wal_flush((struct wal_file *)base);
    return rc != SQLITE_OK ? rc : pass_sync(base, flags);
}

static int wal_file_size(sqlite3_file *base, sqlite3_int64 *size) {
    int rc = wal_flush((struct wal_file *)base);
    return rc != SQLITE_OK ? rc : pass_file_size(base, size);
}

static int wal_file_control(sqlite3_file *base, int op, void *arg) {
    int rc = wal_flush((struct wal_file *)base);
    return rc != SQLITE_OK ? rc : pass_file_control(base, op, arg);
}

_Static_assert(offsetof(struct db_file, real) == offsetof(struct wrapped, real), "layout");
_Static_assert(offsetof(struct wal_file, real) == offsetof(struct wrapped, real), "layout");

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
    .xLock = pass_lock,
    .xUnlock = pass_unlock,
    .xCheckReservedLock = pass_check_reserved_lock,
    .xFileControl = wal_file_control,
    .xSectorSize = pass_sector_size,
    .xDeviceCharacteristics = pass_device_characteristics,
};

/* ---- the main database file: the default VFS's, plus the two flush points ---- */

static int dbfile_close(sqlite3_file *base) {
    struct db_file *file = (struct db_file *)base;
    if (file->wal != 0) file->wal->db = 0; /* SQLite closes the WAL first; never relied on */
    return file->real->pMethods->xClose(file->real);
}

/* An exclusive lock on the database file comes before SQLite puts a WAL in exclusive mode
 * (locking_mode=EXCLUSIVE), where it no longer calls xShmLock: what is buffered is written
 * first, and nothing is buffered while the lock is held. (In normal WAL use the lock is
 * taken only at close or to change the journal mode.) */
static int dbfile_lock(sqlite3_file *base, int level) {
    struct db_file *file = (struct db_file *)base;
    if (level >= SQLITE_LOCK_EXCLUSIVE && file->wal != 0) {
        int rc = wal_flush(file->wal);
        if (rc != SQLITE_OK) return rc;
    }
    int rc = pass_lock(base, level);
    if (rc == SQLITE_OK && level >= SQLITE_LOCK_EXCLUSIVE) file->exclusive = true;
    return rc;
}

static int dbfile_unlock(sqlite3_file *base, int level) {
    struct db_file *file = (struct db_file *)base;
    if (level < SQLITE_LOCK_EXCLUSIVE) file->exclusive = false;
    return pass_unlock(base, level);
}

static int dbfile_shm_map(sqlite3_file *base, int region, int size, int extend,
                          void volatile **out) {
    struct db_file *file = (struct db_file *)base;
    file->shm = true;
    return file->real->pMethods->xShmMap(file->real, region, size, extend, out);
}

/* Every lock change on the WAL index — among them the release of the write lock that ends
 * a write transaction — comes after this connection's WAL writes are in the file. A lock
 * is always released, even when that write fails (SQLite ignores the result of an unlock;
 * a lock kept would block every other writer). */
static int dbfile_shm_lock(sqlite3_file *base, int offset, int n, int flags) {
    struct db_file *file = (struct db_file *)base;
    int flushed = file->wal != 0 ? wal_flush(file->wal) : SQLITE_OK;
    if ((flags & SQLITE_SHM_UNLOCK) == 0) {
        if (flushed != SQLITE_OK) return flushed;
        return file->real->pMethods->xShmLock(file->real, offset, n, flags);
    }
    bool write_lock = offset == WAL_WRITE_LOCK_SLOT && (flags & SQLITE_SHM_EXCLUSIVE) != 0;
    if (file->wal != 0 && write_lock) wal_transaction_ended(file->wal);
    int rc = file->real->pMethods->xShmLock(file->real, offset, n, flags);
    return flushed != SQLITE_OK ? flushed : rc;
}

/* SQLite writes the WAL index header's second copy, calls this, then the first copy that
 * readers check: a commit is published only after its frames are in the file. */
static void dbfile_shm_barrier(sqlite3_file *base) {
    struct db_file *file = (struct db_file *)base;
    if (file->wal != 0 && file->wal->len > 0 && wal_flush(file->wal) != SQLITE_OK) {
        assert_fail("WAL write before publishing a commit failed", __FILE__, __LINE__);
    }
    file->real->pMethods->xShmBarrier(file->real);
}

/* The WAL index leaves shared memory (the WAL is closed, or reopened with its index on
 * the heap after a journal-mode change): no flush point follows, so nothing is buffered. */
static int dbfile_shm_unmap(sqlite3_file *base, int delete_flag) {
    struct db_file *file = (struct db_file *)base;
    if (file->wal != 0) (void)wal_flush(file->wal); /* an error stays in err */
    file->shm = false;
    return file->real->pMethods->xShmUnmap(file->real, delete_flag);
}

static int wal_vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *base, int flags,
                        int *out_flags) {
    (void)vfs;
    bool main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0, wal = (flags & SQLITE_OPEN_WAL) != 0;
    if (!main_db && !wal) {
        return wal_vfs_real->xOpen(wal_vfs_real, name, base, flags, out_flags); /* untouched */
    }
    struct wrapped *file = (struct wrapped *)base;
    size_t header = main_db ? sizeof(struct db_file) : sizeof(struct wal_file);
    memset(file, 0, header);
    file->real = (sqlite3_file *)((char *)file + header);
    int rc = wal_vfs_real->xOpen(wal_vfs_real, name, file->real, flags, out_flags);
    if (rc != SQLITE_OK || file->real->pMethods == 0) {
        file->base.pMethods = 0; /* SQLite calls no method of a file that failed to open */
        return rc;
    }
    if (main_db) {
        int version = file->real->pMethods->iVersion;
        /* a file without shared memory (the "unix-none" VFS) must not look as if it had */
        if (version >= 2 && file->real->pMethods->xShmMap == 0) version = 1;
        file->base.pMethods = &dbfile_methods[version < 1 ? 1 : version > 3 ? 3 : version];
        return SQLITE_OK;
    }
    struct wal_file *wal_file = (struct wal_file *)file;
    file->base.pMethods = &wal_methods;
    sqlite3_file *db = sqlite3_database_file_object(name); /* the same connection's */
    if (db->pMethods == &dbfile_methods[2] || db->pMethods == &dbfile_methods[3]) {
        wal_file->db = (struct db_file *)db; /* ours, with shared memory: flushes at its */
        wal_file->db->wal = wal_file;        /* xShmBarrier and xShmLock */
    }
    return SQLITE_OK;
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
    _Static_assert(sizeof(struct wal_file) % 8 == 0 && sizeof(struct db_file) % 8 == 0,
                   "the real file after it stays aligned");
    for (int v = 1; v <= 3; v++) {
        dbfile_methods[v] = (sqlite3_io_methods){
            .iVersion = v,
            .xClose = dbfile_close,
            .xRead = pass_read,
            .xWrite = pass_write,
            .xTruncate = pass_truncate,
            .xSync = pass_sync,
            .xFileSize = pass_file_size,
            .xLock = dbfile_lock,
            .xUnlock = dbfile_unlock,
            .xCheckReservedLock = pass_check_reserved_lock,
            .xFileControl = pass_file_control,
            .xSectorSize = pass_sector_size,
            .xDeviceCharacteristics = pass_device_characteristics,
            .xShmMap = v >= 2 ? dbfile_shm_map : 0,
            .xShmLock = v >= 2 ? dbfile_shm_lock : 0,
            .xShmBarrier = v >= 2 ? dbfile_shm_barrier : 0,
            .xShmUnmap = v >= 2 ? dbfile_shm_unmap : 0,
            .xFetch = v >= 3 ? pass_fetch : 0,
            .xUnfetch = v >= 3 ? pass_unfetch : 0,
        };
    }
    size_t header = sizeof(struct wal_file) > sizeof(struct db_file) ? sizeof(struct wal_file)
                                                                     : sizeof(struct db_file);
    wal_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)header + real->szOsFile,
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
