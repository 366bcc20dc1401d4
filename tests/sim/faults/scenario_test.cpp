#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/sim/faults/fake_api.h"
#include "sim/faults/scenario.h"

using namespace cargomon;
using namespace cargomon::sim;
using namespace cargomon::sim::testing;
using namespace std::chrono_literals;

namespace {

class ScenarioFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sim_faults_scenario_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) {
        std::string path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }

    // The error for `text` saved as `name`, relative to the scenario directory.
    std::string error_of(const std::string& name, const std::string& text) {
        std::string path = write(name, text);
        try {
            load_scenario(path, workspaces_);
        } catch (const ScenarioError& e) {
            std::string message = e.what();
            if (message.starts_with(path)) return name + message.substr(path.size());
            return message;
        }
        return "no error";
    }

    std::filesystem::path dir_;
    std::vector<Workspace> workspaces_ = test_workspaces();
};

}  // namespace

TEST_F(ScenarioFiles, ParsesEveryKindAndResolvesNames) {
    std::string path = write("good.yaml", R"(events:
  - at: 4m
    kind: api_fault
    endpoint: /v1/orchestration/query
    error_ratio: 1.0
    statuses: [502, 503]
    latency: 250ms
    for: 2m
  - at: 30s
    kind: error_spike
    workflow: "Enrich inbound leads"
    error_rate: 0.6
    for: 5m
  - {at: 1m, kind: batch_failure, workflow: "*", failed_ratio: 0.4}
  - {at: 2m, kind: silence, workflow: 0b6f3f6e-8d0a-4d7e-9d6a-1f3c2b4a5e01, for: 30m}
  - {at: 3m, kind: credit_spike, workflow: "*", factor: 10, for: 10m}
)");
    Scenario s = load_scenario(path, workspaces_);
    ASSERT_EQ(s.events.size(), 5u);

    const ScenarioEvent& spike = s.events[0];
    EXPECT_EQ(spike.kind, EventKind::error_spike);
    EXPECT_EQ(spike.at, Millis{30s});
    EXPECT_EQ(spike.workflow, kEnrichUuid);
    EXPECT_DOUBLE_EQ(spike.value, 0.6);
    EXPECT_EQ(spike.duration, Millis{5min});

    EXPECT_EQ(s.events[1].kind, EventKind::batch_failure);
    EXPECT_EQ(s.events[1].workflow, "*");
    EXPECT_DOUBLE_EQ(s.events[1].value, 0.4);
    EXPECT_FALSE(s.events[1].duration);

    EXPECT_EQ(s.events[2].kind, EventKind::silence);
    EXPECT_EQ(s.events[2].workflow, kEnrichUuid);
    EXPECT_EQ(s.events[2].duration, Millis{30min});

    EXPECT_EQ(s.events[3].kind, EventKind::credit_spike);
    EXPECT_DOUBLE_EQ(s.events[3].value, 10);

    const ScenarioEvent& fault = s.events[4];
    EXPECT_EQ(fault.kind, EventKind::api_fault);
    EXPECT_EQ(fault.at, Millis{4min});
    EXPECT_EQ(fault.endpoint, "/v1/orchestration/query");
    EXPECT_DOUBLE_EQ(fault.fault.error_ratio, 1.0);
    EXPECT_EQ(fault.fault.statuses, (std::vector<int>{502, 503}));
    EXPECT_EQ(fault.fault.latency, Millis{250});
    EXPECT_EQ(fault.duration, Millis{2min});
}

