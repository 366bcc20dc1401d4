// Notifications per second to a local webhook on loopback: N notifications through the
// durable outbox (SQLite WAL, synchronous=NORMAL: written, then sent, then marked
// delivered) against a baseline that only renders and posts, in the same run.
// Target: above 500/s with the outbox on. Usage: bench_notify [N] (default 2000).
#include <prometheus/registry.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "alerts/notify/delivery.h"
#include "alerts/notify/outbox.h"
#include "alerts/notify/receivers.h"
#include "common/net.h"

using namespace cargomon;
using namespace cargomon::alerts;
using namespace cargomon::alerts::notify;
using Steady = std::chrono::steady_clock;

namespace {

double seconds_since(Steady::time_point start) {
    return std::chrono::duration<double>(Steady::now() - start).count();
}

Notification sample_notification(int i) {
    Alert a;
    a.labels = {{"alertname", "CargoRunsFailing"}, {"severity", "critical"},
                {"workflow_name", "workflow-" + std::to_string(i % 50)}};
    a.annotations = {{"summary", "runs are failing"}};
    a.state = AlertState::firing;
    a.value = i;
    a.starts_at = a.active_at = std::chrono::system_clock::now();
    a.fingerprint = "fp" + std::to_string(i);
    return Notification{.receiver = "bench", .group_key = "{}:{n=\"" + std::to_string(i) + "\"}", .alerts = {a}};
}

}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::stoi(argv[1]) : 2000;
    if (n <= 0) {
        std::fprintf(stderr, "usage: bench_notify [N > 0]\n");
        return 2;
    }

    httplib::Server server;
    std::atomic<int> received{0};
    server.Post("/hook", [&](const httplib::Request&, httplib::Response& res) {
        received.fetch_add(1);
        res.status = 200;
    });
    const int port = free_loopback_port();
    if (!server.bind_to_port("127.0.0.1", port)) {
        std::fprintf(stderr, "cannot bind 127.0.0.1:%d\n", port);
        return 1;
    }
    std::thread listener([&] { server.listen_after_bind(); });

    config::AlertingConfig config;
    config.route.receiver = "bench";
    config.receivers.push_back(config::ReceiverConfig{
        .name = "bench",
        .integrations = {config::IntegrationSpec{.config = config::WebhookConfig{.http = {.url = "http://127.0.0.1:" +
                                                                                 std::to_string(port) + "/hook"}}}}});
    Receivers receivers(config);
    Integration& hook = *receivers.find("bench", 0);
    SystemClock clock;

    // Baseline: render and post, nothing persisted.
    auto start = Steady::now();
    for (int i = 0; i < n; ++i) {
        std::string body = hook.render(sample_notification(i), clock.now());
        if (hook.send(body, "k" + std::to_string(i), clock.now()).outcome != SendResult::Outcome::delivered) {
            std::fprintf(stderr, "baseline send failed\n");
            return 1;
        }
    }
    const double baseline = n / seconds_since(start);

    // With the outbox: each notification committed before it is sent, marked after.
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("cargomon-bench-notify-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    double durable = 0;
    {
        Outbox outbox((dir / "notify.db").string(), clock, config.delivery);
        prometheus::Registry registry;
        Delivery delivery(outbox, receivers, clock, registry);
        start = Steady::now();
        for (int i = 0; i < n; ++i) {
            Notification note = sample_notification(i);
            std::string body = hook.render(note, clock.now());
            outbox.enqueue(NotifyLogEntry{.receiver = "bench", .group_key = note.group_key,
                                          .firing = {note.alerts[0].fingerprint}, .sent_at = clock.now()},
                           &body);
        }
        delivery.run_due();
        durable = n / seconds_since(start);
        if (outbox.pending_count() != 0) {
            std::fprintf(stderr, "%zu notifications left undelivered\n", outbox.pending_count());
            return 1;
        }
    }
    std::filesystem::remove_all(dir);
    server.stop();
    listener.join();

    std::printf("bench_notify: %d notifications to a webhook on 127.0.0.1 (receiver got %d)\n", n, received.load());
    std::printf("  baseline (render + POST, no persistence): %8.0f notifications/s\n", baseline);
    std::printf("  outbox on (SQLite WAL, synchronous=NORMAL): %6.0f notifications/s  (target > 500/s: %s)\n", durable,
                durable > 500 ? "met" : "NOT met");
    std::printf("  outbox / baseline: %.2f\n", durable / baseline);
    return 0;
}
