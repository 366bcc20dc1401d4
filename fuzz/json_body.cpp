// JSON bodies: the bounded parse, then what the silence API makes of a POSTed body.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "alerts/notify/silences.h"
#include "common/clock.h"
#include "common/json.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz_text(data, size);
    rapidjson::Document doc;
    if (!cargomon::parse_json(text, doc)) {
        // Whatever parsed can be walked recursively: that is what the depth limit is for.
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
        doc.Accept(writer);
    }
    std::string copy(text);
    cargomon::parse_json_in_place(copy, doc, {.nan_and_inf = true});

    static cargomon::SystemClock clock;
    static cargomon::alerts::SilenceStore store(":memory:", clock);
    cargomon::alerts::create_silence_answer(store, text);
    return 0;
}
