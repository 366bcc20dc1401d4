#include "sim/faults/scenario.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

namespace cargomon::sim {
namespace {

constexpr const char* kKinds = "error_spike, batch_failure, silence, credit_spike, api_fault, stuck_batch";

std::optional<EventKind> kind_from(const std::string& text) {
    for (EventKind k : {EventKind::error_spike, EventKind::batch_failure, EventKind::silence,
                        EventKind::credit_spike, EventKind::api_fault, EventKind::stuck_batch}) {
        if (text == to_string(k)) return k;
    }
    return std::nullopt;
}

// The keys an event of each kind takes besides `at` and `kind`.
std::vector<std::string> keys_of(EventKind kind) {
    switch (kind) {
    case EventKind::error_spike: return {"workflow", "error_rate", "for"};
    case EventKind::batch_failure: return {"workflow", "failed_ratio"};
    case EventKind::silence: return {"workflow", "for"};
    case EventKind::credit_spike: return {"workflow", "factor", "for"};
    case EventKind::stuck_batch: return {"workflow", "age"};
    case EventKind::api_fault:
        return {"endpoint",       "for",          "latency",         "jitter",
                "error_ratio",    "statuses",     "throttle_ratio",  "retry_after",
                "truncate_ratio", "malformed_ratio", "reset_ratio",  "slow_ratio",
                "slow_chunk",     "slow_interval"};
    }
    return {};
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

// Reads one YAML document, turning every problem into "<source>:<line>:<col>: ...".
class Reader {
public:
    Reader(std::string source, const std::vector<Workspace>& workspaces)
        : source_(std::move(source)), workspaces_(workspaces) {}

    [[noreturn]] void fail(const YAML::Mark& mark, const std::string& what) const {
        // An empty document has no position; point at its start.
        YAML::Mark at = mark.is_null() ? YAML::Mark() : mark;
        std::ostringstream out;
        out << source_ << ":" << at.line + 1 << ":" << at.column + 1 << ": " << what;
        throw ScenarioError(out.str());
    }

    YAML::Node load(const std::string& text) const {
        try {
            return YAML::Load(text);
        } catch (const YAML::ParserException& e) {
            fail(e.mark, e.msg);
        }
    }

    // `at_required`: scenario files need `at`; events applied now refuse it.
    ScenarioEvent event(const YAML::Node& node, bool at_required, const std::string& default_kind) const {
        if (!node.IsMap()) fail(node.Mark(), "expected an event (a map with at, kind, ...)");
        ScenarioEvent ev;
        YAML::Node kind_node = node["kind"];
        std::string kind_text = kind_node ? scalar("kind", kind_node) : default_kind;
        if (kind_text.empty()) fail(node.Mark(), "missing kind (one of " + std::string(kKinds) + ")");
        auto kind = kind_from(kind_text);
        if (!kind) {
            fail(kind_node.Mark(), "unknown kind \"" + kind_text + "\" (one of " + kKinds + ")");
        }
        ev.kind = *kind;

        std::vector<std::string> allowed = keys_of(ev.kind);
        for (const auto& entry : node) {
            std::string key = key_text(entry.first);
            if (key == "kind") continue;
            if (key == "at") {
                if (!at_required) fail(entry.first.Mark(), "at is not accepted here: the event applies now");
                continue;
            }
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                fail(entry.first.Mark(), "unknown key \"" + key + "\" for " + kind_text +
                                             " (expected " + join(allowed) + ")");
            }
        }
        if (at_required) ev.at = duration("at", require(node, "at", kind_text));

        switch (ev.kind) {
        case EventKind::error_spike:
            ev.workflow = workflow(require(node, "workflow", kind_text));
            ev.value = ratio("error_rate", require(node, "error_rate", kind_text));
            ev.duration = duration("for", require(node, "for", kind_text));
            break;
        case EventKind::batch_failure:
            ev.workflow = workflow(require(node, "workflow", kind_text));
            ev.value = ratio("failed_ratio", require(node, "failed_ratio", kind_text));
            break;
        case EventKind::silence:
            ev.workflow = workflow(require(node, "workflow", kind_text));
            ev.duration = duration("for", require(node, "for", kind_text));
            break;
        case EventKind::credit_spike: {
            ev.workflow = workflow(require(node, "workflow", kind_text));
            YAML::Node factor = require(node, "factor", kind_text);
            ev.value = number("factor", factor);
            if (ev.value <= 0) fail(factor.Mark(), "factor: expected a number above 0");
            ev.duration = duration("for", require(node, "for", kind_text));
            break;
        }
        case EventKind::api_fault:
            fault(node, kind_text, ev);
            break;
        case EventKind::stuck_batch:
            ev.workflow = workflow(require(node, "workflow", kind_text));
            if (node["age"]) ev.age = duration("age", node["age"]);
            break;
        }
        return ev;
    }

    std::string key_text(const YAML::Node& key) const {
        if (!key.IsScalar()) fail(key.Mark(), "expected a name as key");
        return key.Scalar();
    }

private:
    YAML::Node require(const YAML::Node& node, const std::string& key, const std::string& kind) const {
        YAML::Node value = node[key];
        if (!value) fail(node.Mark(), kind + " needs \"" + key + "\"");
        return value;
    }

    std::string scalar(const std::string& key, const YAML::Node& node) const {
        if (!node.IsScalar()) fail(node.Mark(), key + ": expected a single value");
        return node.Scalar();
    }

    Millis duration(const std::string& key, const YAML::Node& node) const {
        std::string text = scalar(key, node), why;
        auto d = parse_duration(text, &why);
        if (!d) fail(node.Mark(), key + ": \"" + text + "\" is not a duration (" + why + ")");
        return *d;
    }

    double number(const std::string& key, const YAML::Node& node) const {
        std::string text = scalar(key, node);
        double v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
            fail(node.Mark(), key + ": \"" + text + "\" is not a number");
        }
        return v;
    }

