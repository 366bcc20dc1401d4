#pragma once
// A fresh directory under the system's temp dir, removed with its contents when the
// object goes away: the one every test suite uses for files, state and logs.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace cargomon::testing {

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "cargomon-test-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // The path of `name` in it (not created).
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    // Writes `content` to `name` in it and returns the file's path.
    std::string write(const std::string& name, const std::string& content) const {
        const std::string p = file(name);
        std::ofstream out(p, std::ios::binary);
        out << content;
        if (!out) throw std::runtime_error("cannot write " + p);
        return p;
    }

private:
    std::string path_;
};

}  // namespace cargomon::testing
