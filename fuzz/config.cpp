// The main config file, from text (the loader reads a file into the same function).
#include <string>

#include "config/config.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cargomon::config;
    static const Environment env({{"CARGO_API_TOKEN", "token"}, {"HOME", "/nonexistent"}});
    parse_config(fuzz_text(data, size), "/nonexistent/cargomon.yml", env);
    return 0;
}
