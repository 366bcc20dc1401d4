#include "tsdb/head.h"

#include <algorithm>
#include <bit>
#include <set>

namespace cargomon::tsdb {

// What index_mu_ does not guard is guarded by mu (head.h); labels, key and id never change.
class Series {
public:
    metrics::Labels labels;  // with __name__, sorted
    std::string key;
    std::uint64_t id = 0;
    std::size_t overhead = 0;  // the estimate bytes_ carries for the labels and index entries

    mutable std::mutex mu;
    std::vector<StoredChunk> chunks;  // closed, oldest first
    ChunkEncoder open;
    std::int64_t open_mint = 0;
    std::int64_t last_t = 0;
    std::uint64_t last_bits = 0;
    bool has_samples = false;
    bool removed = false;

    std::int64_t oldest() const { return chunks.empty() ? open_mint : chunks.front().mint; }
    bool holds_samples() const { return !chunks.empty() || open.count() > 0; }
    bool overlaps(std::int64_t mint, std::int64_t maxt) const {
        return holds_samples() && last_t >= mint && oldest() <= maxt;
    }
};

namespace {

constexpr std::string_view kNameLabel = "__name__";

// name, then the other labels, as one string: '\xff' never occurs in UTF-8.
void make_key(std::string& key, std::string_view name, const metrics::Labels& labels) {
    key.assign(name);
    key += '\xff';
    for (const auto& [n, v] : labels) {
        key += n;
        key += '\xff';
        key += v;
        key += '\xff';
    }
}

// A rough count of what a series costs beyond its chunks: the object, its key, its
// labels (a pair of strings each, the longer ones on the heap), the two map nodes and
// a postings entry per label.
std::size_t overhead_of(const Series& s) {
    std::size_t bytes = sizeof(Series) + s.key.size() + 2 * 64;
    for (const auto& [n, v] : s.labels) bytes += sizeof(s.labels[0]) + 8 + (n.size() > 15 ? n.size() : 0) + (v.size() > 15 ? v.size() : 0);
    return bytes;
}

struct Counters {
    std::atomic<std::size_t>& samples;
    std::atomic<std::size_t>& bytes;
};

// The caller holds s.mu.
Head::Appended append_locked(Series& s, std::int64_t t, double v, Counters counters) {
    const auto bits = std::bit_cast<std::uint64_t>(v);
    if (s.has_samples) {
        if (t < s.last_t) return Head::Appended::out_of_order;
        if (t == s.last_t) return bits == s.last_bits ? Head::Appended::same : Head::Appended::duplicate;
    }
    if (s.open.count() == kSamplesPerChunk) {
        const std::uint32_t count = static_cast<std::uint32_t>(s.open.count());
        s.chunks.push_back(StoredChunk{.mint = s.open_mint, .maxt = s.last_t, .count = count, .bytes = s.open.finish()});
    }
    if (s.open.count() == 0) s.open_mint = t;
    const std::size_t before = s.open.bytes().size();
    s.open.append(t, v);
    counters.bytes.fetch_add(s.open.bytes().size() - before, std::memory_order_relaxed);
    counters.samples.fetch_add(1, std::memory_order_relaxed);
    s.last_t = t;
    s.last_bits = bits;
    s.has_samples = true;
    return Head::Appended::ok;
}

// Appends the samples of `bytes` in [mint, maxt] to `out`.
void decode_window(std::span<const std::uint8_t> bytes, std::size_t count, std::int64_t mint, std::int64_t maxt,
                   std::vector<Sample>& out) {
    ChunkDecoder decoder(bytes, count);
    while (decoder.next()) {
        const Sample s = decoder.at();
        if (s.t > maxt) break;
        if (s.t >= mint) out.push_back(s);
    }
}

std::vector<std::uint64_t> intersect(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
    std::vector<std::uint64_t> out;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
}

bool by_labels(const SeriesRef& a, const SeriesRef& b) { return a->labels < b->labels; }

}  // namespace

Head::Head() = default;
Head::~Head() = default;

SeriesRef Head::series(std::string_view name, const metrics::Labels& given) {
    // Prometheus drops empty-valued labels: {a=""} and {} are one series.
    const bool has_empty = std::any_of(given.begin(), given.end(), [](const auto& l) { return l.second.empty(); });
    metrics::Labels filtered;
    if (has_empty)
        for (const auto& l : given)
            if (!l.second.empty()) filtered.push_back(l);
    const metrics::Labels& labels = has_empty ? filtered : given;
    thread_local std::string key;
    make_key(key, name, labels);
    {
        std::shared_lock lock(index_mu_);
        if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;
    }
    auto created = std::make_shared<Series>();
    created->labels = labels;
    if (!name.empty()) metrics::set_label(created->labels, std::string(kNameLabel), std::string(name));
    created->key = key;
    created->overhead = overhead_of(*created);
    std::unique_lock lock(index_mu_);
    auto [it, added] = by_key_.emplace(std::string_view(created->key), created);
    if (!added) return it->second;
    created->id = next_id_++;
    by_id_.emplace(created->id, created);
    for (const auto& [n, v] : created->labels) {
        auto& values = postings_[n];
        auto found = values.find(v);
        if (found == values.end()) found = values.emplace(v, std::vector<std::uint64_t>{}).first;
        found->second.push_back(created->id);
    }
    bytes_.fetch_add(created->overhead, std::memory_order_relaxed);
    overhead_bytes_.fetch_add(created->overhead, std::memory_order_relaxed);
    return created;
}

Head::Appended Head::append(const SeriesRef& series, std::int64_t t, double v) {
    std::shared_lock index(index_mu_);
    std::lock_guard lock(series->mu);
    if (series->removed) return Appended::same;
    return append_locked(*series, t, v, Counters{samples_, bytes_});
}

Head::Appended Head::append(const metrics::Labels& labels, std::int64_t t, double v) {
    metrics::Labels rest;
    rest.reserve(labels.size());
    std::string_view name;
    for (const auto& label : labels) {
        if (label.first == kNameLabel) name = label.second;
        else rest.push_back(label);
    }
    return append(series(name, rest), t, v);
}

void Head::forget(const SeriesRef& s) {
    by_key_.erase(s->key);
    by_id_.erase(s->id);
    for (const auto& [n, v] : s->labels) {
        auto values = postings_.find(n);
        if (values == postings_.end()) continue;
        auto ids = values->second.find(v);
        if (ids == values->second.end()) continue;
        auto& list = ids->second;
        auto at = std::lower_bound(list.begin(), list.end(), s->id);
        if (at != list.end() && *at == s->id) list.erase(at);
        if (list.empty()) values->second.erase(ids);
        if (values->second.empty()) postings_.erase(values);
    }
    bytes_.fetch_sub(s->overhead, std::memory_order_relaxed);
    overhead_bytes_.fetch_sub(s->overhead, std::memory_order_relaxed);
}

std::vector<SeriesRef> Head::candidates(const std::vector<metrics::Matcher>& matchers) const {
    std::shared_lock lock(index_mu_);
    std::vector<std::uint64_t> ids;
    bool narrowed = false;
    for (const auto& m : matchers) {
        // A matcher that selects the empty value also selects series without the label:
        // postings cannot narrow by it, matches_all below applies it.
        if (m.matches(std::string_view{})) continue;
        auto values = postings_.find(m.name());
        if (values == postings_.end()) return {};
        std::vector<std::uint64_t> these;
        if (m.op() == metrics::Matcher::Op::equal) {
            auto found = values->second.find(m.value());
            if (found == values->second.end()) return {};
            these = narrowed ? intersect(ids, found->second) : found->second;
        } else {
            for (const auto& [value, list] : values->second)
                if (m.matches(value)) these.insert(these.end(), list.begin(), list.end());
            std::sort(these.begin(), these.end());
            if (narrowed) these = intersect(ids, these);
        }
        ids = std::move(these);
        narrowed = true;
        if (ids.empty()) return {};
    }
    std::vector<SeriesRef> out;
    if (narrowed) {
        out.reserve(ids.size());
        for (auto id : ids) {
            const auto& s = by_id_.at(id);
            if (metrics::matches_all(matchers, s->labels)) out.push_back(s);
        }
    } else {
        for (const auto& [id, s] : by_id_)
            if (metrics::matches_all(matchers, s->labels)) out.push_back(s);
    }
    return out;
}

void Head::select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                  const std::function<void(const metrics::Labels&, std::span<const Sample>)>& fn) const {
    auto list = candidates(matchers);
    std::sort(list.begin(), list.end(), by_labels);
    std::vector<Sample> samples;
    for (const auto& s : list) {
        samples.clear();
        {
            std::lock_guard lock(s->mu);
            if (!s->overlaps(mint_ms, maxt_ms)) continue;
            for (const auto& chunk : s->chunks) {
                if (chunk.maxt < mint_ms) continue;
                if (chunk.mint > maxt_ms) break;
                decode_window(chunk.bytes, chunk.count, mint_ms, maxt_ms, samples);
            }
            if (s->open.count() > 0 && s->last_t >= mint_ms && s->open_mint <= maxt_ms)
                decode_window(s->open.bytes(), s->open.count(), mint_ms, maxt_ms, samples);
        }
        if (!samples.empty()) fn(s->labels, samples);
    }
}

