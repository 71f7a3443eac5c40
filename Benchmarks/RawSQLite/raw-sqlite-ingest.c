/*
 * The ceiling for engagement ingest: raw C SQLite inserting the rows `lv-load ingest` sends,
 * the way lv-engagement's store inserts them, with no RPC, no decoding and no Swift.
 *
 *   - the engagement schema (EngagementStore's migrations: the event table, WITHOUT ROWID, keyed
 *     by (timestamp_ms, event_id), and the (activity_id, timestamp_ms) index): keep them in step;
 *   - WAL, synchronous=FULL (or NORMAL), cache_size -32768, memory statistics off (as LVStore);
 *   - one prepared INSERT … ON CONFLICT DO NOTHING reused for every row, each batch of BATCH rows
 *     under its own SAVEPOINT, GROUP batches per BEGIN IMMEDIATE … COMMIT (the writer's group commit);
 *   - the rows of lv-load's EventGenerator: 2,000 physicians, verbs by position (answered,
 *     attended, rated, then heartbeats), time-ordered (UUIDv7-like) or random (UUIDv4-like) ids.
 *
 * Usage: raw-sqlite-ingest DB-PATH SECONDS time|random [BATCH GROUP full|normal]
 * Prints one JSON line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sqlite3.h>

static const char *schema =
    "CREATE TABLE IF NOT EXISTS event ("
    " timestamp_ms INTEGER NOT NULL, event_id TEXT NOT NULL, npi TEXT NOT NULL, verb INTEGER NOT NULL,"
    " activity_id TEXT NOT NULL, session_id TEXT NOT NULL, object_id TEXT NOT NULL, response TEXT NOT NULL,"
    " rating INTEGER NOT NULL, duration_ms INTEGER NOT NULL, correct INTEGER NOT NULL,"
    " PRIMARY KEY (timestamp_ms, event_id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS event_activity_time ON event (activity_id, timestamp_ms);";

static uint64_t splitmix_state;
static uint64_t splitmix(void) {
    uint64_t z = (splitmix_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(sqlite3 *db, const char *sql) { check(sqlite3_exec(db, sql, 0, 0, 0), db, sql); }

/* The NPI check digit (Luhn over "80840" + the first nine digits), as NPI.checkDigit. */
static int npi_check_digit(const char *nine) {
    int sum = 24; /* the prefix 80840's contribution */
    for (int i = 8, pos = 0; i >= 0; i--, pos++) {
        int d = nine[i] - '0';
        if (pos % 2 == 0) { d *= 2; if (d > 9) d -= 9; }
        sum += d;
    }
    return (10 - sum % 10) % 10;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s DB-PATH SECONDS time|random [BATCH GROUP full|normal]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    double duration = atof(argv[2]);
    int random_ids = strcmp(argv[3], "random") == 0;
    int batch = argc > 4 ? atoi(argv[4]) : 500;
    int group = argc > 5 ? atoi(argv[5]) : 1;
    const char *sync = argc > 6 ? argv[6] : "full";
    enum { PHYSICIANS = 2000 };
    static char npis[PHYSICIANS][11];
    for (int n = 0; n < PHYSICIANS; n++) {
        char nine[10];
        snprintf(nine, sizeof nine, "%09d", 500000000 + n);
        snprintf(npis[n], sizeof npis[n], "%s%d", nine, npi_check_digit(nine));
    }
    splitmix_state = (uint64_t)now_ms() * 2654435761u;

    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3 *db;
    check(sqlite3_open(path, &db), db, "open");
    exec(db, "PRAGMA busy_timeout = 5000");
    exec(db, "PRAGMA journal_mode = WAL");
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous = %s", strcmp(sync, "normal") == 0 ? "NORMAL" : "FULL");
    exec(db, pragma);
    exec(db, "PRAGMA foreign_keys = ON");
    exec(db, "PRAGMA cache_size = -32768");
    exec(db, schema);

    sqlite3_stmt *insert;
    check(sqlite3_prepare_v2(db,
        "INSERT INTO event (timestamp_ms, event_id, npi, verb, activity_id, session_id, object_id, response, rating,"
        " duration_ms, correct) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", -1, &insert, 0), db, "prepare");

    uint64_t counter = 0, rows = 0, commits = 0;
    const int worker = 1;
    double start = seconds(), end = start + duration;
    while (seconds() < end) {
        exec(db, "BEGIN IMMEDIATE");
        for (int g = 0; g < group; g++) {
            exec(db, "SAVEPOINT write");
            int64_t now = now_ms() - 1000;
            for (int i = 0; i < batch; i++) {
                char id[48], object[16] = "";
                counter++;
                if (random_ids)
                    snprintf(id, sizeof id, "%016" PRIx64 "-%016" PRIx64, splitmix(), splitmix());
                else
                    snprintf(id, sizeof id, "%012" PRIx64 "-7%03x-%016" PRIx64, (uint64_t)(now & 0xffffffffffffLL), worker, counter);
                int verb = 9 /* heartbeat */, rating = 0, duration_ms = 0;
                const char *response = "";
                switch (i % 20) {
                case 0: verb = 2; snprintf(object, sizeof object, "poll-%d", i % 7); response = "B"; break; /* answered */
                case 1: verb = 1; duration_ms = 60000; break;                                            /* attended */
                case 2: verb = 10; rating = 4; break;                                                   /* rated */
                }
                sqlite3_bind_int64(insert, 1, now);
                sqlite3_bind_text(insert, 2, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(insert, 3, npis[splitmix() % PHYSICIANS], 10, SQLITE_TRANSIENT);
                sqlite3_bind_int(insert, 4, verb);
                sqlite3_bind_text(insert, 5, "load-activity", -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(insert, 6, "load-session", -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(insert, 7, object, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(insert, 8, response, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int(insert, 9, rating);
                sqlite3_bind_int(insert, 10, duration_ms);
                sqlite3_bind_int(insert, 11, 0);
                check(sqlite3_step(insert), db, "insert");
                sqlite3_reset(insert);
                rows += sqlite3_changes(db);
            }
            exec(db, "RELEASE write");
        }
        exec(db, "COMMIT");
        commits++;
    }
    double took = seconds() - start;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    sqlite3_finalize(insert);
    sqlite3_close(db);
    printf("{\"baseline\":\"raw-c-sqlite\",\"sqlite\":\"%s\",\"id_kind\":\"%s\",\"batch\":%d,\"batches_per_commit\":%d,"
           "\"synchronous\":\"%s\",\"rows\":%" PRIu64 ",\"commits\":%" PRIu64 ",\"seconds\":%.3f,\"rows_per_s\":%.0f,"
           "\"cpu_s\":%.3f,\"rows_per_cpu_s\":%.0f}\n",
           sqlite3_libversion(), random_ids ? "random" : "time", batch, group, sync, rows, commits, took, rows / took, cpu, rows / cpu);
    return 0;
}
