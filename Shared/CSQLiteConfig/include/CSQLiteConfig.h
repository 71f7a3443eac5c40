#pragma once
/// Process-wide SQLite settings that Swift cannot pass directly (sqlite3_config is variadic).
/// Turns off SQLite's memory-usage statistics, whose global mutex is taken on every allocation;
/// must run before the first connection opens. Returns SQLite's result code.
int lv_sqlite_disable_memstatus(void);
