#include "collectors/run_once.h"

#include <optional>

#include "common/duration.h"
#include "metrics/allocator.h"

namespace cargomon::collectors {

RunStart start_run(const Clock& clock, Millis timeout, std::stop_token stop) {
    const SteadyTime started = clock.monotonic();
    return {.started = started,
            .started_wall = clock.now(),
            .timeout = timeout,
            .context = {.deadline = started + timeout, .stop = std::move(stop)}};
}

std::string timeout_message(Millis timeout) { return "run exceeded its timeout of " + format_duration(timeout); }

RunOutcome run_once(Collector& collector, const RunStart& run, metrics::MetricStore& store, const Clock& clock,
                    const std::function<bool(bool succeeded)>& collected) {
    auto failed = [](std::string reason, std::string message) {
        return RunOutcome{.status = RunOutcome::Status::failed, .reason = std::move(reason), .message = std::move(message)};
    };
    metrics::Snapshot snapshot;
    std::optional<RunOutcome> failure;
    try {
        snapshot = collector.collect(run.context);
    } catch (const std::exception& e) {
        failure = failed(error_reason(e), e.what());
    } catch (...) {
        failure = failed("internal", "unknown exception");
    }
    if (!failure && clock.monotonic() > run.context.deadline)
        failure = failed("timeout", timeout_message(run.timeout));
    if (collected && !collected(!failure)) return {.status = RunOutcome::Status::dropped};
    if (failure) return *failure;
    try {
        store.publish(collector.name(), std::move(snapshot), run.started_wall);
    } catch (const std::exception& e) {
        return failed("mapping", e.what());
    }
    metrics::release_free_memory();  // what the replaced snapshot and this run's buffers held
    return {.status = RunOutcome::Status::published};
}

}  // namespace cargomon::collectors
