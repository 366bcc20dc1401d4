#include "cargo/query_errors.h"

#include <array>
#include <charconv>

#include "cargo/errors.h"

namespace cargomon::cargo {

std::optional<int> clickhouse_code(std::string_view message) {
    constexpr std::string_view kCode = "Code: ";
    const auto at = message.find(kCode);
    if (at == std::string_view::npos) return std::nullopt;
    const char* first = message.data() + at + kCode.size();
    const char* last = message.data() + message.size();
    int code = 0;
    auto [end, ec] = std::from_chars(first, last, code);
    if (ec != std::errc{} || end == first || code <= 0) return std::nullopt;
    return code;
}

bool is_query_failure(int status, std::string_view error_message) {
    if (status < 400) return false;
    if (auto code = clickhouse_code(error_message)) {
        // TOO_MANY_SIMULTANEOUS_QUERIES, SOCKET_TIMEOUT, NETWORK_ERROR, MEMORY_LIMIT_EXCEEDED,
        // TABLE_IS_READ_ONLY, KEEPER_EXCEPTION: the server's state, not the query's text.
        constexpr std::array<int, 6> kPassing = {202, 209, 210, 241, 242, 999};
        for (int passing : kPassing)
            if (*code == passing) return false;
        return true;
    }
    return status < 500 && status != 401 && status != 403 && status != 429;
}

bool is_query_failure(const ApiError& e) { return is_query_failure(e.status(), e.error_message()); }

}  // namespace cargomon::cargo
