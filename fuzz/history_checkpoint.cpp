// The history checkpoint reader (tsdb/checkpoint.h): whatever the file holds, loading
// ends with an error or a head, within the cap, never throwing or reading past a bound.
#include <sstream>

#include "fuzz/fuzz.h"
#include "tsdb/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::istringstream in(std::string(fuzz_text(data, size)));
    cargomon::tsdb::Head head;
    cargomon::tsdb::load_checkpoint(in, head, std::size_t{16} << 20);
    head.select({}, cargomon::tsdb::kMinTime, cargomon::tsdb::kMaxTime,
                [](const cargomon::metrics::Labels&, std::span<const cargomon::tsdb::Sample>) {});
    return 0;
}
