#pragma once
// The history's checkpoint: the whole head in one file, written whole or not at all
// (common/atomic_file.h: a temporary file, fsync, rename) and read back at start.
//
// Layout, integers little-endian:
//   header   "CMHISTCK" (8 bytes), u32 version (kCheckpointVersion)
//   records  u32 payload length, u32 CRC-32 of the payload, payload; payload[0] the type:
//            1 series: u16 label count, per label u32 length + name, u32 length + value,
//                      u32 chunk count, per chunk i64 mint, i64 maxt, u16 samples,
//                      u16 length + the chunk's bytes (tsdb/chunk.h)
//            2 end:    u64 the number of series records before it
// Reading is bounded whatever the file holds: a record is at most kMaxRecordBytes, each
// length inside it is checked against what is left of it, a chunk holds at most
// kSamplesPerChunk samples in at most kMaxChunkBytes, every series is checked by
// Head::restore before it is added, and loading stops once the head holds `max_bytes`.
//
// Thread-safety: write_checkpoint reads the head as select() does (appends go on);
// load_checkpoint appends as any appender.
#include <cstdint>
#include <filesystem>
#include <istream>
#include <optional>
#include <string>

#include "tsdb/head.h"

namespace cargomon::tsdb {

inline constexpr std::uint32_t kCheckpointVersion = 1;
inline constexpr std::size_t kMaxRecordBytes = std::size_t{64} << 20;
inline constexpr std::size_t kMaxChunkBytes = 4096;  // 120 samples take at most ~2.2 KiB

struct CheckpointWritten {
    std::size_t series = 0;
    std::size_t samples = 0;
    std::size_t bytes = 0;
};
// Writes every series of `head` to `path`. Throws std::runtime_error naming the path
// (then `path` is untouched).
CheckpointWritten write_checkpoint(const Head& head, const std::filesystem::path& path);

struct CheckpointLoaded {
    std::size_t series = 0;   // series records restored
    std::size_t samples = 0;  // samples added
    // Set when the file is not a complete, intact checkpoint of this version: what is
    // wrong and where ("record 12: checksum mismatch"). The series before it are kept.
    std::optional<std::string> error;
    bool stopped_at_cap = false;  // the head reached max_bytes: the rest was not read
};
CheckpointLoaded load_checkpoint(std::istream& in, Head& head, std::size_t max_bytes);

}  // namespace cargomon::tsdb
