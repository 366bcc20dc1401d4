#include "collectors/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "collectors/run_once.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/timefmt.h"
#include "metrics/self_metrics.h"

namespace cargomon::collectors {

namespace {

using std::chrono::duration_cast;

// Reasons counted from the first scrape on, so increase() sees the first error.
constexpr const char* kKnownReasons[] = {"network", "authorization", "request", "server",   "parse",
                                         "timeout", "mapping",       "series_limit", "too_large"};

// First runs after a start or reload spread over this much (or the interval if shorter).
constexpr Millis kFirstRunSpread{10'000};

// A stable spread of first runs: the same name starts at the same offset after every
// restart or reload, like Prometheus' scrape offsets.
std::uint64_t spread_hash(std::string_view name, std::uint64_t seed) {
    std::uint64_t h = 1469598103934665603ULL ^ seed;
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

}  // namespace

struct Scheduler::Slot {
    std::unique_ptr<Collector> collector;
    config::Schedule schedule;
    SteadyTime next_due{};
    bool busy = false;       // queued or running
    bool running = false;    // inside collect() or publishing its result
    bool finishing = false;  // collect() returned in time; its snapshot is being published
    bool abandoned = false;  // the run in progress passed its deadline and already counted as failed
    SteadyTime deadline{};
    std::optional<SystemTime> last_run_start;
    double last_duration = 0;
    std::string last_error;
    bool up = false;
    std::optional<SystemTime> published_at;  // collection time of this collector's snapshot in the store
    prometheus::Gauge* up_gauge = nullptr;
    prometheus::Gauge* last_success_gauge = nullptr;
    prometheus::Gauge* duration_gauge = nullptr;
    prometheus::Counter* skipped = nullptr;
    std::set<std::string> error_reasons;  // label values of its cargomon_collector_errors_total
};

Scheduler::Scheduler(std::vector<ScheduledCollector> collectors, metrics::MetricStore& store,
                     prometheus::Registry& registry, const Clock& clock, SchedulerOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      up_(metrics::gauge_family(registry, "cargomon_collector_up",
                                "1 if the collector's last run succeeded, 0 if it failed or has not run yet")),
      last_success_(metrics::gauge_family(registry, "cargomon_collector_last_success_timestamp_seconds",
                                          "Start time of the collector's last successful run, in Unix seconds")),
      duration_(metrics::gauge_family(registry, "cargomon_collector_duration_seconds",
                                      "Duration of the collector's last run, in seconds")),
      errors_(metrics::counter_family(registry, "cargomon_collector_errors_total", "Failed collector runs by reason")),
      skipped_(metrics::counter_family(registry, "cargomon_collector_skipped_total",
                                       "Runs skipped because the collector's previous run was still going")),
      random_(options.seed) {
    if (options_.workers == 0) throw std::invalid_argument("scheduler needs at least one worker");
    for (auto& c : collectors) {
        if (!c.collector) throw std::invalid_argument("scheduler given an empty collector");
        if (c.schedule.interval <= Millis::zero())
            throw std::invalid_argument("collector " + c.collector->name() + ": interval must be positive");
        auto slot = std::make_unique<Slot>();
        const prometheus::Labels labels{{"collector", c.collector->name()}};
        slot->up_gauge = &up_.Add(labels);
        slot->last_success_gauge = &last_success_.Add(labels);
        slot->duration_gauge = &duration_.Add(labels);
        slot->skipped = &skipped_.Add(labels);
        for (const char* reason : kKnownReasons) {
            errors_.Add({{"collector", c.collector->name()}, {"reason", reason}});
            slot->error_reasons.insert(reason);
        }
        slot->up_gauge->Set(0);
        slot->collector = std::move(c.collector);
        slot->schedule = c.schedule;
        slots_.push_back(std::move(slot));
    }
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
    const auto now = clock_.monotonic();
    for (auto& slot : slots_) {
        // Discovery first: the other collectors cover the workflows it finds. The others
        // spread over the first seconds, not over their whole interval: a 15-minute
        // collector would leave its series absent (and hold back rule evaluation, which
        // waits for every collector's first run) for up to 15 minutes after a start.
        Millis offset{0};
        if (slot->collector->kind() != "discovery")
            offset = Millis(spread_hash(slot->collector->name(), options_.seed) %
                            static_cast<std::uint64_t>(std::min(slot->schedule.interval, kFirstRunSpread).count()));
        slot->next_due = now + offset;
    }
    for (std::size_t i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { work_loop(); });
    if (options_.dispatch_thread) threads_.emplace_back([this] { dispatch_loop(); });
}

void Scheduler::stop() {
    {
        std::lock_guard lock(mu_);
        if (!started_ || stopping_) return;
        stopping_ = true;
        for (auto i : queue_) slots_[i]->busy = false;
        queue_.clear();
    }
    stop_source_.request_stop();
    wake_.notify_all();
    work_.notify_all();
    idle_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

void Scheduler::run_due() {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    const auto now = clock_.monotonic();
    const auto wall = clock_.now();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& slot = *slots_[i];
        if (slot.running && !slot.finishing && !slot.abandoned && now > slot.deadline) {
            // The thread stays busy until collect() returns (its API calls honour the
            // deadline); the run counts as failed now so /metrics shows it at once.
            slot.abandoned = true;
            fail(slot, "timeout", timeout_message(slot.schedule.timeout));
        }
        if (now >= slot.next_due) {
            if (slot.busy) {
                slot.skipped->Increment();
                spdlog::warn("collector {}: previous run still going, skipping this one", slot.collector->name());
            } else {
                slot.busy = true;
                queue_.push_back(i);
                work_.notify_one();
            }
            slot.next_due += jittered(slot.schedule);
            if (slot.next_due <= now) slot.next_due = now + jittered(slot.schedule);  // fell behind: no burst
        }
        if (slot.published_at && !slot.up && !slot.finishing &&
            wall - *slot.published_at > slot.schedule.max_staleness) {
            store_.remove(slot.collector->name());
            slot.published_at.reset();
            spdlog::warn("collector {}: last good snapshot older than {}, series removed", slot.collector->name(),
                         format_duration(slot.schedule.max_staleness));
        }
    }
}

void Scheduler::wait_idle() {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] {
        return stopping_ || std::none_of(slots_.begin(), slots_.end(), [](auto& s) { return s->busy; });
    });
}

Millis Scheduler::jittered(const config::Schedule& schedule) {
    std::uniform_real_distribution<double> spread(-schedule.jitter, schedule.jitter);
    const double factor = schedule.jitter > 0 ? 1 + spread(random_) : 1;
    return std::max(Millis{1}, Millis(static_cast<Millis::rep>(static_cast<double>(schedule.interval.count()) * factor)));
}

SteadyTime Scheduler::next_wake() const {
    auto wake = SteadyTime::max();
    for (auto& slot : slots_) {
        wake = std::min(wake, slot->next_due);
        if (slot->running && !slot->abandoned) wake = std::min(wake, slot->deadline);
    }
    return wake;
}

void Scheduler::dispatch_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        lock.unlock();
        run_due();
        lock.lock();
        if (stopping_) break;
        // Bounded so a clock that jumps (or a fake one) is noticed, and staleness checked.
        const auto until_wake = next_wake() - clock_.monotonic();
        const auto wait = std::clamp<SteadyTime::duration>(until_wake, Millis{1}, options_.max_wait);
        wake_.wait_for(lock, wait, [&] { return stopping_; });
    }
}

