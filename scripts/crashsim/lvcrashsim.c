// lvcrashsim: makes a process crash look like a power loss for the files under one directory.
//
// As a preload library (LD_PRELOAD=liblvcrashsim.so LV_CRASHSIM_DIR=/some/dir): before every
// write or truncation of a file under LV_CRASHSIM_DIR (except SQLite's -shm index, which SQLite
// rebuilds after a crash), the bytes about to be overwritten and the file's size are appended to
// "<file>.lvundo". fsync/fdatasync of the file, once it returns success, empties that undo log:
// from then on those writes are durable. The writes themselves go through unchanged.
//
// As a program (built with -DLVCRASHSIM_MAIN; `lvcrashsim-apply DIR`), after the process was
// killed: every undo log under DIR is applied newest record first, so each file goes back to its
// contents at its last successful fsync — every write the OS had only in its page cache is gone,
// as after a power cut. The page cache of the test machine is never touched; this needs no root.
//
// Record: 'W' or 'T' (1 byte), offset (u64), old size (u64), length (u64), then `length` bytes
// that were at [offset, offset + length) before the operation. Host byte order.
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef LVCRASHSIM_MAIN

#define MAXFD 65536
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *tracked[MAXFD]; // fd -> path of a tracked file

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static void init(void) {
    if (real_open) return;
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_close = dlsym(RTLD_NEXT, "close");
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_open = dlsym(RTLD_NEXT, "open");
}

static int wanted(const char *path) {
    const char *dir = getenv("LV_CRASHSIM_DIR");
    if (!dir || !*dir || !path) return 0;
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) != 0 || path[n] != '/') return 0;
    size_t len = strlen(path);
    if (len >= 4 && strcmp(path + len - 4, "-shm") == 0) return 0;
    if (len >= 7 && strcmp(path + len - 7, ".lvundo") == 0) return 0;
    return 1;
}

static void track(int fd, const char *path) {
    if (fd < 0 || fd >= MAXFD || !wanted(path)) return;
    pthread_mutex_lock(&mu);
    free(tracked[fd]);
    tracked[fd] = strdup(path);
    pthread_mutex_unlock(&mu);
}

static void die(const char *what) {
    fprintf(stderr, "lvcrashsim: %s: %s\n", what, strerror(errno));
    abort();
}

static void write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = real_write(fd, c, n);
        if (w < 0) { if (errno == EINTR) continue; die("writing the undo log"); }
        c += w; n -= (size_t)w;
    }
}

// Saves what [offset, offset + length) holds now, and the size, before the file changes. Locked.
static void save(int fd, char kind, uint64_t offset, uint64_t length) {
    const char *path = tracked[fd];
    struct stat st;
    if (fstat(fd, &st) != 0) die("fstat");
    uint64_t size = (uint64_t)st.st_size;
    uint64_t have = offset >= size ? 0 : (size - offset < length ? size - offset : length);
    char *old = malloc(have ? have : 1);
    int rfd = real_open(path, O_RDONLY | O_CLOEXEC);
    if (rfd < 0) die("opening the file to save its old bytes");
    uint64_t got = 0;
    while (got < have) {
        ssize_t r = pread(rfd, old + got, have - got, (off_t)(offset + got));
        if (r < 0) { if (errno == EINTR) continue; die("pread"); }
        if (r == 0) break;
        got += (uint64_t)r;
    }
    real_close(rfd);
    char undo[4096];
    snprintf(undo, sizeof undo, "%s.lvundo", path);
    int ufd = real_open(undo, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (ufd < 0) die("opening the undo log");
    char header[25];
    header[0] = kind;
    memcpy(header + 1, &offset, 8);
    memcpy(header + 9, &size, 8);
    memcpy(header + 17, &got, 8);
    write_all(ufd, header, sizeof header);
    write_all(ufd, old, got);
    real_close(ufd);
    free(old);
}

static void synced(int fd) {
    char undo[4096];
    snprintf(undo, sizeof undo, "%s.lvundo", tracked[fd]);
    int ufd = real_open(undo, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (ufd >= 0) real_close(ufd);
}

int open(const char *path, int flags, ...) {
    init();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, int); va_end(ap); }
    int fd = real_open(path, flags, mode);
    track(fd, path);
    return fd;
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...) {
    init();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, int); va_end(ap); }
    int fd = real_openat(dirfd, path, flags, mode);
    if (path && path[0] == '/') track(fd, path);
    return fd;
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int close(int fd) {
    init();
    if (fd >= 0 && fd < MAXFD) {
        pthread_mutex_lock(&mu);
        free(tracked[fd]);
        tracked[fd] = NULL;
        pthread_mutex_unlock(&mu);
    }
    return real_close(fd);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t offset) {
    init();
    if (fd < 0 || fd >= MAXFD) return real_pwrite(fd, buf, n, offset);
    pthread_mutex_lock(&mu);
    if (tracked[fd]) save(fd, 'W', (uint64_t)offset, n);
    ssize_t r = real_pwrite(fd, buf, n, offset);
    pthread_mutex_unlock(&mu);
    return r;
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t offset) __attribute__((alias("pwrite")));

