#pragma once
// Turns answer bodies into the structs of types.h. Bodies are parsed in place (the
// string is consumed), so a 10,000-row answer is not copied before it is read.
// Tolerant where the API is loose (numbers as strings, null counts, unknown fields),
// strict where the data would be wrong: anything else throws DecodeError.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cargo/types.h"

namespace cargomon::cargo::decode {

struct DecodeError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

QueryResult query_result(std::string& body);
std::int64_t count(std::string& body);
std::vector<RunMetric> run_metrics(std::string& body);
std::vector<Batch> batches(std::string& body);
Batch batch(std::string& body);
RunPage runs(std::string& body);
std::string url(std::string& body);  // {"url": ...} of a download
std::vector<std::string> urls(std::string& body);  // {"urls": [...]} of a segment download
std::vector<Workflow> workflows(std::string& body);
Release release(std::string& body);  // {"release": Release}
std::vector<Play> plays(std::string& body);
std::vector<Tool> tools(std::string& body);
std::vector<UsageMetric> usage_metrics(std::string& body);
// {"subscription": EnrichedSubscription}: the credit counts and resetAt are required, an
// overage action other than deny or allow, a unit that is not 1 to 64 letters, digits,
// '.', '_' or '-' (it becomes a label value), a unit given twice and more than
// kMaxOverageBehaviors behaviours are refused.
inline constexpr std::size_t kMaxOverageBehaviors = 16;
Subscription subscription(std::string& body);

// "errorMessage" and "reason" of an error answer; empty when absent or not JSON. Never throws.
struct ErrorBody {
    std::string error_message;
    std::string reason;
    std::string data_error_reason;  // {"dataError": {"reason": ...}}, a batch create's dataError
};
ErrorBody error_body(const std::string& body);

}  // namespace cargomon::cargo::decode
