// Cargo API answers: the first byte picks the decoder (modulo the number of decoders; a
// decoder is only ever added at the end, so every corpus file, whose first byte is its
// decoder's number, keeps its decoder), the rest is the body.
#include <string>

#include "cargo/decode.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cargomon::cargo::decode;
    if (size == 0) return 0;
    const unsigned which = data[0] % 13;
    std::string body(fuzz_text(data + 1, size - 1));
    try {
        switch (which) {
            case 0: query_result(body); break;
            case 1: count(body); break;
            case 2: run_metrics(body); break;
            case 3: batches(body); break;
            case 4: batch(body); break;
            case 5: workflows(body); break;
            case 6: plays(body); break;
            case 7: tools(body); break;
            case 8: usage_metrics(body); break;
            case 9: error_body(body); break;  // never throws
            case 10: runs(body); break;
            case 11: url(body); break;
            case 12: urls(body); break;
        }
    } catch (const DecodeError&) {
    }
    return 0;
}
