/* wal_vfs_test.c — the VFS that gathers a commit's WAL writes (src/store/wal_vfs.c): a
 * commit reaches the file in a few writes instead of two per frame; another connection
 * sees every committed row at once; a transaction larger than the page cache (frames
 * written before the commit and read back by the same connection) and larger than the
 * buffer stays intact; a rolled-back spill never lands on another writer's frames; a full
 * disk fails the whole transaction and still releases the write lock; exclusive locking
 * mode writes through; and a commit is in the file when COMMIT returns, not at close — a
 * child process that commits and exits without closing leaves its rows to the parent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store/wal_vfs.h"
#include "unit_db.h"

#define ROW_BYTES 1000

/* The unix VFS's pwrite, replaced: counts the writes that reach a file whose name ends in
 * "-wal" while count_wal is set, and fails them with ENOSPC (a full disk for the WAL only)
 * — the next one after refuse_wal is set, every one while refuse_wal_all is. */
static bool refuse_wal;
static bool refuse_wal_all;
static bool count_wal;
static int wal_pwrites;

static bool fd_is_wal(int fd) {
    char link[64], target[512];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 4) return false;
    target[n] = 0;
    return strcmp(target + n - 4, "-wal") == 0;
}

static ssize_t refusing_pwrite(int fd, const void *data, size_t size, off_t offset) {
    if (count_wal && fd_is_wal(fd)) wal_pwrites++;
    if ((refuse_wal || refuse_wal_all) && fd_is_wal(fd)) {
        refuse_wal = false;
        errno = ENOSPC;
        return -1;
    }
    return pwrite(fd, data, size, offset);
}

