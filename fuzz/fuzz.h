#pragma once
// The libFuzzer entry point every target in fuzz/ defines. Built with -DCARGOMON_FUZZ=ON
// (clang) it is driven by libFuzzer; in the normal build replay_main.cpp feeds it every
// file of the target's corpus under CTest, so each crasher once found stays fixed.
//
// A target lets through only what its parser promises never to throw: any other
// exception, a crash, a sanitizer report or a stall is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

inline std::string_view fuzz_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}