    double ratio(const std::string& key, const YAML::Node& node) const {
        double v = number(key, node);
        if (v < 0 || v > 1) fail(node.Mark(), key + ": " + node.Scalar() + " is not a ratio in [0, 1]");
        return v;
    }

    // A uuid first, then a play's or tool's name.
    std::string workflow(const YAML::Node& node) const {
        std::string text = scalar("workflow", node);
        if (text == "*") return text;
        std::vector<const Workflow*> named;
        for (const Workspace& ws : workspaces_) {
            for (const Workflow& wf : ws.workflows) {
                if (wf.uuid == text) return wf.uuid;
                if (wf.name == text) named.push_back(&wf);
            }
        }
        if (named.empty()) {
            fail(node.Mark(), "unknown workflow \"" + text + "\" (expected a play or tool name, a workflow uuid or \"*\")");
        }
        if (named.size() > 1) {
            fail(node.Mark(), "workflow name \"" + text + "\" is ambiguous (" +
                                  std::to_string(named.size()) + " workflows); use its uuid");
        }
        return named.front()->uuid;
    }

    void fault(const YAML::Node& node, const std::string& kind, ScenarioEvent& ev) const {
        YAML::Node endpoint = require(node, "endpoint", kind);
        ev.endpoint = scalar("endpoint", endpoint);
        try {
            validate_endpoint(ev.endpoint);
        } catch (const FaultSpecError& e) {
            fail(endpoint.Mark(), e.what());
        }
        if (node["for"]) ev.duration = duration("for", node["for"]);
        for (const auto& entry : node) {
            std::string key = key_text(entry.first);
            if (key == "at" || key == "kind" || key == "endpoint" || key == "for") continue;
            try {
                set_fault_field(ev.fault, key, fault_value(key, entry.second));
            } catch (const FaultSpecError& e) {
                fail(entry.second.Mark(), e.what());
            }
        }
        try {
            validate(ev.fault);
        } catch (const FaultSpecError& e) {
            fail(node.Mark(), e.what());
        }
    }

    // Lists (statuses) take the flag's "a|b" form.
    std::string fault_value(const std::string& key, const YAML::Node& node) const {
        if (!node.IsSequence()) return scalar(key, node);
        std::vector<std::string> items;
        for (const auto& item : node) items.push_back(scalar(key, item));
        std::string out;
        for (const auto& item : items) out += (out.empty() ? "" : "|") + item;
        return out;
    }

    std::string source_;
    const std::vector<Workspace>& workspaces_;
};

}  // namespace

const char* to_string(EventKind kind) {
    switch (kind) {
    case EventKind::error_spike: return "error_spike";
    case EventKind::batch_failure: return "batch_failure";
    case EventKind::silence: return "silence";
    case EventKind::credit_spike: return "credit_spike";
    case EventKind::api_fault: return "api_fault";
    case EventKind::stuck_batch: return "stuck_batch";
    }
    return "?";
}

