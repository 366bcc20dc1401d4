#include "daemon/alerting.h"

#include <stdexcept>
#include <utility>

#include "alerts/notify/silences.h"
#include "alerts/rules/rule_manager.h"
#include "web/api.h"

namespace cargomon::daemon {

alerts::EngineSetup load_alerting(const config::Config& config) {
    alerts::EngineSetup setup;
    std::string errors;
    auto rules = alerts::rules::load_rule_globs(config.rule_files);
    if (auto* e = std::get_if<std::vector<alerts::rules::RuleError>>(&rules)) {
        for (const auto& error : *e) errors += error.to_string() + "\n";
    } else {
        setup.groups = std::get<std::vector<alerts::rules::RuleGroup>>(std::move(rules));
    }
    setup.alerting = config.alerting;
    if (!errors.empty()) {
        errors.pop_back();
        throw std::runtime_error(errors);
    }
    return setup;
}

void register_alerting_routes(web::HttpServer& http, alerts::Engine& engine) {
    using web::Access, web::Request, web::Response;
    auto reply = [](Response& res, web::Answer answer) {
        res.status = answer.status;
        if (!answer.json.empty()) res.set_content(std::move(answer.json), "application/json");
    };
    http.add_route(Access::read, "GET", "/api/v1/alerts", [&engine](const Request&, Response& res) {
        res.set_content(web::alerts_answer(engine.alerts()), "application/json");
    });
    http.add_route(Access::read, "GET", "/api/v1/rules", [&engine](const Request&, Response& res) {
        res.set_content(web::rules_answer(engine.groups()), "application/json");
    });
    http.add_route(Access::read, "GET", "/api/v1/silences", [&engine, reply](const Request&, Response& res) {
        reply(res, web::list_silences_answer(engine.silences()));
    });
    http.add_route(Access::admin, "POST", "/api/v1/silences", [&engine, reply](const Request& req, Response& res) {
        reply(res, web::create_silence_answer(engine.silences(), req.body));
    });
    http.add_route(Access::admin, "DELETE", "/api/v1/silences/:id",
                   [&engine, reply](const Request& req, Response& res) {
                       reply(res, web::expire_silence_answer(engine.silences(), req.path_params.at(0)));
                   });
}

}  // namespace cargomon::daemon
