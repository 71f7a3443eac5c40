#pragma once
/// Process-wide SQLite settings that Swift cannot pass directly (sqlite3_config is variadic).
/// Turns off SQLite's memory-usage statistics, whose global mutex is taken on every allocation;
/// must run before the first connection opens. Returns SQLite's result code.
int lv_sqlite_disable_memstatus(void);

/// Names the calling thread (what `top -H` and /proc/<pid>/task/*/comm show; Linux keeps 15
/// bytes). Swift's Glibc module does not declare pthread_setname_np (it needs _GNU_SOURCE).
void lv_name_current_thread(const char *name);
