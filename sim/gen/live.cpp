#include "sim/gen/live.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <list>
#include <optional>
#include <stdexcept>

#include "sim/gen/rowbinary.h"
#include "sim/gen/run.h"

namespace cargomon::sim {
namespace {

using namespace std::chrono_literals;

constexpr auto kTick = 250ms;
constexpr auto kBatchUpdateEvery = 1s;
// Live runs play five times faster than history ones, so a watcher sees them end
// within seconds instead of minutes.
constexpr double kDurationScale = 0.2;
// New runs go to one of this many batches filling at once, like several plays firing.
constexpr std::size_t kFillingBatches = 2;

constexpr const char* kBatchError = "Segment sync failed: source query timed out";

struct OpenBatch {
    const Workspace* ws = nullptr;
    std::size_t ws_index = 0;
    const Workflow* wf = nullptr;
    char uuid[36];
    std::string data;
    SystemTime created;
    int runs_count = 0;
    int started = 0;
    int in_flight = 0;
    int cancel_at = 0;         // runs from this one on are cancelled
    int forced_failures = -1;  // failures still to hand out when the batch's share is set
    bool fails_to_start = false;
    bool stalled = false;  // a stuck batch: no run starts or ends any more, it never closes
    BatchTally tally;
    std::uint64_t version = 0;
    bool dirty = true;
    SystemTime last_written;

    bool filling() const { return !stalled && started < runs_count; }
    bool done() const { return !stalled && !filling() && in_flight == 0; }
};

struct InFlightRun {
    OpenBatch* batch = nullptr;
    RunIdentity id;
    RunPlan plan;
    SystemTime started, ends;
};

class World {
public:
    World(const ClickHouseClient& client, const std::vector<Workspace>& workspaces, Conditions& conditions,
          double runs_per_second, std::uint64_t seed)
        : client_(client),
          workspaces_(workspaces),
          conditions_(conditions),
          runs_per_second_(runs_per_second),
          rng_(seed) {
        for (std::size_t i = 0; i < workspaces.size(); ++i)
            blocks_.emplace_back(
                std::numeric_limits<std::size_t>::max(), [this, i](Table table, std::string data, std::size_t rows) {
                    pending_.push_back(
                        {workspaces_[i].database + "." + std::string(insert_table(table)), std::move(data), rows});
                });
    }

    void tick(SystemTime now, LiveStats& stats) {
        if (last_tick_) {
            const double dt = std::chrono::duration<double>(now - *last_tick_).count();
            budget_ = std::min(budget_ + runs_per_second_ * std::max(dt, 0.0), runs_per_second_ * 2 + 1);
        }
        last_tick_ = now;
        open_stuck_batches(now, stats);
        start_runs(now, stats);
        finish_runs(now, stats);
        update_batches(now, stats);
        insert(stats);
    }

private:
    struct PendingInsert {
        std::string table, data;
        std::size_t rows;
    };

    void start_runs(SystemTime now, LiveStats& stats) {
        while (budget_ >= 1) {
            OpenBatch* batch = pick_filling_batch();
            if (!batch) batch = open_batch(now, stats);
            if (!batch) {
                budget_ = 0;  // every workflow is silent or disabled
                return;
            }
            if (!batch->filling()) continue;  // failed to start: no runs at all
            start_run(*batch, now, stats);
            budget_ -= 1;
        }
    }

    OpenBatch* pick_filling_batch() {
        std::vector<OpenBatch*> filling;
        for (OpenBatch& b : batches_)
            if (b.filling()) filling.push_back(&b);
        if (filling.size() < kFillingBatches && rng_.chance(0.5)) return nullptr;
        if (filling.empty()) return nullptr;
        return filling[rng_.below(filling.size())];
    }

    OpenBatch* open_batch(SystemTime now, LiveStats& stats) {
        double total = 0;
        std::vector<std::pair<double, std::pair<std::size_t, const Workflow*>>> choices;
        for (std::size_t i = 0; i < workspaces_.size(); ++i)
            for (const Workflow& wf : workspaces_[i].workflows) {
                if (!wf.enabled || conditions_.effects(wf.uuid, now).silent) continue;
                total += wf.batches_per_day;
                choices.push_back({total, {i, &wf}});
            }
        if (choices.empty()) return nullptr;
        const double pick = rng_.uniform(0, total);
        auto it = std::find_if(choices.begin(), choices.end(), [&](const auto& c) { return pick < c.first; });
        if (it == choices.end()) --it;
        const auto [ws_index, wf] = it->second;

        OpenBatch& b = open_batch(ws_index, wf, now);
        // At most about five seconds of the whole rate, so batches keep closing.
        const int cap = std::clamp(static_cast<int>(runs_per_second_ * 5), 5, std::max(5, wf->max_batch_records));
        b.runs_count = batch_records(rng_, cap);
        b.cancel_at = b.runs_count;
        const double roll = rng_.uniform();
        if (roll < 0.005) {
            b.fails_to_start = true;
            b.runs_count = b.cancel_at = 0;
        } else if (roll < 0.01) {
            b.cancel_at = rng_.between(0, b.runs_count - 1);
        }
        if (auto fraction = conditions_.take_next_batch_failure(wf->uuid))
            b.forced_failures = static_cast<int>(std::lround(std::clamp(*fraction, 0.0, 1.0) * b.runs_count));
        ++stats.batches_started;
        return &b;
    }

