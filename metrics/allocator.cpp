#include "metrics/allocator.h"

#include <dlfcn.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <string_view>

namespace cargomon::metrics {

namespace {

// Two arenas: collector runs spend their time waiting for the API and scrapes copy
// pre-rendered text, so they rarely contend for malloc; each arena keeps its own free
// pages, so fewer arenas hold fewer of them. (A fixed 128 KiB mmap threshold was tried
// too: it made a 15 MB plain scrape in bench_metrics_http several times slower.)
constexpr int kArenas = 2;

std::atomic<bool> trim_after_publish{false};

bool tunable_given(std::string_view name) {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    return tunables && std::string_view(tunables).find(name) != std::string_view::npos;
}

bool env_given(const char* name) {
    const char* value = std::getenv(name);
    return value && *value;
}

}  // namespace

std::string tune_allocator() {
    // Another allocator (jemalloc or tcmalloc preloaded) has its own settings and no
    // malloc_trim of its own: glibc's would only walk glibc's unused arena.
    if (dlsym(RTLD_DEFAULT, "mallctl") || dlsym(RTLD_DEFAULT, "tc_malloc")) return "not glibc's (preloaded), left as it is";
    const char* tuning = std::getenv("CARGOMON_MALLOC_TUNING");
    if (tuning && std::string_view(tuning) == "off") return "glibc, its defaults (CARGOMON_MALLOC_TUNING=off)";
    std::string settings = "glibc";
    if (env_given("MALLOC_ARENA_MAX") || tunable_given("glibc.malloc.arena_max")) {
        settings += ", arenas as the environment sets them";
    } else {
        mallopt(M_ARENA_MAX, kArenas);
        settings += ", at most " + std::to_string(kArenas) + " arenas";
    }
    trim_after_publish = true;
    return settings + ", free pages returned after each publish";
}

void release_free_memory() {
    if (trim_after_publish) malloc_trim(0);
}

}  // namespace cargomon::metrics
