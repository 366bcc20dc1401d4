#pragma once
// glibc malloc for a process that rebuilds its whole store every cycle. Each collection
// builds new snapshots (at 100,000 series, ~100 MB of small label strings, answer bodies
// and rendered text) on whichever scheduler worker runs it, and frees the previous ones
// from another thread. With glibc's defaults each worker gets its own arena and freed
// pages stay resident: RSS grew 2.5x over 30 cycles without any leak
// (bench/memory, docs/performance.md).
#include <string>

namespace cargomon::metrics {

// Call once at the start of the daemon, before any thread: bounds the arenas and turns
// on release_free_memory(). An arena count given in the environment (MALLOC_ARENA_MAX,
// or glibc.malloc.arena_max in GLIBC_TUNABLES) is left as given, as glibc users
// expect; CARGOMON_MALLOC_TUNING=off keeps all of glibc's defaults (to compare).
// Returns the settings in force, for the log.
std::string tune_allocator();

// Gives the free pages of every arena back to the system (malloc_trim). Called after a
// publish, when the replaced snapshot has been freed; does nothing unless
// tune_allocator() turned it on. It costs ~20 ms of CPU at 100,000 series (up to ~85 ms
// on a loaded machine), with the arena it walks locked meanwhile.
void release_free_memory();

}  // namespace cargomon::metrics
