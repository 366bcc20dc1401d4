#pragma once
// The simulated Cargo HTTP API (docs/cargo-api.md): every /v1 route a monitor uses, answered
// by SQL on the workspace's ClickHouse tables, plus the signed download files it hands out.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "sim/clickhouse/clickhouse.h"
#include "sim/gen/workspace.h"

namespace httplib {
class Server;
}

namespace cargomon::sim {

// A monthly subscription (UTC calendar months). What the workspace's executions use is
// taken from the plan's credits, then from the additional ones; once both are spent,
// creating a batch is refused with notEnoughCredits when the overage behaviour is deny.
struct SubscriptionPlan {
    double credits_per_month = 0;
    double additional_credits = 0;
    bool overage_denied = true;
};

struct ApiContext {
    const ClickHouseClient* clickhouse;
    const std::vector<Workspace>* workspaces;  // workspaces[0] is the default one
    std::string token;                         // Bearer token required on every /v1 call
    std::string public_base_url;               // e.g. "http://127.0.0.1:PORT", used for download URLs
    const Clock* clock;
    // Every workspace's subscription; none: /billing/subscriptions answers subscriptionNotFound.
    std::optional<SubscriptionPlan> subscription = std::nullopt;
};

class FileStore;

class Api {
public:
    explicit Api(ApiContext context);
    ~Api();
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;

    // Registers the /v1 routes, GET /_files/<id> and an error handler that gives every
    // unanswered 4xx/5xx the API's JSON error body. `server` must not outlive this Api.
    void register_routes(httplib::Server& server);

private:
    ApiContext ctx_;
    std::unique_ptr<FileStore> files_;
};

}  // namespace cargomon::sim
