#pragma once
// A Cargo API in-process: a Transport answering each path with a handler the test
// writes, so collectors run through the real ApiClient on canned data.
#include <rapidjson/document.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "cargo/transport.h"

namespace cargomon::collectors::testing {

// Thread-safety: on() and on_json() before the collectors run; then send() from any
// number of collector threads and calls() from the test's (mu_ guards calls_ only).
class CannedApi final : public cargo::Transport {
public:
    using Handler = std::function<cargo::Response(const cargo::Request&)>;

    // `path` is after /v1 and before any '?': "/orchestration/query".
    void on(const std::string& path, Handler handler) { handlers_[path] = std::move(handler); }
    void on_json(const std::string& path, std::string body) {
        on(path, [body](const cargo::Request&) { return cargo::Response{.status = 200, .body = body}; });
    }

    cargo::Response send(const cargo::Request& request, Millis) override {
        auto path = request.target.substr(0, request.target.find('?'));
        if (path.rfind("/v1", 0) == 0) path = path.substr(3);
        {
            std::lock_guard lock(mu_);
            ++calls_[path];
        }
        auto it = handlers_.find(path);
        if (it == handlers_.end()) return {.status = 404, .body = R"({"errorMessage":"no such route"})"};
        return it->second(request);
    }

    int calls(const std::string& path) const {
        std::lock_guard lock(mu_);
        auto it = calls_.find(path);
        return it == calls_.end() ? 0 : it->second;
    }

private:
    std::map<std::string, Handler> handlers_;
    mutable std::mutex mu_;
    std::map<std::string, int> calls_;
};

inline rapidjson::Document json_body(const cargo::Request& request) {
    rapidjson::Document doc;
    doc.Parse(request.body.c_str());
    return doc;
}

}  // namespace cargomon::collectors::testing