TEST_F(ScenarioFiles, ErrorsNameFileLineColumnAndWhatWasExpected) {
    EXPECT_EQ(error_of("kind.yaml", "events:\n  - at: 1m\n    kind: eror_spike\n"),
              "kind.yaml:3:11: unknown kind \"eror_spike\" (one of error_spike, batch_failure, silence, "
              "credit_spike, api_fault, stuck_batch)");
    EXPECT_EQ(error_of("name.yaml",
                       "events:\n  - {at: 1m, kind: silence, workflow: \"Enrich leads\", for: 5m}\n"),
              "name.yaml:2:39: unknown workflow \"Enrich leads\" (expected a play or tool name, a "
              "workflow uuid or \"*\")");
    EXPECT_EQ(error_of("ambiguous.yaml",
                       "events:\n  - {at: 1m, kind: silence, workflow: Score accounts, for: 5m}\n"),
              "ambiguous.yaml:2:39: workflow name \"Score accounts\" is ambiguous (2 workflows); use its uuid");
    EXPECT_EQ(error_of("at.yaml", "events:\n  - at: soon\n    kind: silence\n    workflow: \"*\"\n    for: 5m\n"),
              "at.yaml:2:9: at: \"soon\" is not a duration (expected a number at \"soon\")");
    EXPECT_EQ(error_of("ratio.yaml",
                       "events:\n  - at: 1m\n    kind: error_spike\n    workflow: \"*\"\n    error_rate: 1.5\n"
                       "    for: 5m\n"),
              "ratio.yaml:5:17: error_rate: 1.5 is not a ratio in [0, 1]");
    EXPECT_EQ(error_of("missing.yaml", "events:\n  - at: 1m\n    kind: silence\n    workflow: \"*\"\n"),
              "missing.yaml:2:5: silence needs \"for\"");
    EXPECT_EQ(error_of("key.yaml",
                       "events:\n  - at: 1m\n    kind: batch_failure\n    workflow: \"*\"\n"
                       "    failed_ratio: 0.5\n    for: 5m\n"),
              "key.yaml:6:5: unknown key \"for\" for batch_failure (expected workflow, failed_ratio)");
    EXPECT_EQ(error_of("syntax.yaml", "events:\n  - {at: 1m, kind: silence\n"),
              "syntax.yaml:3:1: end of map flow not found");
    EXPECT_EQ(error_of("list.yaml", "events:\n  at: 1m\n"), "list.yaml:2:3: events: expected a list of events");
    EXPECT_EQ(error_of("top.yaml", "events: []\nevent: []\n"), "top.yaml:2:1: unknown key \"event\" (expected events)");
    EXPECT_EQ(error_of("empty.yaml", ""), "empty.yaml:1:1: expected a map with an \"events\" list");
    EXPECT_EQ(error_of("factor.yaml",
                       "events:\n  - {at: 1m, kind: credit_spike, workflow: \"*\", factor: -2, for: 1h}\n"),
              "factor.yaml:2:57: factor: expected a number above 0");
    EXPECT_EQ(error_of("endpoint.yaml",
                       "events:\n  - at: 1m\n    kind: api_fault\n    endpoint: orchestration/query\n"),
              "endpoint.yaml:4:15: endpoint \"orchestration/query\" is neither a /v1/ path nor \"*\" "
              "(every /v1 path)");
    EXPECT_EQ(error_of("statuses.yaml",
                       "events:\n  - at: 1m\n    kind: api_fault\n    endpoint: \"*\"\n    error_ratio: 1\n"
                       "    statuses: [500, 302]\n"),
              "statuses.yaml:6:15: statuses: \"302\" is out of range [400, 599]");
    EXPECT_EQ(error_of("sum.yaml",
                       "events:\n  - at: 1m\n    kind: api_fault\n    endpoint: \"*\"\n    error_ratio: 0.8\n"
                       "    reset_ratio: 0.8\n"),
              "sum.yaml:2:5: the ratios add up to 1.600000, more than 1");
    EXPECT_EQ(error_of("event.yaml", "events:\n  - silence\n"),
              "event.yaml:2:5: expected an event (a map with at, kind, ...)");
}

TEST_F(ScenarioFiles, MissingFileIsAnError) {
    try {
        load_scenario((dir_ / "absent.yaml").string(), workspaces_);
        FAIL() << "no error";
    } catch (const ScenarioError& e) {
        EXPECT_EQ(std::string(e.what()), (dir_ / "absent.yaml").string() + ": cannot read the scenario file");
    }
}

TEST(ScenarioEventNow, RefusesAtAndAcceptsADefaultKind) {
    auto workspaces = test_workspaces();
    EXPECT_THROW(parse_event(R"({"at": "1m", "kind": "silence", "workflow": "*", "for": "5m"})", "body", workspaces),
                 ScenarioError);
    ScenarioEvent ev = parse_event(R"({"endpoint": "*", "throttle_ratio": 0.5})", "body", workspaces, "api_fault");
    EXPECT_EQ(ev.kind, EventKind::api_fault);
    EXPECT_DOUBLE_EQ(ev.fault.throttle_ratio, 0.5);
    EXPECT_FALSE(ev.duration);
}

TEST(ScenarioEventNow, RetryAfterAsAnIntegerIsSeconds) {
    auto workspaces = test_workspaces();
    // Documented as whole seconds: the JSON number 3 and the YAML integer 3 are 3 s.
    ScenarioEvent ev = parse_event(R"({"endpoint": "*", "throttle_ratio": 1, "retry_after": 3})", "body", workspaces,
                                   "api_fault");
    EXPECT_EQ(ev.fault.retry_after, Millis{3000});
    Scenario scenario = parse_scenario("events:\n  - {at: 1s, kind: api_fault, endpoint: \"*\", throttle_ratio: 1, retry_after: 2}\n",
                                       "s.yml", workspaces);
    ASSERT_EQ(scenario.events.size(), 1u);
    EXPECT_EQ(scenario.events[0].fault.retry_after, Millis{2000});
}