ssize_t write(int fd, const void *buf, size_t n) {
    init();
    if (fd < 0 || fd >= MAXFD) return real_write(fd, buf, n);
    pthread_mutex_lock(&mu);
    if (tracked[fd]) {
        off_t at = lseek(fd, 0, SEEK_CUR);
        if (at >= 0) save(fd, 'W', (uint64_t)at, n);
    }
    ssize_t r = real_write(fd, buf, n);
    pthread_mutex_unlock(&mu);
    return r;
}

int ftruncate(int fd, off_t length) {
    init();
    if (fd < 0 || fd >= MAXFD) return real_ftruncate(fd, length);
    pthread_mutex_lock(&mu);
    if (tracked[fd]) save(fd, 'T', (uint64_t)length, UINT64_MAX / 2);
    int r = real_ftruncate(fd, length);
    pthread_mutex_unlock(&mu);
    return r;
}
int ftruncate64(int fd, off_t length) __attribute__((alias("ftruncate")));

int fsync(int fd) {
    init();
    int r = real_fsync(fd);
    if (r == 0 && fd >= 0 && fd < MAXFD) {
        pthread_mutex_lock(&mu);
        if (tracked[fd]) synced(fd);
        pthread_mutex_unlock(&mu);
    }
    return r;
}

int fdatasync(int fd) {
    init();
    int r = real_fdatasync(fd);
    if (r == 0 && fd >= 0 && fd < MAXFD) {
        pthread_mutex_lock(&mu);
        if (tracked[fd]) synced(fd);
        pthread_mutex_unlock(&mu);
    }
    return r;
}

#else // the program that applies the undo logs

struct record { char kind; uint64_t offset, size, length; char *bytes; };

static int apply(const char *undo) {
    char target[4096];
    size_t n = strlen(undo) - strlen(".lvundo");
    memcpy(target, undo, n);
    target[n] = 0;
    if (access(target, F_OK) != 0) { unlink(undo); return 0; } // deleted since (a rollback journal): nothing to restore
    FILE *f = fopen(undo, "rb");
    if (!f) { perror(undo); return 1; }
    struct record *records = NULL;
    size_t count = 0, capacity = 0;
    char header[25];
    while (fread(header, 1, sizeof header, f) == sizeof header) {
        struct record r;
        r.kind = header[0];
        memcpy(&r.offset, header + 1, 8);
        memcpy(&r.size, header + 9, 8);
        memcpy(&r.length, header + 17, 8);
        r.bytes = malloc(r.length ? r.length : 1);
        if (fread(r.bytes, 1, r.length, f) != r.length) { free(r.bytes); break; } // torn last record: its write never happened
        if (count == capacity) { capacity = capacity ? capacity * 2 : 64; records = realloc(records, capacity * sizeof *records); }
        records[count++] = r;
    }
    fclose(f);
    int fd = open(target, O_WRONLY);
    if (fd < 0) { perror(target); return 1; }
    for (size_t i = count; i-- > 0;) {
        struct record *r = &records[i];
        if (r->length && pwrite(fd, r->bytes, r->length, (off_t)r->offset) != (ssize_t)r->length) { perror("pwrite"); return 1; }
        if (ftruncate(fd, (off_t)r->size) != 0) { perror("ftruncate"); return 1; }
        free(r->bytes);
    }
    fsync(fd);
    close(fd);
    free(records);
    unlink(undo);
    printf("%s: %zu unsynced operations undone\n", target, count);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s DIR\n", argv[0]); return 2; }
    DIR *d = opendir(argv[1]);
    if (!d) { perror(argv[1]); return 1; }
    struct dirent *e;
    int failed = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 7 && strcmp(e->d_name + len - 7, ".lvundo") == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
            failed |= apply(path);
        }
    }
    closedir(d);
    return failed;
}
#endif
