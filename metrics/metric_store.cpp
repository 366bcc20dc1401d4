#include "metrics/metric_store.h"

#include <algorithm>
#include <stdexcept>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

#include "metrics/text_format.h"
#include "metrics/labels.h"
#include "metrics/names.h"

namespace cargomon::metrics {

std::string_view part_suffix(SamplePart part) {
    switch (part) {
        case SamplePart::value: return "";
        case SamplePart::sum: return "_sum";
        case SamplePart::count: return "_count";
    }
    return "";
}

std::string series_key(const Labels& labels) {
    std::string key;
    for (const auto& [name, value] : labels) {
        key += name;
        key += '\xff';
        key += value;
        key += '\xff';
    }
    return key;
}

namespace {

[[noreturn]] void reject(const std::string& collector, std::string_view family, const std::string& why) {
    throw std::invalid_argument("collector \"" + collector + "\", metric \"" + std::string(family) + "\": " + why);
}

// A series of a family is its labels and, in a summary, its part.
struct SeriesHash {
    std::size_t operator()(const Sample* sample) const {
        std::size_t h = sample->labels.size() * 3 + static_cast<std::size_t>(sample->part);
        for (const auto& [name, value] : sample->labels)
            for (const auto& text : {std::string_view(name), std::string_view(value)})
                h ^= std::hash<std::string_view>{}(text) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        return h;
    }
};
struct SeriesEqual {
    bool operator()(const Sample* a, const Sample* b) const { return a->part == b->part && a->labels == b->labels; }
};

std::string part_key(const Sample& sample) {
    return series_key(sample.labels) + std::string(part_suffix(sample.part));
}

void normalize_family(const std::string& collector, Family& family) {
    if (!is_valid_metric_name(family.name)) reject(collector, family.name, "invalid metric name");
    if (family.type == MetricType::counter && !family.name.ends_with("_total"))
        reject(collector, family.name, "counter names must end in _total");
    if (!is_valid_utf8(family.help)) reject(collector, family.name, "help is not valid UTF-8");
    for (auto& sample : family.samples) {
        std::sort(sample.labels.begin(), sample.labels.end());
        for (std::size_t i = 0; i < sample.labels.size(); ++i) {
            const auto& [name, value] = sample.labels[i];
            if (!is_valid_label_name(name)) reject(collector, family.name, "invalid label name \"" + name + "\"");
            if (i > 0 && sample.labels[i - 1].first == name)
                reject(collector, family.name, "label \"" + name + "\" given twice");
            if (!is_valid_utf8(value))
                reject(collector, family.name, "value of label \"" + name + "\" is not valid UTF-8");
        }
        if (family.type == MetricType::counter && sample.value < 0)
            reject(collector, family.name, "counter value below zero");
        if (family.type == MetricType::summary) {
            const bool quantile = find_label(sample.labels, "quantile") != nullptr;
            if (quantile != (sample.part == SamplePart::value))
                reject(collector, family.name,
                       "a summary's quantile samples, and only they, carry the label \"quantile\"");
            if (sample.part == SamplePart::count && !(sample.value >= 0))
                reject(collector, family.name, "summary count below zero");
        } else if (sample.part != SamplePart::value) {
            reject(collector, family.name, "_sum and _count samples belong to a summary");
        }
    }
    // A set of pointers hashed by the labels they point at, not of series_key strings:
    // at 100,000 series those keys were ~20 MB of short-lived allocations every cycle,
    // spread over the heap between the snapshot's own (issue 11: flat memory).
    std::unordered_set<const Sample*, SeriesHash, SeriesEqual> seen;
    seen.reserve(family.samples.size());
    for (const auto& sample : family.samples)
        if (!seen.insert(&sample).second)
            reject(collector, family.name,
                   "duplicate series " + std::string(part_suffix(sample.part)) + labels_text(sample.labels));
}

// Checks what only the whole store can tell: a name another collector also publishes must
// have the same type and must not repeat any of that collector's series.
void check_against_others(const std::string& collector, const Snapshot& snapshot, const StoreView& current) {
    for (const auto& family : snapshot.families) {
        auto merged = std::lower_bound(current.families.begin(), current.families.end(), family.name,
                                       [](const MergedFamily& m, const std::string& name) { return m.name < name; });
        if (merged == current.families.end() || merged->name != family.name) continue;
        std::unordered_set<std::string> others;
        for (const auto& part : merged->parts) {
            if (part.collector == collector) continue;
            if (part.family->type != family.type)
                reject(collector, family.name,
                       "collector \"" + std::string(part.collector) + "\" publishes it with another type");
            for (const auto& sample : part.family->samples) others.insert(part_key(sample));
        }
        for (const auto& sample : family.samples)
            if (others.contains(part_key(sample)))
                reject(collector, family.name, "series " + labels_text(sample.labels) + " is published by another collector");
    }
}

// A summary's samples as prometheus-cpp metrics, one per label set without `quantile`.
void collect_summary(const Family& summary, prometheus::MetricFamily& out) {
    std::unordered_map<std::string, std::size_t> index;
    for (const auto& sample : summary.samples) {
        Labels labels = sample.labels;
        std::string quantile;
        std::erase_if(labels, [&](const auto& label) {
            if (label.first != "quantile") return false;
            quantile = label.second;
            return true;
        });
        auto [it, added] = index.emplace(series_key(labels), out.metric.size());
        if (added) {
            auto& metric = out.metric.emplace_back();
            for (const auto& [name, value] : labels) metric.label.push_back({name, value});
        }
        auto& metric = out.metric[it->second];
        switch (sample.part) {
            case SamplePart::value: metric.summary.quantile.push_back({std::strtod(quantile.c_str(), nullptr), sample.value}); break;
            case SamplePart::sum: metric.summary.sample_sum = sample.value; break;
            case SamplePart::count: metric.summary.sample_count = static_cast<std::uint64_t>(sample.value); break;
        }
    }
}

std::size_t count_series(const Snapshot& snapshot) {
    std::size_t n = 0;
    for (const auto& family : snapshot.families) n += family.samples.size();
    return n;
}

}  // namespace

MetricStore::MetricStore() : current_(std::make_shared<const StoreView>()) {}

void MetricStore::publish(const std::string& collector, Snapshot snapshot, SystemTime collected_at) {
    if (collector.empty()) throw std::invalid_argument("collector name is empty");
    std::unordered_set<std::string_view> names;
    for (auto& family : snapshot.families) {
        normalize_family(collector, family);
        if (!names.insert(family.name).second) reject(collector, family.name, "family given twice");
    }
    auto published = std::make_shared<CollectorSnapshot>();
    published->collector = collector;
    published->collected_at = collected_at;
    published->series = count_series(snapshot);
    for (const auto& family : snapshot.families) published->sample_text.push_back(render_samples(family));
    published->snapshot = std::move(snapshot);

    std::lock_guard lock(writers_);
    auto current = view();
    check_against_others(collector, published->snapshot, *current);
    Collectors next;
    for (const auto& entry : current->collectors)
        if (entry->collector != collector) next.push_back(entry);
    const CollectorSnapshot& added = *published;
    next.push_back(std::move(published));
    install(std::move(next));
    if (observer_) observer_->published(added);
}

void MetricStore::remove(const std::string& collector) {
    std::lock_guard lock(writers_);
    Collectors next;
    bool gone = false;
    for (const auto& entry : view()->collectors) {
        if (entry->collector != collector) next.push_back(entry);
        else gone = true;
    }
    install(std::move(next));
    if (gone && observer_) observer_->removed(collector);
}

void MetricStore::expire_older_than(SystemTime cutoff) {
    std::lock_guard lock(writers_);
    Collectors next;
    std::vector<std::string> gone;
    for (const auto& entry : view()->collectors) {
        if (entry->collected_at >= cutoff) next.push_back(entry);
        else gone.push_back(entry->collector);
    }
    install(std::move(next));
    if (observer_)
        for (const auto& collector : gone) observer_->removed(collector);
}

void MetricStore::set_observer(StoreObserver* observer) {
    std::lock_guard lock(writers_);
    observer_ = observer;
}

void MetricStore::install(Collectors collectors) {
    std::sort(collectors.begin(), collectors.end(),
              [](const auto& a, const auto& b) { return a->collector < b->collector; });
    auto next = std::make_shared<StoreView>();
    std::vector<std::pair<std::string_view, MergedFamily::Part>> parts;
    for (const auto& entry : collectors) {
        next->series += entry->series;
        const auto& families = entry->snapshot.families;
        for (std::size_t i = 0; i < families.size(); ++i)
            parts.emplace_back(families[i].name,
                               MergedFamily::Part{entry->collector, &families[i], &entry->sample_text[i]});
    }
    // Stable: within one name, parts stay in collector order.
    std::stable_sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [name, part] : parts) {
        if (next->families.empty() || next->families.back().name != name)
            next->families.push_back(MergedFamily{.name = name, .help = part.family->help, .type = part.family->type});
        next->families.back().parts.push_back(part);
    }
    next->collectors = std::move(collectors);
    std::lock_guard lock(current_mu_);
    current_ = std::move(next);
}

