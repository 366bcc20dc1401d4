#include "cargo/refusals.h"

#include <array>
#include <utility>

#include "cargo/errors.h"

namespace cargomon::cargo {
namespace {

using Words = std::pair<std::string_view, std::string_view>;

// Each endpoint's zod*ErrorReason of the typings, for the endpoints of cargo/requests.h.
constexpr std::array kReasons = {
    // POST /orchestration/batches (zodCreateBatchErrorReason)
    Words{"notEnoughCredits", "the workspace has no credits left to run it (its overage behaviour is deny)"},
    Words{"workflowNotFound", "there is no such workflow in this workspace"},
    Words{"invalidReleaseOrCustomNodes", "the workflow's release, or the nodes given, cannot run"},
    Words{"invalidDataKind", "this workflow cannot take a batch of that kind (record ids need a play's workflow)"},
    Words{"nodesNotFound", "Cargo could not find the workflow's nodes"},
    Words{"rootNodeNotFound", "the workflow has no node to start from"},
    Words{"dataError", "Cargo could not read the records the batch names"},
    Words{"failedToStart", "Cargo could not start it"},
    // POST /orchestration/batches/{uuid}/download (zodDownloadBatchErrorReason)
    Words{"batchNotFound", "there is no such batch in this workspace"},
    Words{"batchNotFinished", "the batch has not finished yet"},
    Words{"batchNotSupported", "this kind of batch has no downloadable outputs"},
    // POST /orchestration/runs/download-outputs (zodDownloadRunOutputsErrorReason)
    Words{"noRunsFound", "no runs match the filters"},
    Words{"tooManyRuns", "too many runs for one download (at most 10,000); narrow the filters"},
    // POST /segmentation/segments/download (zodDownloadSegmentErrorReason)
    Words{"invalidFilter", "the filter does not fit the model's columns"},
    Words{"failedToDownloadRecordsFromClient", "Cargo could not read the records from the model's system of record"},
    // GET /billing/subscriptions
    Words{"subscriptionNotFound", "the workspace has no subscription"},
    // Any route, as Cargo's docs show the service's strict schemas
    Words{"unrecognized_keys", "the request held a key the API does not take (cargomon and the API disagree on "
                               "its shape: an update of cargomon is due)"},
};

// A batch create's dataError.reason (the typings' createBatch error messages).
constexpr std::array kDataErrors = {
    Words{"failedToGetSegment", "its segment could not be read"},
    Words{"segmentLinkedToPlay", "its segment belongs to a play: start the play's workflow with a filter batch instead"},
    Words{"noRecords", "it selects no records"},
    Words{"failedToGetSegmentChange", "its segment change could not be read"},
    Words{"invalidChange", "its segment change is not valid"},
    Words{"invalidChangeKinds", "its change kinds are not valid"},
    Words{"invalidData", "its data is not valid"},
};

template <std::size_t N>
std::optional<std::string_view> find(const std::array<Words, N>& table, std::string_view key) {
    for (const auto& [k, words] : table)
        if (k == key) return words;
    return std::nullopt;
}

}  // namespace

std::optional<std::string_view> refusal_words(std::string_view reason) { return find(kReasons, reason); }

std::optional<std::string> explain_refusal(const ApiError& e) {
    auto words = refusal_words(e.reason());
    if (!words) return std::nullopt;
    std::string text(*words);
    if (e.reason() == "dataError" && !e.data_error_reason().empty()) {
        const auto inner = find(kDataErrors, e.data_error_reason());
        text += ": " + (inner ? std::string(*inner) : "reason " + e.data_error_reason());
    }
    return text;
}

}  // namespace cargomon::cargo