void Scheduler::work_loop() {
    for (;;) {
        std::size_t index;
        {
            std::unique_lock lock(mu_);
            work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            index = queue_.front();
            queue_.pop_front();
        }
        run(index);
    }
}

void Scheduler::run(std::size_t index) {
    Slot& slot = *slots_[index];
    RunStart start;
    {
        std::lock_guard lock(mu_);
        start = start_run(clock_, slot.schedule.timeout, stop_source_.get_token());
        slot.running = true;
        slot.deadline = start.context.deadline;
        slot.last_run_start = start.started_wall;
    }
    const RunOutcome outcome = run_once(*slot.collector, start, store_, clock_, [&](bool succeeded) {
        std::lock_guard lock(mu_);
        slot.last_duration = duration_cast<std::chrono::duration<double>>(clock_.monotonic() - start.started).count();
        slot.duration_gauge->Set(slot.last_duration);
        // Already counted as a timeout, or cut short by stop(): nothing to report.
        if (slot.abandoned || stopping_) return false;
        slot.finishing = succeeded;
        return true;
    });

    std::lock_guard lock(mu_);
    if (outcome.status == RunOutcome::Status::failed) {
        fail(slot, outcome.reason, outcome.message);
    } else if (outcome.status == RunOutcome::Status::published) {
        slot.up = true;
        slot.last_error.clear();
        slot.published_at = start.started_wall;
        slot.up_gauge->Set(1);
        slot.last_success_gauge->Set(unix_seconds(start.started_wall));
    }
    slot.busy = slot.running = slot.finishing = slot.abandoned = false;
    idle_.notify_all();
}

void Scheduler::fail(Slot& slot, const std::string& reason, const std::string& message) {
    slot.up = false;
    slot.up_gauge->Set(0);
    slot.last_error = message;
    errors_.Add({{"collector", slot.collector->name()}, {"reason", reason}}).Increment();
    slot.error_reasons.insert(reason);
    spdlog::warn("collector {} failed ({}): {}", slot.collector->name(), reason, message);
}

void Scheduler::remove_self_metrics(const std::string& collector) {
    std::lock_guard lock(mu_);
    for (auto& slot : slots_) {
        if (slot->collector->name() != collector) continue;
        up_.Remove(slot->up_gauge);
        last_success_.Remove(slot->last_success_gauge);
        duration_.Remove(slot->duration_gauge);
        skipped_.Remove(slot->skipped);
        for (const auto& reason : slot->error_reasons)
            errors_.Remove(&errors_.Add({{"collector", collector}, {"reason", reason}}));
    }
}

std::vector<CollectorStatus> Scheduler::status() const {
    std::lock_guard lock(mu_);
    const auto now = clock_.monotonic();
    const auto wall = clock_.now();
    std::vector<CollectorStatus> out;
    for (auto& slot : slots_) {
        CollectorStatus s;
        s.name = slot->collector->name();
        s.kind = std::string(slot->collector->kind());
        s.up = slot->up;
        s.running = slot->running;
        s.last_run_start = slot->last_run_start;
        s.last_duration_seconds = slot->last_duration;
        s.last_error = slot->last_error;
        s.next_run = wall + duration_cast<SystemTime::duration>(std::max(slot->next_due - now, SteadyTime::duration{}));
        s.series = store_.series_count(s.name);
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace cargomon::collectors