Scenario load_scenario(const std::string& path, const std::vector<Workspace>& workspaces) {
    std::ifstream in(path);
    if (!in) throw ScenarioError(path + ": cannot read the scenario file");
    std::stringstream text;
    text << in.rdbuf();
    return parse_scenario(text.str(), path, workspaces);
}

Scenario parse_scenario(const std::string& text, const std::string& source,
                        const std::vector<Workspace>& workspaces) {
    Reader reader(source, workspaces);
    YAML::Node root = reader.load(text);
    if (!root.IsMap()) reader.fail(root.Mark(), "expected a map with an \"events\" list");
    for (const auto& entry : root) {
        std::string key = reader.key_text(entry.first);
        if (key != "events") reader.fail(entry.first.Mark(), "unknown key \"" + key + "\" (expected events)");
    }
    YAML::Node events = root["events"];
    if (!events) reader.fail(root.Mark(), "missing \"events\"");
    if (!events.IsSequence()) reader.fail(events.Mark(), "events: expected a list of events");

    Scenario scenario;
    for (const auto& node : events) scenario.events.push_back(reader.event(node, true, ""));
    std::stable_sort(scenario.events.begin(), scenario.events.end(),
                     [](const ScenarioEvent& a, const ScenarioEvent& b) { return a.at < b.at; });
    return scenario;
}

ScenarioEvent parse_event(const std::string& text, const std::string& source,
                          const std::vector<Workspace>& workspaces, const std::string& default_kind) {
    Reader reader(source, workspaces);
    return reader.event(reader.load(text), false, default_kind);
}

void apply_event(const ScenarioEvent& event, SystemTime begins, Conditions& conditions,
                 FaultInjector& faults) {
    std::optional<SystemTime> until;
    if (event.duration) until = begins + *event.duration;
    switch (event.kind) {
    case EventKind::error_spike: conditions.error_spike(event.workflow, event.value, *until); break;
    case EventKind::batch_failure: conditions.fail_next_batch(event.workflow, event.value); break;
    case EventKind::silence: conditions.silence(event.workflow, *until); break;
    case EventKind::credit_spike: conditions.credit_spike(event.workflow, event.value, *until); break;
    case EventKind::api_fault: faults.set(event.endpoint, event.fault, until); break;
    case EventKind::stuck_batch: conditions.stuck_batch(event.workflow, event.age); break;
    }
}

ScenarioRunner::ScenarioRunner(Scenario scenario, Conditions& conditions, FaultInjector& faults,
                               const Clock& clock)
    : scenario_(std::move(scenario)),
      conditions_(conditions),
      faults_(faults),
      clock_(clock),
      start_wall_(clock.now()),
      start_mono_(clock.monotonic()) {}

ScenarioRunner::~ScenarioRunner() { stop(); }

void ScenarioRunner::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void ScenarioRunner::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::size_t ScenarioRunner::apply_due() {
    std::lock_guard lock(mu_);
    Millis elapsed = std::chrono::duration_cast<Millis>(clock_.monotonic() - start_mono_);
    while (next_ < scenario_.events.size() && scenario_.events[next_].at <= elapsed) {
        const ScenarioEvent& ev = scenario_.events[next_++];
        apply_event(ev, start_wall_ + ev.at, conditions_, faults_);
        spdlog::info("scenario: applied {} at {} ({})", to_string(ev.kind), format_duration(ev.at),
                     ev.kind == EventKind::api_fault ? ev.endpoint : ev.workflow);
    }
    return next_;
}

std::size_t ScenarioRunner::applied() const {
    std::lock_guard lock(mu_);
    return next_;
}

void ScenarioRunner::run() {
    // Naps are capped so a FakeClock moved by a test is noticed soon; a real clock only
    // costs a wake-up every few tens of milliseconds.
    constexpr Millis kMaxNap{20};
    while (true) {
        std::size_t done = apply_due();
        std::unique_lock lock(mu_);
        if (stopping_ || done == scenario_.events.size()) return;
        Millis elapsed = std::chrono::duration_cast<Millis>(clock_.monotonic() - start_mono_);
        Millis nap = std::clamp(scenario_.events[next_].at - elapsed, Millis{1}, kMaxNap);
        wake_.wait_for(lock, nap, [this] { return stopping_; });
    }
}

}  // namespace cargomon::sim
