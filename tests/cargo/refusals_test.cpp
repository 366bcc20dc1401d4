// Every refusal reason the typings give for the endpoints cargomon calls has plain words
// (cargo/refusals.h), and a dataError is explained by its own reason.
#include "cargo/refusals.h"

#include <gtest/gtest.h>

#include "cargo/errors.h"

namespace cargomon::cargo {
namespace {

TEST(Refusals, EveryReasonOfTheTypingsForCargomonsEndpointsHasWords) {
    // @cargo-ai/api 1.0.57: zodCreateBatchErrorReason, zodDownloadBatchErrorReason,
    // zodDownloadRunOutputsErrorReason, zodDownloadSegmentErrorReason; billing's
    // subscriptionNotFound; the docs' unrecognized_keys.
    for (const char* reason :
         {"notEnoughCredits", "workflowNotFound", "invalidReleaseOrCustomNodes", "invalidDataKind", "nodesNotFound",
          "rootNodeNotFound", "dataError", "failedToStart", "batchNotFound", "batchNotFinished", "batchNotSupported",
          "noRunsFound", "tooManyRuns", "invalidFilter", "failedToDownloadRecordsFromClient", "subscriptionNotFound",
          "unrecognized_keys"}) {
        const auto words = refusal_words(reason);
        ASSERT_TRUE(words) << reason;
        EXPECT_EQ(words->find(reason), std::string_view::npos) << "the words only repeat the reason: " << *words;
    }
    EXPECT_FALSE(refusal_words("somethingNew"));
    EXPECT_FALSE(refusal_words(""));
}

TEST(Refusals, ADataErrorIsExplainedByItsOwnReason) {
    for (const char* inner : {"failedToGetSegment", "segmentLinkedToPlay", "noRecords", "failedToGetSegmentChange",
                              "invalidChange", "invalidChangeKinds", "invalidData"}) {
        const auto text = explain_refusal(RequestError("x", 400, "", "dataError", inner));
        ASSERT_TRUE(text) << inner;
        EXPECT_EQ(text->find(inner), std::string::npos) << *text;
        EXPECT_GT(text->size(), refusal_words("dataError")->size() + 2) << *text;
    }
    EXPECT_EQ(*explain_refusal(RequestError("x", 400, "", "dataError", "brandNew")),
              std::string(*refusal_words("dataError")) + ": reason brandNew");
    EXPECT_EQ(*explain_refusal(RequestError("x", 400, "", "dataError")), *refusal_words("dataError"));
    EXPECT_FALSE(explain_refusal(RequestError("x", 400, "", "noRecords")));  // an inner reason only
    EXPECT_FALSE(explain_refusal(ServerError("x", 500, "", "")));
}

}  // namespace
}  // namespace cargomon::cargo