std::vector<SeriesRef> Head::overlapping(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                         std::int64_t maxt_ms) const {
    std::vector<SeriesRef> out;
    for (auto& s : candidates(matchers)) {
        std::lock_guard lock(s->mu);
        if (s->overlaps(mint_ms, maxt_ms)) out.push_back(std::move(s));
    }
    return out;
}

std::vector<metrics::Labels> Head::series(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                          std::int64_t maxt_ms) const {
    std::vector<metrics::Labels> out;
    for (const auto& s : overlapping(matchers, mint_ms, maxt_ms)) {
        out.push_back(s->labels);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> Head::label_names(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                           std::int64_t maxt_ms) const {
    std::vector<std::string> out;
    if (matchers.empty() && mint_ms == kMinTime && maxt_ms == kMaxTime) {
        std::shared_lock lock(index_mu_);
        for (const auto& [name, values] : postings_) out.push_back(name);
        return out;
    }
    std::set<std::string, std::less<>> names;
    for (const auto& s : overlapping(matchers, mint_ms, maxt_ms)) {
        for (const auto& label : s->labels) names.insert(label.first);
    }
    return {names.begin(), names.end()};
}

std::vector<std::string> Head::label_values(const std::string& name, const std::vector<metrics::Matcher>& matchers,
                                            std::int64_t mint_ms, std::int64_t maxt_ms) const {
    std::vector<std::string> out;
    if (matchers.empty() && mint_ms == kMinTime && maxt_ms == kMaxTime) {
        std::shared_lock lock(index_mu_);
        if (auto values = postings_.find(name); values != postings_.end())
            for (const auto& [value, ids] : values->second) out.push_back(value);
        return out;
    }
    std::set<std::string, std::less<>> values;
    for (const auto& s : overlapping(matchers, mint_ms, maxt_ms)) {
        if (const auto* value = metrics::find_label(s->labels, name)) values.insert(*value);
    }
    return {values.begin(), values.end()};
}

Head::TruncateResult Head::truncate(std::int64_t mint_ms, std::size_t max_bytes) {
    std::vector<SeriesRef> all;
    {
        std::shared_lock lock(index_mu_);
        all.reserve(by_id_.size());
        for (const auto& [id, s] : by_id_) all.push_back(s);
    }
    TruncateResult result;
    // Drops the closed chunks at the front that `drop` selects, counting their samples in
    // `into` (the caller takes them off samples_); the caller holds s.mu.
    auto drop_front = [&](Series& s, auto&& drop, Truncated& into) {
        std::size_t n = 0, bytes = 0;
        while (n < s.chunks.size() && drop(s.chunks[n])) {
            into.samples += s.chunks[n].count;
            bytes += s.chunks[n].bytes.size();
            ++n;
        }
        if (n == 0) return;
        s.chunks.erase(s.chunks.begin(), s.chunks.begin() + static_cast<std::ptrdiff_t>(n));
        bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    };
    std::vector<SeriesRef> emptied;
    for (const auto& s : all) {
        std::lock_guard lock(s->mu);
        const std::size_t before = result.retention.samples;
        drop_front(*s, [&](const StoredChunk& c) { return c.maxt < mint_ms; }, result.retention);
        if (s->chunks.empty() && s->open.count() > 0 && s->last_t < mint_ms) {
            result.retention.samples += s->open.count();
            bytes_.fetch_sub(s->open.bytes().size(), std::memory_order_relaxed);
            s->open = ChunkEncoder{};
        }
        samples_.fetch_sub(result.retention.samples - before, std::memory_order_relaxed);
        if (!s->holds_samples()) emptied.push_back(s);
    }

    if (bytes_.load() > max_bytes) {
        const std::size_t target = max_bytes / 100 * 95;
        std::vector<std::pair<std::int64_t, std::size_t>> closed;  // (maxt, bytes) of every closed chunk
        for (const auto& s : all) {
            std::lock_guard lock(s->mu);
            for (const auto& c : s->chunks) closed.emplace_back(c.maxt, c.bytes.size());
        }
        std::sort(closed.begin(), closed.end());
        std::size_t held = bytes_.load();
        std::int64_t cutoff = kMinTime;
        bool any = false;
        for (const auto& [maxt, bytes] : closed) {
            if (held <= target) break;
            held -= std::min(held, bytes);
            cutoff = maxt;
            any = true;
        }
        if (any) {
            for (const auto& s : all) {
                std::lock_guard lock(s->mu);
                const std::size_t before = result.max_bytes.samples;
                drop_front(*s, [&](const StoredChunk& c) { return c.maxt <= cutoff; }, result.max_bytes);
                samples_.fetch_sub(result.max_bytes.samples - before, std::memory_order_relaxed);
            }
        }
    }

    if (!emptied.empty()) {
        std::unique_lock index(index_mu_);
        for (const auto& s : emptied) {
            std::lock_guard lock(s->mu);
            if (s->removed || s->holds_samples()) continue;  // appended to meanwhile
            s->removed = true;
            forget(s);
            ++result.retention.series;
        }
    }
    return result;
}

HeadStats Head::stats() const {
    HeadStats stats;
    std::vector<SeriesRef> all;
    {
        std::shared_lock lock(index_mu_);
        stats.series = by_key_.size();
        all.reserve(by_id_.size());
        for (const auto& [id, s] : by_id_) all.push_back(s);
    }
    for (const auto& s : all) {
        std::lock_guard lock(s->mu);
        if (s->holds_samples()) stats.oldest_ms = std::min(stats.oldest_ms, s->oldest());
    }
    stats.samples = samples_.load(std::memory_order_relaxed);
    stats.bytes = bytes_.load(std::memory_order_relaxed);
    stats.chunk_bytes = stats.bytes - std::min(stats.bytes, overhead_bytes_.load(std::memory_order_relaxed));
    return stats;
}

void Head::for_each_series(const std::function<void(const SeriesData&)>& fn) const {
    std::vector<SeriesRef> all;
    {
        std::shared_lock lock(index_mu_);
        all.reserve(by_id_.size());
        for (const auto& [id, s] : by_id_) all.push_back(s);
    }
    std::sort(all.begin(), all.end(), [](const SeriesRef& a, const SeriesRef& b) { return a->id < b->id; });
    SeriesData data;
    for (const auto& s : all) {
        data.labels = s->labels;
        data.chunks.clear();
        {
            std::lock_guard lock(s->mu);
            if (s->removed || !s->holds_samples()) continue;
            data.chunks = s->chunks;
            if (s->open.count() > 0)
                data.chunks.push_back(StoredChunk{.mint = s->open_mint,
                                                  .maxt = s->last_t,
                                                  .count = static_cast<std::uint32_t>(s->open.count()),
                                                  .bytes = s->open.bytes()});
        }
        fn(data);
    }
}

std::optional<std::size_t> Head::restore(SeriesData data) {
    // The labels: sorted, unique, valid names, non-empty values, a __name__.
    std::string_view name;
    metrics::Labels rest;
    for (std::size_t i = 0; i < data.labels.size(); ++i) {
        const auto& [n, v] = data.labels[i];
        if (!metrics::is_label_name(n) || v.empty()) return std::nullopt;
        if (i > 0 && !(data.labels[i - 1].first < n)) return std::nullopt;
        if (n == kNameLabel) name = v;
        else rest.push_back(data.labels[i]);
    }
    if (name.empty()) return std::nullopt;
    // The chunks: each decodes to the count and span it claims, all strictly ascending.
    std::vector<std::vector<Sample>> decoded(data.chunks.size());
    std::int64_t previous = kMinTime;
    bool first = true;
    for (std::size_t i = 0; i < data.chunks.size(); ++i) {
        const auto& c = data.chunks[i];
        if (c.count == 0 || c.count > kSamplesPerChunk) return std::nullopt;
        if (!decode_chunk(c.bytes, c.count, decoded[i])) return std::nullopt;
        const auto& samples = decoded[i];
        if (samples.front().t != c.mint || samples.back().t != c.maxt) return std::nullopt;
        for (const auto& s : samples) {
            if (!first && s.t <= previous) return std::nullopt;
            previous = s.t;
            first = false;
        }
    }
    if (data.chunks.empty()) return std::size_t{0};
    auto s = series(name, rest);
    std::shared_lock index(index_mu_);
    std::lock_guard lock(s->mu);
    if (s->removed) return std::size_t{0};
    std::size_t added = 0;
    Counters counters{samples_, bytes_};
    for (std::size_t i = 0; i < data.chunks.size(); ++i) {
        auto& c = data.chunks[i];
        // A whole chunk after everything the series holds is kept as it is; any other
        // (overlapping what is there, or the last one, still open when written) is
        // appended sample by sample, so the open chunk fills up as before the restart.
        const bool whole = c.count == kSamplesPerChunk && s->open.count() == 0 &&
                           (!s->has_samples || c.mint > s->last_t);
        if (whole) {
            bytes_.fetch_add(c.bytes.size(), std::memory_order_relaxed);
            samples_.fetch_add(c.count, std::memory_order_relaxed);
            s->last_t = c.maxt;
            s->last_bits = std::bit_cast<std::uint64_t>(decoded[i].back().v);
            s->has_samples = true;
            c.bytes.shrink_to_fit();
            s->chunks.push_back(std::move(c));
            added += kSamplesPerChunk;
            continue;
        }
        for (const auto& sample : decoded[i])
            if (append_locked(*s, sample.t, sample.v, counters) == Appended::ok) ++added;
    }
    return added;
}

}  // namespace cargomon::tsdb
