#pragma once
// An in-process Transport: answers from a script, records what it was sent.
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "cargo/errors.h"
#include "cargo/transport.h"
#include "common/clock.h"

namespace cargomon::cargo::testing {

// Thread-safety: send() from any number of client threads at once, with then*(),
// set_fallback() and sent() from the test's thread meanwhile (mu_ guards script_,
// fallback_ and sent_); on_send() and set_network_error_text() before the client runs.
class FakeTransport final : public Transport {
public:
    struct Sent {
        Request request;
        Millis timeout;
        SteadyTime at;
    };

    explicit FakeTransport(const Clock& clock) : clock_(clock) {}

    // Answers in order; once the script is used up, every request gets `fallback`.
    void then(int status, std::string body, Headers headers = {}) {
        std::lock_guard lock(mu_);
        script_.push_back(Response{.status = status, .headers = std::move(headers), .body = std::move(body)});
    }
    void then_network_error() {
        std::lock_guard lock(mu_);
        script_.push_back(std::nullopt);
    }
    void set_fallback(int status, std::string body) {
        std::lock_guard lock(mu_);
        fallback_ = Response{.status = status, .body = std::move(body)};
    }
    // Runs inside send, before answering (to block, or to let fake time pass).
    void on_send(std::function<void(const Request&)> hook) { hook_ = std::move(hook); }
    void set_network_error_text(std::string text) { network_error_text_ = std::move(text); }

    Response send(const Request& request, Millis timeout) override {
        std::optional<Response> answer;
        {
            std::lock_guard lock(mu_);
            sent_.push_back({request, timeout, clock_.monotonic()});
            if (script_.empty()) {
                answer = fallback_;
            } else {
                answer = std::move(script_.front());
                script_.pop_front();
            }
        }
        if (hook_) hook_(request);
        if (!answer) throw NetworkError(network_error_text_);
        return *answer;
    }

    std::vector<Sent> sent() const {
        std::lock_guard lock(mu_);
        return sent_;
    }

private:
    const Clock& clock_;
    mutable std::mutex mu_;
    std::deque<std::optional<Response>> script_;
    Response fallback_{.status = 200, .body = R"({"count": 1})"};
    std::function<void(const Request&)> hook_;
    std::string network_error_text_ = "connection refused";
    std::vector<Sent> sent_;
};

}  // namespace cargomon::cargo::testing
