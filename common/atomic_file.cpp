#include "common/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

namespace cargomon {
namespace {

namespace fs = std::filesystem;

// The named temporary file the signal handler removes: a fixed buffer, since a handler
// may not allocate.
char g_temp_path[PATH_MAX] = {};

extern "C" void remove_temp_and_die(int sig) {
    if (g_temp_path[0]) ::unlink(g_temp_path);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

// `n` letters and digits from the kernel's random source: 62^12 names, none guessable.
std::string random_name(std::size_t n) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    unsigned char bytes[32];
    while (out.size() < n) {
        const ssize_t got = ::getrandom(bytes, sizeof bytes, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
        for (ssize_t i = 0; i < got && out.size() < n; ++i)
            if (bytes[i] < 248) out += kAlphabet[bytes[i] % 62];  // 248 = 4 * 62: every letter as likely
    }
    return out;
}

constexpr int kMaxNameAttempts = 100;

}  // namespace

UniqueFile create_unique_file(const fs::path& dir, std::string_view prefix, mode_t mode) {
    for (int attempt = 0; attempt < kMaxNameAttempts; ++attempt) {
        std::string path = (dir / (std::string(prefix) + random_name(12))).string();
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0) throw std::runtime_error("cannot create a file in " + dir.string() + ": " + std::strerror(errno));
        if (::fchmod(fd, mode) != 0) {
            const int e = errno;
            ::close(fd);
            ::unlink(path.c_str());
            throw std::runtime_error("cannot set the mode of a file in " + dir.string() + ": " + std::strerror(e));
        }
        return {fd, std::move(path)};
    }
    throw std::runtime_error("cannot create a file in " + dir.string() + ": " + std::to_string(kMaxNameAttempts) +
                             " random names were taken");
}

AtomicFile::AtomicFile(fs::path path, Options options) : path_(std::move(path)), options_(options) {
    dir_ = path_.parent_path().empty() ? fs::path(".") : path_.parent_path();
    if (fs::is_directory(path_)) throw std::runtime_error(path_.string() + " is a directory");
    if (!options_.named) {
        fd_ = ::open(dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd_ < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) fail("cannot write in " + dir_.string());
        if (fd_ >= 0 && ::fchmod(fd_, options_.mode) != 0) {
            const int e = errno;
            ::close(fd_);
            errno = e;
            fail("cannot set the mode of a file in " + dir_.string());
        }
    }
    if (fd_ < 0) {
        UniqueFile file = create_unique_file(dir_, "." + path_.filename().string() + ".", options_.mode);
        fd_ = file.fd;
        named_ = file.path;
        try {
            set_named(std::move(file.path));
        } catch (...) {
            ::close(fd_);
            ::unlink(named_.c_str());
            throw;
        }
    }
    if (options_.remove_on_signal) {
        struct sigaction sa {};
        sa.sa_handler = remove_temp_and_die;
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    }
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!named_.empty()) ::unlink(named_.c_str());
    if (options_.remove_on_signal) g_temp_path[0] = '\0';
}

void AtomicFile::set_named(std::string path) {
    named_ = std::move(path);
    if (!options_.remove_on_signal) return;
    if (named_.size() >= sizeof g_temp_path) throw std::runtime_error("the output path is too long");
    std::memcpy(g_temp_path, named_.c_str(), named_.size() + 1);
}

void AtomicFile::write(std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd_, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot write " + path_.string());
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void AtomicFile::commit() {
    if (::fsync(fd_) != 0) fail("cannot sync " + path_.string());
    if (named_.empty()) {
        // The unnamed file gets a name of its own (linkat never replaces nor follows one
        // that exists); the window until the rename is the only one in which a SIGKILL
        // would leave a file behind.
        const std::string self = "/proc/self/fd/" + std::to_string(fd_);
        for (int attempt = 0;; ++attempt) {
            std::string name = (dir_ / ("." + path_.filename().string() + "." + random_name(12))).string();
            if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
                set_named(std::move(name));
                break;
            }
            if (errno != EEXIST || attempt + 1 >= kMaxNameAttempts) fail("cannot name the file in " + dir_.string());
        }
    }
    if (::rename(named_.c_str(), path_.c_str()) != 0) fail("cannot rename the file to " + path_.string());
    named_.clear();
    if (options_.remove_on_signal) g_temp_path[0] = '\0';
    // The rename itself is durable once the folder is synced.
    if (const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

void AtomicFile::fail(const std::string& what) const { throw std::runtime_error(what + ": " + std::strerror(errno)); }

}  // namespace cargomon