static int64_t wal_size(struct unit_db *t) {
    char path[128];
    snprintf(path, sizeof path, "%s-wal", t->path);
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static void install_refusing_pwrite(void) {
    sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
    assert_non_null(unix_vfs);
    assert_int_equal(
        unix_vfs->xSetSystemCall(unix_vfs, "pwrite", (sqlite3_syscall_ptr)refusing_pwrite),
        SQLITE_OK);
    (void)unix_vfs->xSetSystemCall(unix_vfs, "pwrite64", (sqlite3_syscall_ptr)refusing_pwrite);
}

static int setup(void **state) {
    static struct unit_db t;
    unit_db_open(&t); /* registers the VFS, as db_global_init does for the binary */
    unit_db_exec(&t, "CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    *state = &t;
    return 0;
}

static int teardown(void **state) {
    unit_db_close(*state);
    return 0;
}

static void insert_rows(struct db *db, int first, int count) {
    sqlite3_stmt *stmt = 0;
    assert_int_equal(
        sqlite3_prepare_v2(db->handle, "INSERT INTO blobs(id, body) VALUES(?, ?)", -1, &stmt, 0),
        SQLITE_OK);
    unsigned char body[ROW_BYTES];
    for (int i = first; i < first + count; i++) {
        memset(body, i & 0xff, sizeof body);
        sqlite3_bind_int(stmt, 1, i);
        sqlite3_bind_blob(stmt, 2, body, sizeof body, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
}

/* Every row 1..count holds its own byte pattern: no frame was lost or mixed up. */
static void assert_rows(struct db *db, int count) {
    sqlite3_stmt *stmt = 0;
    assert_int_equal(
        sqlite3_prepare_v2(db->handle, "SELECT id, body FROM blobs ORDER BY id", -1, &stmt, 0),
        SQLITE_OK);
    int seen = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        int id = sqlite3_column_int(stmt, 0);
        const unsigned char *body = sqlite3_column_blob(stmt, 1);
        assert_int_equal(id, seen + 1);
        assert_int_equal(sqlite3_column_bytes(stmt, 1), ROW_BYTES);
        assert_int_equal(body[0], id & 0xff);
        assert_int_equal(body[ROW_BYTES - 1], id & 0xff);
        seen++;
    }
    sqlite3_finalize(stmt);
    assert_int_equal(seen, count);
}

static void assert_intact(struct unit_db *t) {
    sqlite3_stmt *stmt = 0;
    assert_int_equal(sqlite3_prepare_v2(t->db.handle, "PRAGMA integrity_check", -1, &stmt, 0),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "ok");
    sqlite3_finalize(stmt);
}

/* Another database beside the fixture's, t->dir/name, opened through vfs (0: the default,
 * this one) in WAL mode with synchronous=FULL and the blobs table. */
static void open_beside(struct unit_db *t, const char *name, const char *vfs, struct db *out) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    memset(out, 0, sizeof *out);
    assert_int_equal(
        sqlite3_open_v2(path, &out->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
        SQLITE_OK);
    assert_int_equal(sqlite3_exec(out->handle,
                                  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                  "CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
                                  0, 0, 0),
                     SQLITE_OK);
}

/* pwrite calls a commit of rows 1..100 (~100 KB, about 30 frames of 4 KiB) makes to db's WAL */
static int wal_pwrites_of_a_commit(struct db *db) {
    assert_int_equal(sqlite3_exec(db->handle, "BEGIN IMMEDIATE", 0, 0, 0), SQLITE_OK);
    insert_rows(db, 1, 100);
    wal_pwrites = 0;
    count_wal = true;
    assert_int_equal(sqlite3_exec(db->handle, "COMMIT", 0, 0, 0), SQLITE_OK);
    count_wal = false;
    assert_rows(db, 100);
    return wal_pwrites;
}

/* The same commit through SQLite's own unix VFS writes each frame in two calls; through
 * this one the WAL gets a few. */
static void a_commit_reaches_the_wal_in_few_writes(void **state) {
    struct unit_db *t = *state;
    install_refusing_pwrite();
    struct db plain;
    open_beside(t, "plain.db", "unix", &plain);
    int unbuffered = wal_pwrites_of_a_commit(&plain);
    sqlite3_close(plain.handle);
    int buffered = wal_pwrites_of_a_commit(&t->db);
    assert_true(unbuffered >= 40); /* SQLite: header and page for each frame */
    assert_true(buffered >= 1 && buffered <= 3);
}

static void another_connection_sees_each_commit(void **state) {
    struct unit_db *t = *state;
    struct db reader;
    assert_int_equal(db_open(&reader, t->path, true, false), STATUS_OK);
    for (int round = 0; round < 20; round++) {
        unit_db_exec(t, "BEGIN IMMEDIATE");
        insert_rows(&t->db, round * 7 + 1, 7);
        unit_db_exec(t, "COMMIT");
        assert_rows(&reader, round * 7 + 7);
    }
    db_close(&reader);
}

static void a_transaction_larger_than_cache_and_buffer_stays_intact(void **state) {
    struct unit_db *t = *state;
    unit_db_exec(t, "PRAGMA cache_size=20"); /* pages spill to the WAL before the commit */
    unit_db_exec(t, "BEGIN IMMEDIATE");
    insert_rows(&t->db, 1, 3000); /* ~3 MB of frames: more than LIMIT_WAL_BUFFER_BYTES */
    assert_rows(&t->db, 3000);    /* read back inside the transaction, through the WAL */
    unit_db_exec(t, "UPDATE blobs SET body = body WHERE id % 10 = 0"); /* frames rewritten */
    unit_db_exec(t, "COMMIT");
    assert_rows(&t->db, 3000);
    assert_intact(t);
    unit_db_exec(t, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_rows(&t->db, 3000);
    assert_intact(t);
}

static void a_rolled_back_transaction_leaves_nothing(void **state) {
    struct unit_db *t = *state;
    unit_db_exec(t, "BEGIN IMMEDIATE");
    insert_rows(&t->db, 1, 50);
    unit_db_exec(t, "COMMIT");
    unit_db_exec(t, "PRAGMA cache_size=20");
    unit_db_exec(t, "BEGIN IMMEDIATE");
    insert_rows(&t->db, 51, 500);
    unit_db_exec(t, "ROLLBACK");
    assert_rows(&t->db, 50);
    unit_db_exec(t, "BEGIN IMMEDIATE");
    insert_rows(&t->db, 51, 10);
    unit_db_exec(t, "COMMIT");
    assert_rows(&t->db, 60);
    assert_intact(t);
}

/* Connection A spills frames into a transaction and rolls it back; B, after a checkpoint
 * that makes the next writer restart the WAL, commits over the same offsets. A's buffered
 * frames must reach the file before B can take the write lock, never after. */
static void a_rolled_back_spill_never_lands_on_another_writers_frames(void **state) {
    struct unit_db *t = *state;
    unit_db_exec(t, "BEGIN IMMEDIATE");
    insert_rows(&t->db, 1, 20);
    unit_db_exec(t, "COMMIT");
    struct db other;
    assert_int_equal(db_open(&other, t->path, false, false), STATUS_OK);
    assert_int_equal(sqlite3_exec(other.handle, "PRAGMA wal_checkpoint", 0, 0, 0), SQLITE_OK);
    unit_db_exec(t, "PRAGMA cache_size=10");
    unit_db_exec(t, "BEGIN IMMEDIATE");
    insert_rows(&t->db, 1000, 150); /* spills to the WAL, then is undone */
    unit_db_exec(t, "ROLLBACK");
    assert_int_equal(sqlite3_exec(other.handle, "BEGIN IMMEDIATE", 0, 0, 0), SQLITE_OK);
    insert_rows(&other, 21, 150);
    assert_int_equal(sqlite3_exec(other.handle, "COMMIT", 0, 0, 0), SQLITE_OK);
    assert_rows(&t->db, 170);
    assert_rows(&other, 170);
    db_close(&other); /* the last writer's close checkpoints into the database */
    assert_rows(&t->db, 170);
    assert_intact(t);
}

/* Without a sync at commit (synchronous=NORMAL; Tessera uses FULL) a commit is published
 * by the WAL index alone: another connection still sees every row at once. */
static void a_commit_without_sync_is_seen_at_once(void **state) {
    struct unit_db *t = *state;
    unit_db_exec(t, "PRAGMA synchronous=NORMAL");
    struct db reader;
    assert_int_equal(db_open(&reader, t->path, true, false), STATUS_OK);
    for (int round = 0; round < 10; round++) {
        unit_db_exec(t, "BEGIN IMMEDIATE");
        insert_rows(&t->db, round * 9 + 1, 9);
        unit_db_exec(t, "COMMIT");
        assert_rows(&reader, round * 9 + 9);
    }
    db_close(&reader);
}

/* A database opened with psow=0 pads each commit to a sector boundary and splits the write
 * that crosses it around the sync: still seen whole by another connection. */
static void a_padded_commit_is_seen_whole(void **state) {
    struct unit_db *t = *state;
    char uri[160];
    snprintf(uri, sizeof uri, "file:%s?psow=0", t->path);
    struct db padded;
    memset(&padded, 0, sizeof padded);
    assert_int_equal(
        sqlite3_open_v2(uri, &padded.handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, 0),
        SQLITE_OK);
    assert_int_equal(sqlite3_exec(padded.handle, "PRAGMA synchronous=FULL", 0, 0, 0), SQLITE_OK);
    for (int round = 0; round < 10; round++) {
        assert_int_equal(sqlite3_exec(padded.handle, "BEGIN IMMEDIATE", 0, 0, 0), SQLITE_OK);
        insert_rows(&padded, round * 3 + 1, 3);
        assert_int_equal(sqlite3_exec(padded.handle, "COMMIT", 0, 0, 0), SQLITE_OK);
        assert_rows(&t->db, round * 3 + 3);
    }
    sqlite3_close(padded.handle);
    assert_intact(t);
}

/* A spilled frame is still in the buffer when the disk fills; the statement that reads it
 * back fails, the savepoint is rolled back — and the commit must fail too (its earlier
 * frames never reached the file), leaving the database as it was. */
static void a_failed_wal_write_fails_the_whole_transaction(void **state) {
    struct unit_db *t = *state;
    install_refusing_pwrite();
    unit_db_exec(t, "BEGIN IMMEDIATE");
    insert_rows(&t->db, 1, 30);
    unit_db_exec(t, "COMMIT");
    unit_db_exec(t, "PRAGMA wal_checkpoint(TRUNCATE)");
    unit_db_exec(t, "PRAGMA cache_size=10");
    unit_db_exec(t, "BEGIN IMMEDIATE");
    unit_db_exec(t, "SAVEPOINT cmd");
    insert_rows(&t->db, 31, 200); /* spills into the buffer */
    unit_db_exec(t, "RELEASE cmd");
    assert_true(wal_size(t) <= 32); /* only the WAL header is in the file */
    unit_db_exec(t, "SAVEPOINT cmd");
    refuse_wal = true;
    assert_int_not_equal(
        sqlite3_exec(t->db.handle, "UPDATE blobs SET body = body WHERE id > 30", 0, 0, 0),
        SQLITE_OK);
    (void)sqlite3_exec(t->db.handle, "ROLLBACK TO cmd", 0, 0, 0);
    (void)sqlite3_exec(t->db.handle, "RELEASE cmd", 0, 0, 0);
    assert_int_not_equal(sqlite3_exec(t->db.handle, "COMMIT", 0, 0, 0), SQLITE_OK);
    refuse_wal = false;
    (void)sqlite3_exec(t->db.handle, "ROLLBACK", 0, 0, 0);
    assert_rows(&t->db, 30);
    assert_intact(t);
    struct db other;
    assert_int_equal(db_open(&other, t->path, true, false), STATUS_OK);
    assert_rows(&other, 30);
    db_close(&other);
}

/* A write that fails while the write lock is released still releases it: another writer
 * gets in at once. */
static void a_failed_wal_write_still_releases_the_write_lock(void **state) {
    struct unit_db *t = *state;
    install_refusing_pwrite();
    unit_db_exec(t, "BEGIN IMMEDIATE");
    insert_rows(&t->db, 1, 10);
    unit_db_exec(t, "COMMIT");
    unit_db_exec(t, "PRAGMA wal_checkpoint(TRUNCATE)");
    unit_db_exec(t, "PRAGMA cache_size=10");
    unit_db_exec(t, "BEGIN IMMEDIATE");
    insert_rows(&t->db, 100, 200);
    assert_true(wal_size(t) <= 32); /* the spilled frames are buffered */
    refuse_wal = true;
    (void)sqlite3_exec(t->db.handle, "ROLLBACK", 0, 0, 0);
    refuse_wal = false;
    struct db other;
    assert_int_equal(db_open(&other, t->path, false, false), STATUS_OK);
    sqlite3_busy_timeout(other.handle, 0); /* a kept lock would fail at once */
    assert_int_equal(sqlite3_exec(other.handle, "BEGIN IMMEDIATE", 0, 0, 0), SQLITE_OK);
    insert_rows(&other, 11, 5);
    assert_int_equal(sqlite3_exec(other.handle, "COMMIT", 0, 0, 0), SQLITE_OK);
    db_close(&other);
    assert_rows(&t->db, 15);
    assert_intact(t);
}

/* A child process opens the database at path, runs setup_sql, commits rows 1..rows in one
 * transaction and exits without closing; the parent then finds every row in the file. */
static void child_commits_then_exits(const char *path, const char *setup_sql, int rows) {
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct db db;
        memset(&db, 0, sizeof db);
        if (sqlite3_open(path, &db.handle) != SQLITE_OK) _exit(2);
        if (sqlite3_exec(db.handle, setup_sql, 0, 0, 0) != SQLITE_OK) _exit(3);
        if (sqlite3_exec(db.handle, "BEGIN IMMEDIATE", 0, 0, 0) != SQLITE_OK) _exit(4);
        insert_rows(&db, 1, rows);
        if (sqlite3_exec(db.handle, "COMMIT", 0, 0, 0) != SQLITE_OK) _exit(5);
        _exit(0); /* no close, no checkpoint: only what COMMIT wrote is in the WAL */
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    struct db db;
    memset(&db, 0, sizeof db);
    assert_int_equal(sqlite3_open(path, &db.handle), SQLITE_OK);
    assert_rows(&db, rows);
    sqlite3_close(db.handle);
}

/* Exclusive locking mode keeps the WAL index on the heap and never calls the shared-memory
 * methods the buffer relies on: nothing is buffered, so a commit without sync is in the
 * file when COMMIT returns. */
static void exclusive_mode_writes_through(void **state) {
    struct unit_db *t = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/x.db", t->dir);
    child_commits_then_exits(path,
                             "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; "
                             "PRAGMA synchronous=NORMAL; "
                             "CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
                             20);
}

/* Exclusive locking mode entered after the WAL is open (SQLite keeps its shared memory but
 * stops calling xShmLock): a full disk fails that commit, and the connection works again
 * once there is room — as it does on the default VFS. */
static void exclusive_mode_after_the_wal_opened_recovers_from_a_full_disk(void **state) {
    struct unit_db *t = *state;
    install_refusing_pwrite();
    struct db db;
    open_beside(t, "exclusive.db", 0, &db);
    insert_rows(&db, 1, 20); /* each row its own transaction */
    assert_int_equal(
        sqlite3_exec(db.handle, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=10", 0, 0, 0),
        SQLITE_OK);
    assert_int_equal(sqlite3_exec(db.handle, "BEGIN IMMEDIATE", 0, 0, 0), SQLITE_OK);
    insert_rows(&db, 21, 200);
    refuse_wal_all = true;
    assert_int_not_equal(sqlite3_exec(db.handle, "COMMIT", 0, 0, 0), SQLITE_OK);
    refuse_wal_all = false;
    (void)sqlite3_exec(db.handle, "ROLLBACK", 0, 0, 0);
    assert_rows(&db, 20); /* the disk has room again: reads and writes work */
    insert_rows(&db, 21, 5);
    assert_rows(&db, 25);
    assert_int_equal(sqlite3_exec(db.handle, "PRAGMA locking_mode=NORMAL", 0, 0, 0), SQLITE_OK);
    insert_rows(&db, 26, 1);
    assert_rows(&db, 26);
    sqlite3_close(db.handle);
}

/* A WAL reopened with its index on the heap (journal mode DELETE, exclusive locking, WAL
 * again): no flush point is ever reached, so nothing may be buffered — a commit without
 * sync is in the file when COMMIT returns. */
static void a_wal_reopened_on_the_heap_writes_through(void **state) {
    struct unit_db *t = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/heap.db", t->dir);
    child_commits_then_exits(path,
                             "PRAGMA journal_mode=WAL; "
                             "CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL); "
                             "PRAGMA journal_mode=DELETE; PRAGMA locking_mode=EXCLUSIVE; "
                             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                             30);
}

static void a_commit_is_in_the_file_before_close(void **state) {
    struct unit_db *t = *state;
    child_commits_then_exits(t->path, "PRAGMA synchronous=FULL", 40);
    assert_rows(&t->db, 40);
    assert_intact(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_commit_reaches_the_wal_in_few_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(another_connection_sees_each_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(a_transaction_larger_than_cache_and_buffer_stays_intact,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_rolled_back_transaction_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_rolled_back_spill_never_lands_on_another_writers_frames,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_commit_without_sync_is_seen_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(a_padded_commit_is_seen_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failed_wal_write_fails_the_whole_transaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failed_wal_write_still_releases_the_write_lock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(exclusive_mode_writes_through, setup, teardown),
        cmocka_unit_test_setup_teardown(
            exclusive_mode_after_the_wal_opened_recovers_from_a_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(a_wal_reopened_on_the_heap_writes_through, setup, teardown),
        cmocka_unit_test_setup_teardown(a_commit_is_in_the_file_before_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
