// Rule files: YAML, then every expr and template in them.
#include "alerts/rules/rules.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    cargomon::alerts::rules::parse_rules(fuzz_text(data, size), "fuzz.rules.yml");
    return 0;
}
