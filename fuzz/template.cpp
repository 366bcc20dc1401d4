// Templates: parse, and expand what parses, with the input itself as a label value too
// (so formats and arguments also come from data, as label values do).
#include <string>

#include "alerts/rules/template.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cargomon;
    std::string_view text = fuzz_text(data, size);
    try {
        alerts::rules::Template t = alerts::rules::Template::parse(text);
        metrics::Labels labels{{"format", std::string(text)}, {"job", "api"}};
        t.expand(labels, 0.25);
        t.expand(labels, -1e308);
    } catch (const alerts::rules::TemplateError&) {
    }
    return 0;
}
