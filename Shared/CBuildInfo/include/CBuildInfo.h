#pragma once
// The git commit and build date baked in by `make dist` (scripts/dist.sh passes
// -Xcc -DLV_GIT_COMMIT=... -Xcc -DLV_BUILD_DATE=...); plain `swift build` leaves them "unknown".
const char *lv_build_git_commit(void);
const char *lv_build_date(void);
