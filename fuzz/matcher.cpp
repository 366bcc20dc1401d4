// Label matchers as silences and routes write them: name="value", name=~"re", ...
#include <string>

#include "fuzz/fuzz.h"

// The matcher API moves from alerts/notify_config.h to metrics/labels.h.
#if __has_include("metrics/labels.h")
#include "metrics/labels.h"
using cargomon::metrics::parse_matcher;
#else
#include "alerts/notify_config.h"
using cargomon::alerts::parse_matcher;
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parse_matcher(fuzz_text(data, size));
    return 0;
}
