#pragma once
// An Authorization header's value for Basic credentials, as a client sends it: the web
// suites encode with their own code, so a decoding bug in web/ cannot hide behind itself.
#include <string>

namespace cargomon::test {

inline std::string base64(const std::string& in) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < in.size() ? alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < in.size() ? alphabet[v & 63] : '=';
    }
    return out;
}

inline std::string basic_authorization(const std::string& user, const std::string& password) {
    return "Basic " + base64(user + ":" + password);
}

}  // namespace cargomon::test