std::shared_ptr<const StoreView> MetricStore::view() const {
    std::lock_guard lock(current_mu_);
    return current_;
}

std::size_t MetricStore::series_count() const { return view()->series; }

std::size_t MetricStore::series_count(const std::string& collector) const {
    for (const auto& entry : view()->collectors)
        if (entry->collector == collector) return entry->series;
    return 0;
}

std::vector<prometheus::MetricFamily> MetricStore::Collect() const {
    auto current = view();
    std::vector<prometheus::MetricFamily> out;
    out.reserve(current->families.size());
    for (const auto& merged : current->families) {
        auto& family = out.emplace_back();
        family.name = merged.name;
        family.help = merged.help;
        if (merged.type == MetricType::summary) {
            family.type = prometheus::MetricType::Summary;
            for (const auto& part : merged.parts) collect_summary(*part.family, family);
            continue;
        }
        family.type = merged.type == MetricType::counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
        for (const auto& part : merged.parts) {
            for (const auto& sample : part.family->samples) {
                auto& metric = family.metric.emplace_back();
                for (const auto& [name, value] : sample.labels) metric.label.push_back({name, value});
                if (merged.type == MetricType::counter) metric.counter.value = sample.value;
                else metric.gauge.value = sample.value;
            }
        }
    }
    return out;
}

}  // namespace cargomon::metrics
