#pragma once
// The Cargo API's refusal reasons in plain words: every reason the official typings
// (@cargo-ai/api 1.0.57) give for an endpoint cargomon calls, the reasons of a batch
// create's `dataError` ({"reason": "dataError", "dataError": {"reason": ...}}), and
// `unrecognized_keys` (Cargo's skill docs). For people: `cargomon batch`, `cargomon
// export` (daemon/cli/api_session.h: plain_words) and the actions' log.
#include <optional>
#include <string>
#include <string_view>

namespace cargomon::cargo {

class ApiError;

// The words for `reason`; nullopt for a reason the typings do not give.
std::optional<std::string_view> refusal_words(std::string_view reason);

// The words for `e`'s refusal: a dataError with its inner reason explained too; nullopt
// when its reason is absent or unknown.
std::optional<std::string> explain_refusal(const ApiError& e);

}  // namespace cargomon::cargo