TEST(ScenarioEventNow, AStuckBatchIsAskedOnceWithItsAge) {
    auto workspaces = test_workspaces();
    ScenarioEvent ev = parse_event(R"({"kind": "stuck_batch", "workflow": "*", "age": "2h"})", "body", workspaces);
    EXPECT_EQ(ev.kind, EventKind::stuck_batch);
    EXPECT_EQ(ev.age, Millis{2h});
    EXPECT_FALSE(ev.duration);  // no `for`: it is not a state that ends
    EXPECT_THROW(parse_event(R"({"kind": "stuck_batch", "workflow": "*", "for": "5m"})", "body", workspaces),
                 ScenarioError);
    FakeClock clock;
    Conditions conditions;
    FaultInjector faults(clock, 1);
    apply_event(ev, clock.now(), conditions, faults);
    const auto asked = conditions.take_stuck_batches();
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0], (std::pair<std::string, Millis>{"*", Millis{2h}}));
    EXPECT_TRUE(conditions.take_stuck_batches().empty());  // taken once
}

TEST(ScenarioRunner, AppliesEventsAtTheirOffsets) {
    auto workspaces = test_workspaces();
    Scenario scenario = parse_scenario(R"(events:
  - {at: 30s, kind: error_spike, workflow: "Enrich inbound leads", error_rate: 0.6, for: 5m}
  - {at: 1m, kind: api_fault, endpoint: /v1/orchestration/query, error_ratio: 1, for: 2m}
  - {at: 2m, kind: batch_failure, workflow: "*", failed_ratio: 0.4}
)", "inline", workspaces);
    FakeClock clock;
    Conditions conditions;
    FaultInjector faults(clock, 1);
    const SystemTime start = clock.now();
    ScenarioRunner runner(std::move(scenario), conditions, faults, clock);

    EXPECT_EQ(runner.apply_due(), 0u);
    clock.advance(29s);
    EXPECT_EQ(runner.apply_due(), 0u);
    EXPECT_FALSE(conditions.effects(kEnrichUuid, clock.now()).error_rate);

    clock.advance(1s);
    EXPECT_EQ(runner.apply_due(), 1u);
    EXPECT_EQ(conditions.effects(kEnrichUuid, clock.now()).error_rate, 0.6);
    EXPECT_FALSE(conditions.effects(kScoreUuid, clock.now()).error_rate);
    EXPECT_TRUE(faults.snapshot().empty());

    clock.advance(30s);
    EXPECT_EQ(runner.apply_due(), 2u);
    auto active = faults.snapshot();
    ASSERT_EQ(active.count("/v1/orchestration/query"), 1u);
    EXPECT_EQ(active.at("/v1/orchestration/query").until, start + 3min);

    clock.advance(60s);
    EXPECT_EQ(runner.apply_due(), 3u);
    EXPECT_EQ(conditions.take_next_batch_failure(kScoreUuid), 0.4);

    clock.advance(60s);  // 3m: the api fault's `for` is over
    EXPECT_TRUE(faults.snapshot().empty());
    clock.advance(150s);  // 5m30s: so is the error spike
    EXPECT_FALSE(conditions.effects(kEnrichUuid, clock.now()).error_rate);
}

TEST(ScenarioRunner, ItsThreadFollowsTheClock) {
    auto workspaces = test_workspaces();
    Scenario scenario = parse_scenario(R"(events:
  - {at: 10m, kind: silence, workflow: "*", for: 1h}
  - {at: 20m, kind: credit_spike, workflow: "*", factor: 3, for: 1h}
)", "inline", workspaces);
    FakeClock clock;
    Conditions conditions;
    FaultInjector faults(clock, 1);
    ScenarioRunner runner(std::move(scenario), conditions, faults, clock);
    runner.start();

    auto wait_for_applied = [&](std::size_t n) {
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (runner.applied() < n && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(5ms);
        }
        return runner.applied();
    };
    clock.advance(10min);
    EXPECT_EQ(wait_for_applied(1), 1u);
    EXPECT_TRUE(conditions.effects(kEnrichUuid, clock.now()).silent);
    EXPECT_EQ(conditions.effects(kEnrichUuid, clock.now()).credit_factor, 1.0);
    clock.advance(10min);
    EXPECT_EQ(wait_for_applied(2), 2u);
    EXPECT_EQ(conditions.effects(kEnrichUuid, clock.now()).credit_factor, 3.0);
    runner.stop();
}
