// generate_history and load_history (sim/gen/generator.h).
#include "sim/gen/generator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "sim/gen/rowbinary.h"
#include "sim/gen/run.h"
#include "sim/clickhouse/schema.h"

namespace cargomon::sim {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

constexpr milliseconds kDay = 24h;

// FNV-1a: a seed mix that is the same with every standard library (std::hash is not).
std::uint64_t stable_hash(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

constexpr const char* kBatchErrors[] = {"Segment sync failed: source query timed out",
                                        "Not enough credits to run this batch",
                                        "Release is invalid: a node has no configuration"};

class HistoryWriter {
public:
    HistoryWriter(const Workspace& ws, const GeneratorOptions& options, RowSink& sink)
        : ws_(ws), options_(options), sink_(sink) {}

    void workflow(const Workflow& wf, Rng rng) {
        const SystemTime start = options_.now - options_.history;
        // A disabled play was switched off halfway through the history.
        const SystemTime end = wf.enabled ? options_.now : start + options_.history / 2;
        const double mean_gap_ms = static_cast<double>(kDay.count()) / wf.batches_per_day;
        const milliseconds run_gap{static_cast<std::int64_t>(1000 / wf.runs_per_second) + 1};
        const milliseconds longest_run = max_run_duration(wf);
        std::string last_failed_batch;
        SystemTime t = start + milliseconds{static_cast<std::int64_t>(rng.exponential(mean_gap_ms))};
        for (; t < end; t += milliseconds{static_cast<std::int64_t>(rng.exponential(mean_gap_ms))}) {
            // Only batches that can be over by `now`: the history holds no work in progress.
            const auto room = options_.now - t - longest_run;
            if (room < 0ms) break;
            const std::int64_t fit = room / run_gap;
            bool failed_runs = batch(wf, t, run_gap, fit, last_failed_batch, rng);
            if (failed_runs) last_failed_batch.assign(batch_uuid_, 36);
        }
    }

private:
    // Returns whether the batch had failed runs.
    bool batch(const Workflow& wf, SystemTime t, milliseconds run_gap, std::int64_t fit,
               const std::string& last_failed_batch, Rng& rng) {
        rng.uuid(batch_uuid_);
        const std::string_view batch_uuid(batch_uuid_, 36);
        const ReleaseAt release = release_at(wf, t);
        const bool rerun = !last_failed_batch.empty() && rng.chance(0.05);
        const std::string data = batch_data(wf, rerun ? std::string_view(last_failed_batch) : "", rng);
        BatchRow row{.uuid = batch_uuid,
                     .workspace_uuid = ws_.uuid,
                     .workflow_uuid = wf.uuid,
                     .user_uuid = wf.user_uuid,
                     .release_uuid = release.uuid,
                     .data = data,
                     .created_at = t};
        const double roll = rng.uniform();
        if (roll < 0.01) {  // failed before any record ran
            row.status = "error";
            row.error_message = kBatchErrors[rng.below(std::size(kBatchErrors))];
            row.finished_at = t + milliseconds{rng.between(2'000, 30'000)};
            row.updated_at = *row.finished_at;
            sink_.batch(row);
            return false;
        }
        const int records =
            std::min<std::int64_t>(rerun ? rng.between(1, 20) : batch_records(rng, wf.max_batch_records), fit);
        if (records < 1) return false;
        const bool cancelled = roll < 0.02;
        const int cancel_at = cancelled ? rng.between(0, records - 1) : records;
        // A few batches leave a record or two forever unfinished.
        const int stuck = roll > 0.97 ? rng.between(1, 3) : 0;

        const RunEmit where{ws_, wf, batch_uuid, release.uuid};
        BatchTally counts;
        counts.last_finished = t;
        for (int i = 0; i < records; ++i) {
            const SystemTime started = t + run_gap * i;
            id_.draw(rng);
            if (i >= cancel_at) {
                const SystemTime at = t + run_gap * cancel_at;
                emit_cancelled_run(where, id_, at, sink_);
                counts.add_cancelled(at);
                continue;
            }
            RunKnobs knobs;
            if (stuck > 0 && static_cast<int>(rng.below(records)) < stuck)
                knobs.stuck = rng.chance(0.5) ? RunStuck::running : RunStuck::pending;
            plan_run(release.nodes, rng, knobs, plan_);
            emit_run(where, id_, plan_, started, sink_);
            counts.add(plan_, started);
        }
        row.status = cancelled ? "cancelled" : "success";
        row.runs_status = counts.failed > 0 ? "unhealthy" : "healthy";
        row.runs_count = counts.runs;
        row.executed_runs_count = counts.executed;
        row.failed_runs_count = counts.failed;
        row.credits_used_count = counts.credits;
        row.finished_at = counts.last_finished;
        row.updated_at = counts.last_finished;
        sink_.batch(row);
        return counts.failed > 0;
    }

    const Workspace& ws_;
    const GeneratorOptions& options_;
    RowSink& sink_;
    char batch_uuid_[36];
    RunIdentity id_;
    RunPlan plan_;
};

// Blocks waiting for ClickHouse; bounded so generation cannot run far ahead of inserts.
class InsertQueue {
public:
    InsertQueue(const ClickHouseClient& client, int threads, std::size_t max_pending)
        : client_(client), max_pending_(max_pending) {
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
    }
    ~InsertQueue() { join(); }

    void push(std::string table, std::string data) {
        std::unique_lock lock(mu_);
        space_.wait(lock, [&] { return jobs_.size() < max_pending_ || error_; });
        if (error_) std::rethrow_exception(error_);
        jobs_.push_back({std::move(table), std::move(data)});
        ready_.notify_one();
    }
    // Waits for every insert; rethrows the first failure.
    void finish() {
        join();
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

private:
    void join() {
        {
            std::lock_guard lock(mu_);
            done_ = true;
        }
        ready_.notify_all();
        for (auto& t : threads_) t.join();
        threads_.clear();
    }
    struct Job {
        std::string table, data;
    };
    void work() {
        for (;;) {
            Job job;
            {
                std::unique_lock lock(mu_);
                ready_.wait(lock, [&] { return !jobs_.empty() || done_; });
                if (jobs_.empty()) return;
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            space_.notify_one();
            try {
                client_.insert(job.table, "RowBinary", std::move(job.data));
            } catch (...) {
                std::lock_guard lock(mu_);
                if (!error_) error_ = std::current_exception();
                jobs_.clear();
                space_.notify_all();
            }
        }
    }

    const ClickHouseClient& client_;
    const std::size_t max_pending_;
    std::mutex mu_;
    std::condition_variable ready_, space_;
    std::deque<Job> jobs_;
    bool done_ = false;
    std::exception_ptr error_;
    std::vector<std::thread> threads_;
};

}  // namespace

void validate(const GeneratorOptions& options) {
    using std::chrono::seconds;
    if (options.workspaces < 1 || options.workspaces > 100)
        throw std::invalid_argument("workspaces must be 1 to 100, got " + std::to_string(options.workspaces));
    if (options.workflows < 1 || options.workflows > 1000)
        throw std::invalid_argument("workflows must be 1 to 1000, got " + std::to_string(options.workflows));
    if (options.history.count() < 0) throw std::invalid_argument("history must not be negative");
    const auto start = std::chrono::floor<seconds>(options.now - options.history).time_since_epoch();
    const auto end = std::chrono::floor<seconds>(options.now).time_since_epoch();
    if (start < seconds{0} || end > seconds{0xFFFFFFFFLL} - std::chrono::hours{24 * 365})
        throw std::invalid_argument("the history window must lie between 1970 and 2105; is `now` set?");
}

void generate_history(const Workspace& workspace, const GeneratorOptions& options, RowSink& sink) {
    validate(options);
    HistoryWriter writer(workspace, options, sink);
    // Each workflow has its own stream, so adding a workflow leaves the others' rows alone.
    Rng root(options.seed ^ stable_hash(workspace.uuid));
    for (std::size_t i = 0; i < workspace.workflows.size(); ++i) writer.workflow(workspace.workflows[i], root.fork(i));
}

LoadStats load_history(const ClickHouseClient& client, const std::vector<Workspace>& workspaces,
                       const GeneratorOptions& options) {
    validate(options);
    const auto t0 = std::chrono::steady_clock::now();
    for (const Workspace& ws : workspaces) {
        // A data folder (or ClickHouse) used before already holds this workspace: its
        // history ended at that run's `now`, and loading again would repeat every row. The
        // history is always relative to now, so the workspace starts clean.
        const std::string tables = client.query("SELECT count() FROM system.tables WHERE database = '" + ws.database +
                                                "' AND name = 'batches_versions' FORMAT TSV");
        if (tables.rfind("0", 0) != 0) {
            std::string batches = client.query("SELECT uniqExact(uuid) FROM " + ws.database + ".batches_versions FORMAT TSV");
            while (!batches.empty() && batches.back() == '\n') batches.pop_back();
            spdlog::info("workspace {}: database {} already holds {} batches from an earlier start; dropping it and "
                         "loading the history afresh",
                         ws.uuid, ws.database, batches);
        }
        client.query("DROP DATABASE IF EXISTS " + ws.database);
        for (const std::string& sql : schema_statements(ws.database)) client.query(sql);
    }

    LoadStats stats;
    // Two inserts in flight keep ClickHouse busy on both cores while this thread generates.
    InsertQueue queue(client, 2, 4);
    for (const Workspace& ws : workspaces) {
        RowBinaryBlocks blocks(100'000, [&](Table table, std::string data, std::size_t rows) {
            switch (table) {
                case Table::batches:
                    stats.batches += rows;
                    break;
                case Table::runs:
                    stats.runs += rows;
                    break;
                case Table::spans:
                    stats.spans += rows;
                    break;
                case Table::records:
                    stats.records += rows;
                    break;
            }
            queue.push(ws.database + "." + std::string(insert_table(table)), std::move(data));
        });
        generate_history(ws, options, blocks);
        blocks.flush();
    }
    queue.finish();
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("loaded {} batches, {} runs, {} spans, {} records in {:.1f} s", stats.batches, stats.runs, stats.spans,
                 stats.records, stats.seconds);
    return stats;
}

}  // namespace cargomon::sim