    // A new open batch of `wf`, created at `created`, with nothing run yet.
    OpenBatch& open_batch(std::size_t ws_index, const Workflow* wf, SystemTime created) {
        OpenBatch& b = batches_.emplace_back();
        b.ws = &workspaces_[ws_index];
        b.ws_index = ws_index;
        b.wf = wf;
        rng_.uuid(b.uuid);
        b.data = batch_data(*wf, "", rng_);
        b.created = created;
        b.tally.last_finished = created;
        return b;
    }

    // Each asked for: a batch created `age` ago of which a quarter of the records ran,
    // spread over that age, and then nothing: it stays `running` for good.
    void open_stuck_batches(SystemTime now, LiveStats& stats) {
        for (const auto& [workflow, age] : conditions_.take_stuck_batches()) {
            std::size_t ws_index = 0;
            const Workflow* wf = nullptr;
            for (std::size_t i = 0; i < workspaces_.size() && !wf; ++i)
                for (const Workflow& w : workspaces_[i].workflows)
                    if (w.uuid == workflow || (workflow == "*" && w.enabled)) {
                        ws_index = i;
                        wf = &w;
                        break;
                    }
            if (!wf) continue;
            OpenBatch& b = open_batch(ws_index, wf, now - age);
            b.runs_count = b.cancel_at = 20;
            b.stalled = true;
            const RunEmit where{*b.ws, *b.wf, std::string_view(b.uuid, 36), b.wf->release_uuid};
            RunPlan plan;
            for (b.started = 0; b.started < b.runs_count / 4; ++b.started) {
                RunIdentity id;
                id.draw(rng_);
                plan_run(wf->nodes, rng_, RunKnobs{.force = RunForce::succeed}, plan);
                const SystemTime started = b.created + age * b.started / b.runs_count;
                stats.spans_written += emit_run(where, id, plan, started, blocks_[ws_index]);
                b.tally.add(plan, started);
                ++stats.runs_finished;
            }
            ++stats.batches_started;
        }
    }

    void start_run(OpenBatch& b, SystemTime now, LiveStats& stats) {
        const RunEmit where{*b.ws, *b.wf, std::string_view(b.uuid, 36), b.wf->release_uuid};
        if (b.started >= b.cancel_at) {  // the user cancelled: every record left goes at once
            for (; b.started < b.runs_count; ++b.started) {
                RunIdentity id;
                id.draw(rng_);
                emit_cancelled_run(where, id, now, blocks_[b.ws_index]);
                b.tally.add_cancelled(now);
                ++stats.runs_finished;
            }
            b.dirty = true;
            return;
        }
        const WorkflowEffects effects = conditions_.effects(b.wf->uuid, now);
        RunKnobs knobs{.credit_factor = effects.credit_factor, .duration_scale = kDurationScale};
        if (b.forced_failures >= 0) {
            // Exactly the asked share fails: each run fails with (failures left / runs left).
            const bool fail = static_cast<int>(rng_.below(b.runs_count - b.started)) < b.forced_failures;
            b.forced_failures -= fail ? 1 : 0;
            knobs.force = fail ? RunForce::fail : RunForce::succeed;
        } else if (effects.error_rate) {
            knobs.force = rng_.chance(*effects.error_rate) ? RunForce::fail : RunForce::succeed;
        }
        InFlightRun& run = runs_.emplace_back();
        run.batch = &b;
        run.id.draw(rng_);
        plan_run(b.wf->nodes, rng_, knobs, run.plan);
        run.started = now;
        run.ends = now + run.plan.duration;
        ++b.started;
        ++b.in_flight;
    }

