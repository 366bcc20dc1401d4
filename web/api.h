#pragma once
// Every JSON answer of the daemon's API, and the silence API's requests: the domain
// hands over values (alerts/rules/rule_manager.h, alerts/notify/silences.h,
// collectors/scheduler.h); only this file knows the wire format.
//  - /api/v1/alerts and /api/v1/rules in Prometheus' shapes (web/v1 AlertDiscovery and
//    RuleDiscovery, each rule with its own alerts, health and last evaluation), so that
//    Grafana and scripts written for Prometheus read them unchanged;
//  - /api/v1/status;
//  - /api/v1/silences in Alertmanager's v2 shape, both sides: the daemon's answers and
//    what `cargomon silence` sends and reads back;
//  - /api/v1/actions: the automatic actions' recent decisions (actions/store.h);
//  - refusals in Prometheus' error shape.
#include <rapidjson/fwd.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actions/store.h"
#include "alerts/alert.h"
#include "alerts/notify/silences.h"
#include "alerts/rules/rule_manager.h"
#include "collectors/scheduler.h"

namespace cargomon::web {

// {"status":"success","data":{"alerts":[...]}}: pending and firing alerts.
std::string alerts_answer(const std::vector<alerts::Alert>& alerts);
// {"status":"success","data":{"groups":[...]}}.
std::string rules_answer(const std::vector<alerts::rules::GroupStatus>& groups);

// What /api/v1/status shows: the daemon, then each collector's last run.
struct DaemonStatus {
    bool stopping = false;  // then only {"status":"stopping"}
    std::string version;
    bool ready = false;
    std::string config_file;
    bool config_last_reload_successful = false;
    std::size_t series = 0;
    std::vector<collectors::CollectorStatus> collectors;
    // For the status page (web/status_page.h), not in the JSON: when the config was last
    // loaded, the state database and what was moved aside of it at start (daemon/storage.h).
    std::optional<SystemTime> config_last_reload_success;
    std::string state_database;
    std::vector<std::string> state_database_moved_aside;
    bool actions_enabled = true;  // false: a standby replica (--actions.enabled=false)
    // How far back the sample history goes (--storage.history.retention, or the rules'
    // need): the page's longer ranges show no more than this. 0: not known.
    Millis history_retention{0};
};
std::string status_answer(const DaemonStatus& status);

// {"status":"success","data":{"actions":[{id, action, rule, mode, state, result, batchUuid,
// workflowUuid, workflowName, records, estimatedCredits, createdBatchUuid, reason,
// decidedAt, updatedAt}]}}, in the order given (the store's: newest first).
std::string actions_answer(const std::vector<actions::Action>& actions);

// Prometheus' API error: {"status":"error","errorType":"<type>","error":"<message>"}.
std::string error_answer(std::string_view type, std::string_view message);

// An answer with its HTTP status; an empty `json` is an empty body.
struct Answer {
    int status = 200;
    std::string json;
};

// The silence API. GET /api/v1/silences: every stored silence, expired ones included,
// each {id, status: {state}, matchers, startsAt, endsAt, createdBy, comment}.
// POST (`body` is the request's): {matchers, startsAt (optional: now), endsAt, createdBy,
// comment}, answered {"silenceID": "..."}. DELETE /api/v1/silences/:id: an empty 200.
// Errors are {"error": "..."} with 400 (a bad body, or a silence the store refuses) or
// 404 (no active or pending silence with that id).
Answer list_silences_answer(const alerts::notify::SilenceStore& store);
Answer create_silence_answer(alerts::notify::SilenceStore& store, std::string_view body);
Answer expire_silence_answer(alerts::notify::SilenceStore& store, const std::string& id);

// The client's side of the silence API (`cargomon silence`). The body that POSTs
// `silence` (its id is the daemon's to give; startsAt only when set, else the daemon's now).
std::string silence_request(const alerts::notify::Silence& silence);
// What the client reads back, from a parsed answer. Fields missing or of another type
// read as "" (the peer may be another version).
// The "error" of a refusal, nullopt when it has none.
std::optional<std::string> read_error(const rapidjson::Value& answer);
// The "silenceID" of the answer to a POST, nullopt when it has none.
std::optional<std::string> read_silence_id(const rapidjson::Value& answer);
// One item of the list GET answers.
struct ListedSilence {
    std::string id;
    std::string state;  // pending, active, expired
    // Each as Matcher::to_string() writes it; one this client cannot compile, as sent.
    std::vector<std::string> matchers;
    std::string starts_at, ends_at;  // RFC 3339, as sent
    std::string created_by;
    std::string comment;
};
ListedSilence read_listed_silence(const rapidjson::Value& item);

}  // namespace cargomon::web
