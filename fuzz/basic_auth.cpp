// The credentials of an "Authorization: Basic ..." header (web/request_parser.h), as
// BasicAuth (web/auth.h) receives them from any client before a password check.
#include <cstdlib>
#include <string>

#include "fuzz/fuzz.h"
#include "web/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz_text(data, size);
    std::string user, password;
    if (cargomon::web::parse_basic_authorization(text, user, password)) {
        // base64 gives 3 bytes for 4: what decoded fits in what was sent, less the colon.
        if (user.find(':') != std::string::npos || user.size() + password.size() + 1 > text.size()) std::abort();
    }
    // The scheme is matched without regard to case, and the rest as sent.
    std::string prefixed = "basic " + std::string(text);
    cargomon::web::parse_basic_authorization(prefixed, user, password);
    return 0;
}
