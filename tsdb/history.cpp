#include "tsdb/history.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "metrics/metric_store.h"
#include "metrics/self_metrics.h"
#include "tsdb/checkpoint.h"

namespace cargomon::tsdb {
namespace {

// No collector can be named this (config names are UTF-8).
const std::string kSelfSource = "\xff" "self";

std::int64_t unix_ms(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

bool by_address(const SeriesRef& a, const SeriesRef& b) { return a.get() < b.get(); }

}  // namespace

std::chrono::milliseconds derived_retention(std::chrono::milliseconds longest_range_and_offset,
                                            std::chrono::milliseconds longest_interval) {
    return longest_range_and_offset + kLookbackDelta + 2 * longest_interval;
}

History::History(HistoryOptions options, prometheus::Registry& registry, const Clock& clock, SelfMetrics self_metrics)
    : options_(std::move(options)),
      clock_(clock),
      self_metrics_(std::move(self_metrics)),
      rules_retention_ms_(derived_retention(std::chrono::milliseconds{0}, std::chrono::minutes{1}).count()),
      series_(metrics::gauge_family(registry, "cargomon_history_series", "Series in the sample history.").Add({})),
      samples_(metrics::gauge_family(registry, "cargomon_history_samples", "Samples in the sample history.").Add({})),
      bytes_(metrics::gauge_family(registry, "cargomon_history_bytes",
                                   "Bytes the sample history holds: its compressed chunks and an estimate of its "
                                   "series' labels and index (what --storage.history.max-bytes bounds).")
                 .Add({})),
      chunk_bytes_(metrics::gauge_family(registry, "cargomon_history_chunk_bytes",
                                         "Bytes of the sample history's compressed samples alone (part of "
                                         "cargomon_history_bytes).")
                       .Add({})),
      oldest_(metrics::gauge_family(registry, "cargomon_history_oldest_sample_timestamp_seconds",
                                    "Time of the oldest sample in the sample history (0 when empty).")
                  .Add({})),
      retention_(metrics::gauge_family(registry, "cargomon_history_retention_seconds",
                                       "How long the sample history keeps samples (set, or derived from the rules).")
                     .Add({})),
      dropped_out_of_order_(metrics::counter_family(registry, "cargomon_history_dropped_samples_total",
                                                    "Samples the sample history refused or dropped, by reason.")
                                .Add({{"reason", "out_of_order"}})),
      dropped_duplicate_(metrics::counter_family(registry, "cargomon_history_dropped_samples_total",
                                                 "Samples the sample history refused or dropped, by reason.")
                             .Add({{"reason", "duplicate"}})),
      dropped_max_bytes_(metrics::counter_family(registry, "cargomon_history_dropped_samples_total",
                                                 "Samples the sample history refused or dropped, by reason.")
                             .Add({{"reason", "max_bytes"}})),
      checkpoint_success_(metrics::gauge_family(registry, "cargomon_history_checkpoint_last_success_timestamp_seconds",
                                                "Time the last history checkpoint was written (0: none yet).")
                              .Add({})),
      checkpoint_duration_(metrics::gauge_family(registry, "cargomon_history_checkpoint_duration_seconds",
                                                 "How long writing the last history checkpoint took.")
                               .Add({})),
      checkpoint_failures_(metrics::counter_family(registry, "cargomon_history_checkpoint_failures_total",
                                                   "History checkpoints that could not be written (the log says why).")
                               .Add({})),
      checkpoint_corruptions_(metrics::counter_family(registry, "cargomon_history_checkpoint_corruptions_total",
                                                      "History checkpoints found damaged at start and moved aside.")
                                  .Add({})) {
    retention_.Set(seconds(retention()));
}

History::~History() {
    if (thread_.joinable()) {
        thread_.request_stop();
        wake_.notify_all();
        thread_.join();
    }
}

void History::set_rules_retention(std::chrono::milliseconds retention) {
    rules_retention_ms_ = retention.count();
    retention_.Set(seconds(this->retention()));
}

std::chrono::milliseconds History::retention() const {
    return options_.retention ? *options_.retention : std::chrono::milliseconds{rules_retention_ms_.load()};
}

void History::count(Head::Appended appended) {
    if (appended == Head::Appended::out_of_order) dropped_out_of_order_.Increment();
    else if (appended == Head::Appended::duplicate) dropped_duplicate_.Increment();
}

void History::append_source(const std::string& source, std::int64_t t_ms,
                            const std::function<void(const Emit&)>& each) {
    std::vector<SeriesRef> now;
    each([&](std::string_view name, const metrics::Labels& labels, double v) {
        auto series = head_.series(name, labels);
        count(head_.append(series, t_ms, v));
        now.push_back(std::move(series));
    });
    std::sort(now.begin(), now.end(), by_address);
    std::vector<SeriesRef> gone;
    {
        std::lock_guard lock(sources_mu_);
        auto& last = sources_[source];  // kept sorted by address
        std::set_difference(last.begin(), last.end(), now.begin(), now.end(), std::back_inserter(gone), by_address);
        last = std::move(now);
    }
    // A marker at or before the series' last sample is refused, not counted: the series
    // came back at that very time (another source) or nothing is to be marked.
    for (const auto& series : gone) head_.append(series, t_ms, metrics::stale_nan());
}

void History::published(const metrics::CollectorSnapshot& published) {
    append_source(published.collector, unix_ms(published.collected_at), [&](const Emit& emit) {
        std::string name;
        for (const auto& family : published.snapshot.families)
            for (const auto& sample : family.samples) {
                if (sample.part == metrics::SamplePart::value) {
                    emit(family.name, sample.labels, sample.value);
                    continue;
                }
                name = family.name;
                name += metrics::part_suffix(sample.part);
                emit(name, sample.labels, sample.value);
            }
    });
}

void History::removed(const std::string& collector) {
    std::vector<SeriesRef> gone;
    {
        std::lock_guard lock(sources_mu_);
        auto it = sources_.find(collector);
        if (it == sources_.end()) return;
        gone = std::move(it->second);
        sources_.erase(it);
    }
    const std::int64_t t = unix_ms(clock_.now());
    for (const auto& series : gone) head_.append(series, t, metrics::stale_nan());
}

void History::append_self_metrics() {
    if (!self_metrics_) return;
    const auto families = self_metrics_();
    append_source(kSelfSource, unix_ms(clock_.now()), [&](const Emit& emit) {
        metrics::for_each_client_sample(families, [&](const std::string& name, const metrics::Labels& labels, double v) {
            if (name.starts_with("cargomon_")) emit(name, labels, v);
        });
    });
}

void History::maintain() {
    const std::int64_t mint = unix_ms(clock_.now()) - retention().count();
    const auto truncated = head_.truncate(mint, options_.max_bytes);
    if (truncated.max_bytes.samples > 0) {
        dropped_max_bytes_.Increment(static_cast<double>(truncated.max_bytes.samples));
        spdlog::warn("history: over --storage.history.max-bytes={}: dropped the {} oldest samples", options_.max_bytes,
                     truncated.max_bytes.samples);
    }
    const auto stats = head_.stats();
    series_.Set(static_cast<double>(stats.series));
    samples_.Set(static_cast<double>(stats.samples));
    bytes_.Set(static_cast<double>(stats.bytes));
    chunk_bytes_.Set(static_cast<double>(stats.chunk_bytes));
    oldest_.Set(stats.oldest_ms == kMaxTime ? 0 : static_cast<double>(stats.oldest_ms) / 1000);
    retention_.Set(seconds(retention()));
}

bool History::checkpoint() {
    if (options_.checkpoint_path.empty()) return true;
    const auto started = std::chrono::steady_clock::now();
    try {
        const auto written = write_checkpoint(head_, options_.checkpoint_path);
        const auto took = std::chrono::steady_clock::now() - started;
        checkpoint_duration_.Set(seconds(took));
        checkpoint_success_.Set(seconds(clock_.now().time_since_epoch()));
        spdlog::debug("history: checkpoint {} written: {} series, {} samples, {} bytes in {:.3f}s",
                      options_.checkpoint_path.string(), written.series, written.samples, written.bytes, seconds(took));
        return true;
    } catch (const std::exception& e) {
        checkpoint_failures_.Increment();
        spdlog::error("history: cannot write checkpoint: {}", e.what());
        return false;
    }
}

void History::load() {
    const auto& path = options_.checkpoint_path;
    std::error_code ec;
    if (path.empty() || !std::filesystem::exists(path, ec)) {
        if (!path.empty()) spdlog::info("history: no checkpoint at {}: starting empty", path.string());
        return;
    }
    const auto started = std::chrono::steady_clock::now();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        spdlog::error("history: cannot open checkpoint {}: starting empty (it is left where it is)", path.string());
        return;
    }
    const auto loaded = load_checkpoint(in, head_, options_.max_bytes);
    in.close();
    if (loaded.error) {
        checkpoint_corruptions_.Increment();
        const auto aside = path.string() + ".corrupt-" +
                           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                              clock_.now().time_since_epoch()).count());
        std::filesystem::rename(path, aside, ec);
        if (ec)
            spdlog::error("history: checkpoint {} is damaged ({}), and cannot be moved aside to {}: {}; kept the {} "
                          "series read before the damage",
                          path.string(), *loaded.error, aside, ec.message(), loaded.series);
        else
            spdlog::error("history: checkpoint {} is damaged ({}): moved aside to {}; kept the {} series read before "
                          "the damage",
                          path.string(), *loaded.error, aside, loaded.series);
    } else if (loaded.stopped_at_cap) {
        spdlog::warn("history: checkpoint {} holds more than --storage.history.max-bytes={}: read its first {} series",
                     path.string(), options_.max_bytes, loaded.series);
    }
    maintain();
    spdlog::info("history: loaded {} series, {} samples from {} in {:.3f}s", loaded.series, loaded.samples,
                 path.string(), seconds(std::chrono::steady_clock::now() - started));
}

void History::loop(std::stop_token stop) {
    auto next_self = clock_.monotonic();
    auto next_checkpoint = clock_.monotonic() + options_.checkpoint_interval;
    while (!stop.stop_requested()) {
        auto now = clock_.monotonic();
        if (now >= next_self) {
            append_self_metrics();
            maintain();
            next_self = std::max(next_self + options_.self_metrics_interval, now);
        }
        if (!options_.checkpoint_path.empty() && now >= next_checkpoint) {
            checkpoint();
            next_checkpoint = clock_.monotonic() + options_.checkpoint_interval;
        }
        const auto next = options_.checkpoint_path.empty() ? next_self : std::min(next_self, next_checkpoint);
        std::unique_lock lock(wake_mu_);
        wake_.wait_for(lock, stop, std::max(next - clock_.monotonic(), std::chrono::steady_clock::duration{0}),
                       [] { return false; });
    }
}

void History::start() {
    thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void History::stop() {
    if (thread_.joinable()) {
        thread_.request_stop();
        wake_.notify_all();
        thread_.join();
    }
    checkpoint();
}

}  // namespace cargomon::tsdb