    void finish_runs(SystemTime now, LiveStats& stats) {
        for (auto it = runs_.begin(); it != runs_.end();) {
            if (it->ends > now) {
                ++it;
                continue;
            }
            OpenBatch& b = *it->batch;
            const RunEmit where{*b.ws, *b.wf, std::string_view(b.uuid, 36), b.wf->release_uuid};
            stats.spans_written += emit_run(where, it->id, it->plan, it->started, blocks_[b.ws_index]);
            ++stats.runs_finished;
            b.tally.add(it->plan, it->started);
            --b.in_flight;
            b.dirty = true;
            it = runs_.erase(it);
        }
    }

    void update_batches(SystemTime now, LiveStats& stats) {
        for (auto it = batches_.begin(); it != batches_.end();) {
            OpenBatch& b = *it;
            if (b.done()) {
                write_batch(b, now, true);
                ++stats.batches_finished;
                it = batches_.erase(it);
                continue;
            }
            if (b.version == 0 || (b.dirty && now - b.last_written >= kBatchUpdateEvery)) write_batch(b, now, false);
            ++it;
        }
    }

    void write_batch(OpenBatch& b, SystemTime now, bool final) {
        BatchRow row{.uuid = std::string_view(b.uuid, 36),
                     .workspace_uuid = b.ws->uuid,
                     .workflow_uuid = b.wf->uuid,
                     .user_uuid = b.wf->user_uuid,
                     .release_uuid = b.wf->release_uuid,
                     .data = b.data,
                     .status = "running",
                     .runs_count = static_cast<std::uint64_t>(b.runs_count),
                     .executed_runs_count = b.tally.executed,
                     .failed_runs_count = b.tally.failed,
                     .credits_used_count = b.tally.credits,
                     .created_at = b.created,
                     .updated_at = now,
                     .version = ++b.version};
        if (final) {
            row.finished_at = now;
            if (b.fails_to_start) {
                row.status = "error";
                row.error_message = kBatchError;
            } else {
                row.status = b.cancel_at < b.runs_count ? "cancelled" : "success";
                row.runs_status = b.tally.failed > 0 ? "unhealthy" : "healthy";
            }
        }
        blocks_[b.ws_index].batch(row);
        b.dirty = false;
        b.last_written = now;
    }

    void insert(LiveStats& stats) {
        for (RowBinaryBlocks& blocks : blocks_) blocks.flush();
        for (PendingInsert& p : pending_) {
            try {
                client_.insert(p.table, "RowBinary", std::move(p.data));
            } catch (const std::exception& e) {
                stats.failed_inserts += 1;
                spdlog::warn("live generator: insert of {} rows into {} failed: {}", p.rows, p.table, e.what());
            }
        }
        pending_.clear();
    }

    const ClickHouseClient& client_;
    const std::vector<Workspace>& workspaces_;
    Conditions& conditions_;
    const double runs_per_second_;
    Rng rng_;
    std::vector<RowBinaryBlocks> blocks_;  // one per workspace
    std::vector<PendingInsert> pending_;
    std::list<OpenBatch> batches_;  // a list: runs in flight point at their batch
    std::list<InFlightRun> runs_;
    std::optional<SystemTime> last_tick_;
    double budget_ = 0;  // runs owed to the configured rate
};

}  // namespace

LiveGenerator::LiveGenerator(const ClickHouseClient& client, const std::vector<Workspace>& workspaces,
                             Conditions& conditions, const Clock& clock, double runs_per_second, std::uint64_t seed)
    : client_(client),
      workspaces_(workspaces),
      conditions_(conditions),
      clock_(clock),
      runs_per_second_(runs_per_second),
      seed_(seed) {
    if (!(runs_per_second > 0) || !std::isfinite(runs_per_second))
        throw std::invalid_argument("live runs per second must be a positive number, got " +
                                    std::to_string(runs_per_second));
}

LiveGenerator::~LiveGenerator() { stop(); }

void LiveGenerator::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { loop(); });
}

void LiveGenerator::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

LiveStats LiveGenerator::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

void LiveGenerator::loop() {
    // Live rows hang on timing anyway; mixing in the start instant keeps batch and run
    // uuids unique across restarts with the same seed.
    const auto started = static_cast<std::uint64_t>(clock_.now().time_since_epoch().count());
    World world(client_, workspaces_, conditions_, runs_per_second_, Rng(seed_).fork(started).next());
    LiveStats stats;
    std::unique_lock lock(mu_);
    while (!stopping_) {
        lock.unlock();
        world.tick(clock_.now(), stats);
        lock.lock();
        stats_ = stats;
        wake_.wait_for(lock, kTick, [&] { return stopping_; });
    }
}

}  // namespace cargomon::sim
