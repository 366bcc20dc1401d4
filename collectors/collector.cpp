#include "collectors/collector.h"

#include "cargo/errors.h"
#include "common/sqlite.h"

namespace cargomon::collectors {

std::string error_reason(const std::exception& error) {
    if (auto* e = dynamic_cast<const CollectorError*>(&error)) return e->reason();
    if (dynamic_cast<const cargo::TooLargeError*>(&error)) return "too_large";
    if (dynamic_cast<const cargo::NetworkError*>(&error)) return "network";
    if (dynamic_cast<const cargo::AuthorizationError*>(&error)) return "authorization";
    if (dynamic_cast<const cargo::RequestError*>(&error)) return "request";
    if (dynamic_cast<const cargo::ServerError*>(&error)) return "server";
    if (dynamic_cast<const cargo::ParseError*>(&error)) return "parse";
    if (dynamic_cast<const sqlite::Error*>(&error)) return "state";  // a counter's save: disk full, read-only, I/O
    return "internal";
}

}  // namespace cargomon::collectors
