#include "tsdb/checkpoint.h"

#include <zlib.h>

#include <cstring>

#include "common/atomic_file.h"

namespace cargomon::tsdb {
namespace {

constexpr char kMagic[8] = {'C', 'M', 'H', 'I', 'S', 'T', 'C', 'K'};
constexpr std::uint8_t kSeriesRecord = 1;
constexpr std::uint8_t kEndRecord = 2;
constexpr std::size_t kFlushBytes = std::size_t{1} << 20;

std::uint32_t crc_of(std::string_view data) {
    return static_cast<std::uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

template <typename T>
void put(std::string& out, T value) {
    auto bits = static_cast<std::make_unsigned_t<T>>(value);
    for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void put_text(std::string& out, std::string_view text) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(text.size()));
    out.append(text);
}

void put_record(std::string& out, std::string_view payload) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(payload.size()));
    put<std::uint32_t>(out, crc_of(payload));
    out.append(payload);
}

// Reads from one record's payload; every read checks what is left.
class Reader {
public:
    explicit Reader(std::string_view data) : data_(data) {}
    template <typename T>
    bool get(T& value) {
        if (data_.size() < sizeof(T)) return false;
        std::make_unsigned_t<T> bits = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i)
            bits |= static_cast<std::make_unsigned_t<T>>(static_cast<std::uint8_t>(data_[i])) << (8 * i);
        value = static_cast<T>(bits);
        data_.remove_prefix(sizeof(T));
        return true;
    }
    bool get_bytes(std::size_t n, std::string_view& out) {
        if (data_.size() < n) return false;
        out = data_.substr(0, n);
        data_.remove_prefix(n);
        return true;
    }
    bool get_text(std::string& out) {
        std::uint32_t n = 0;
        std::string_view bytes;
        if (!get(n) || !get_bytes(n, bytes)) return false;
        out.assign(bytes);
        return true;
    }
    bool done() const { return data_.empty(); }

private:
    std::string_view data_;
};

bool parse_series(std::string_view payload, SeriesData& data) {
    Reader r(payload);
    std::uint16_t labels = 0;
    if (!r.get(labels) || labels > payload.size() / 8) return false;  // a label takes at least 8 bytes
    data.labels.resize(labels);
    for (auto& [name, value] : data.labels)
        if (!r.get_text(name) || !r.get_text(value)) return false;
    std::uint32_t chunks = 0;
    if (!r.get(chunks)) return false;
    // Each chunk takes at least 20 bytes of the record: a count beyond that is a lie.
    if (chunks > payload.size() / 20) return false;
    data.chunks.resize(chunks);
    for (auto& c : data.chunks) {
        std::uint16_t count = 0, length = 0;
        std::string_view bytes;
        if (!r.get(c.mint) || !r.get(c.maxt) || !r.get(count) || !r.get(length)) return false;
        if (count == 0 || count > kSamplesPerChunk || length > kMaxChunkBytes) return false;
        if (!r.get_bytes(length, bytes)) return false;
        c.count = count;
        c.bytes.assign(bytes.begin(), bytes.end());
    }
    return r.done();
}

}  // namespace

CheckpointWritten write_checkpoint(const Head& head, const std::filesystem::path& path) {
    AtomicFile file(path, AtomicFile::Options{});
    CheckpointWritten written;
    std::string out(kMagic, sizeof kMagic);
    put<std::uint32_t>(out, kCheckpointVersion);
    std::string payload;
    head.for_each_series([&](const SeriesData& data) {
        payload.clear();
        payload.push_back(static_cast<char>(kSeriesRecord));
        put<std::uint16_t>(payload, static_cast<std::uint16_t>(data.labels.size()));
        for (const auto& [name, value] : data.labels) {
            put_text(payload, name);
            put_text(payload, value);
        }
        // A series whose record would pass the reader's bound keeps its newest chunks.
        std::size_t first = 0, size = payload.size() + 4;
        for (const auto& c : data.chunks) size += 20 + c.bytes.size();
        while (size > kMaxRecordBytes && first < data.chunks.size()) size -= 20 + data.chunks[first++].bytes.size();
        put<std::uint32_t>(payload, static_cast<std::uint32_t>(data.chunks.size() - first));
        for (std::size_t i = first; i < data.chunks.size(); ++i) {
            const auto& c = data.chunks[i];
            put<std::int64_t>(payload, c.mint);
            put<std::int64_t>(payload, c.maxt);
            put<std::uint16_t>(payload, static_cast<std::uint16_t>(c.count));
            put<std::uint16_t>(payload, static_cast<std::uint16_t>(c.bytes.size()));
            payload.append(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size());
            written.samples += c.count;
        }
        put_record(out, payload);
        ++written.series;
        if (out.size() >= kFlushBytes) {
            file.write(out);
            written.bytes += out.size();
            out.clear();
        }
    });
    payload.assign(1, static_cast<char>(kEndRecord));
    put<std::uint64_t>(payload, written.series);
    put_record(out, payload);
    file.write(out);
    written.bytes += out.size();
    file.commit();
    return written;
}

