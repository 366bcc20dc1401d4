// Label matchers as silences and routes write them: name="value", name=~"re", ...
#include <string>

#include "fuzz/fuzz.h"

#include "metrics/labels.h"

using cargomon::metrics::parse_matcher;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    parse_matcher(fuzz_text(data, size));
    return 0;
}
