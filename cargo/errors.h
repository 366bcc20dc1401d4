#pragma once
// Failed calls, typed as the official client types them: NetworkError (no answer),
// AuthorizationError (401), RequestError (other 4xx), ServerError (5xx and other
// non-2xx), plus ParseError for a 2xx answer whose body is malformed or misshapen and
// TooLargeError for one cargomon stopped reading at its size cap.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace cargomon::cargo {

class ApiError : public std::runtime_error {
public:
    ApiError(const std::string& what, int status, std::string error_message, std::string reason,
             std::string data_error_reason = "")
        : std::runtime_error(what), status_(status), error_message_(std::move(error_message)),
          reason_(std::move(reason)), data_error_reason_(std::move(data_error_reason)) {}

    int status() const { return status_; }                          // 0 when nothing answered
    const std::string& error_message() const { return error_message_; }  // the API's "errorMessage", or ""
    const std::string& reason() const { return reason_; }                // the API's "reason", or ""
    // A batch create's refusal `dataError` says why in {"dataError": {"reason": ...}}
    // (noRecords, invalidData, ...); "" otherwise.
    const std::string& data_error_reason() const { return data_error_reason_; }

private:
    int status_;
    std::string error_message_;
    std::string reason_;
    std::string data_error_reason_;
};

class NetworkError : public ApiError {
public:
    // `kind` says how the attempt failed, so an API that refuses connections can be told
    // from one that accepts them and never answers: "connect" (no connection: refused,
    // unreachable), "timeout" (no whole answer within the timeout), "closed" (the
    // connection ended before a whole answer), "other".
    explicit NetworkError(const std::string& what, std::string kind = "other")
        : ApiError(what, 0, "", ""), kind_(std::move(kind)) {}
    const std::string& kind() const { return kind_; }

private:
    std::string kind_;
};

class AuthorizationError : public ApiError {
    using ApiError::ApiError;
};

class RequestError : public ApiError {
    using ApiError::ApiError;
};

class ServerError : public ApiError {
    using ApiError::ApiError;
};

class ParseError : public ApiError {
    using ApiError::ApiError;
};

// A 2xx answer (or a download) cut off unread at a cap of the `client:` section: its
// decoded bytes passed `limit` (client.max_answer_bytes, client.max_download_bytes) or,
// when it was compressed, its bytes as received did (client.max_compressed_*). Never
// retried: the same request gets the same answer. status() is the answer's.
class TooLargeError : public ApiError {
public:
    TooLargeError(const std::string& what, int status, std::string setting, std::uint64_t limit)
        : ApiError(what, status, "", ""), setting_(std::move(setting)), limit_(limit) {}
    const std::string& setting() const { return setting_; }  // "client.max_answer_bytes", ...
    std::uint64_t limit() const { return limit_; }

private:
    std::string setting_;
    std::uint64_t limit_;
};

}  // namespace cargomon::cargo