CheckpointLoaded load_checkpoint(std::istream& in, Head& head, std::size_t max_bytes) {
    CheckpointLoaded loaded;
    auto fail = [&](std::string why) {
        loaded.error = std::move(why);
        return loaded;
    };
    char header[12];
    in.read(header, sizeof header);
    if (in.gcount() == 0) return fail("empty file");
    if (in.gcount() < static_cast<std::streamsize>(sizeof header) || std::memcmp(header, kMagic, sizeof kMagic) != 0)
        return fail("not a history checkpoint (no CMHISTCK header)");
    std::uint32_t version = 0;
    Reader(std::string_view(header + 8, 4)).get(version);
    if (version != kCheckpointVersion)
        return fail("version " + std::to_string(version) + ", this cargomon reads version " +
                    std::to_string(kCheckpointVersion));
    std::string payload;
    for (std::size_t record = 1;; ++record) {
        const std::string where = "record " + std::to_string(record) + ": ";
        char frame[8];
        in.read(frame, sizeof frame);
        if (in.gcount() == 0) return fail(where + "missing (truncated before the end record)");
        if (in.gcount() < static_cast<std::streamsize>(sizeof frame)) return fail(where + "truncated");
        std::uint32_t length = 0, crc = 0;
        Reader frame_reader(std::string_view(frame, sizeof frame));
        frame_reader.get(length);
        frame_reader.get(crc);
        if (length == 0 || length > kMaxRecordBytes)
            return fail(where + "length " + std::to_string(length) + " out of bounds");
        // Read in steps: a truncated file claiming a large record allocates only what it has.
        payload.clear();
        while (payload.size() < length) {
            const std::size_t step = std::min<std::size_t>(length - payload.size(), kFlushBytes);
            const std::size_t at = payload.size();
            payload.resize(at + step);
            in.read(payload.data() + at, static_cast<std::streamsize>(step));
            if (in.gcount() < static_cast<std::streamsize>(step)) return fail(where + "truncated");
        }
        if (crc_of(payload) != crc) return fail(where + "checksum mismatch");
        const auto type = static_cast<std::uint8_t>(payload[0]);
        const std::string_view body = std::string_view(payload).substr(1);
        if (type == kEndRecord) {
            std::uint64_t series = 0;
            Reader r(body);
            if (!r.get(series) || !r.done()) return fail(where + "malformed end record");
            if (series != record - 1)
                return fail(where + "end record counts " + std::to_string(series) + " series, the file holds " +
                            std::to_string(record - 1));
            if (in.peek() != std::char_traits<char>::eof()) return fail("bytes after the end record");
            return loaded;
        }
        if (type != kSeriesRecord) return fail(where + "unknown type " + std::to_string(type));
        SeriesData data;
        if (!parse_series(body, data)) return fail(where + "malformed series");
        auto added = head.restore(std::move(data));
        if (!added) return fail(where + "invalid series (labels or chunks fail their checks)");
        ++loaded.series;
        loaded.samples += *added;
        if (head.bytes() > max_bytes) {
            loaded.stopped_at_cap = true;
            return loaded;
        }
    }
}

}  // namespace cargomon::tsdb
