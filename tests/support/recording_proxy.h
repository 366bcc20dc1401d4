#pragma once
// An HTTP proxy for tests that must know who sent what to a shared peer: it listens on a
// free loopback port, records every request (path, body, headers) and forwards it to one
// upstream, answering with the upstream's status and body. tests/chain puts one between
// cargomon and Alertmanager, which Prometheus also sends to, so that cargomon's own
// notifications can be told from Prometheus' copies.
#include <httplib.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_receiver.h"

namespace cargomon::testing {

// Thread-safety: received() from any thread while the server's threads record and
// forward requests; mu_ guards received_.
class RecordingProxy {
public:
    // `upstream`: scheme, host and port (http://127.0.0.1:9093); the path is kept.
    explicit RecordingProxy(std::string upstream);
    ~RecordingProxy();
    RecordingProxy(const RecordingProxy&) = delete;
    RecordingProxy& operator=(const RecordingProxy&) = delete;

    std::string url() const;
    // Every request so far; `status` is what the upstream answered (502 when it could not
    // be reached, which is also what the sender got).
    std::vector<Received> received() const;

private:
    std::string upstream_;
    int port_;
    httplib::Server server_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::vector<Received> received_;
};

}  // namespace cargomon::testing
