#include "CBuildInfo.h"

#ifndef LV_GIT_COMMIT
#define LV_GIT_COMMIT "unknown"
#endif
#ifndef LV_BUILD_DATE
#define LV_BUILD_DATE "unknown"
#endif

const char *lv_build_git_commit(void) { return LV_GIT_COMMIT; }
const char *lv_build_date(void) { return LV_BUILD_DATE; }
