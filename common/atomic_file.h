#pragma once
// A file written whole or not at all (cargomon export, cargomon backup): the bytes go to
// a temporary file in the same folder, renamed over the destination once complete and
// synced. The temporary file is unnamed (O_TMPFILE) where the filesystem allows it, else
// created exclusively under an unpredictable name (O_CREAT|O_EXCL|O_NOFOLLOW), and so is
// the name an unnamed one gets just before the rename: a name planted in the folder
// beforehand (a symlink to someone's file, say) is never opened, written through or
// removed. The file gets exactly `mode` (0600 by default), whatever the umask.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace cargomon {

struct UniqueFile {
    int fd = -1;       // open for writing, close-on-exec; the caller closes it
    std::string path;  // dir/<prefix><12 random letters and digits>
};

// A new file in `dir` with an unpredictable name starting with `prefix`, created with
// O_CREAT|O_EXCL|O_NOFOLLOW (another name is drawn if that one exists) and given exactly
// `mode`. Throws std::runtime_error naming the folder and the reason.
UniqueFile create_unique_file(const std::filesystem::path& dir, std::string_view prefix, mode_t mode);

class AtomicFile {
public:
    struct Options {
        mode_t mode = 0600;  // the file's permissions, exactly: not narrowed or widened by the umask
        // A named temporary file even where O_TMPFILE works, for a writer that opens it
        // by its path (SQLite): temp_path().
        bool named = false;
        // SIGINT, SIGTERM and SIGHUP remove a named temporary file, then end the process
        // as the signal would. For one-shot commands only: it replaces their handlers, and
        // one AtomicFile at a time may ask for it. An unnamed file needs none: the kernel
        // drops it with the process (SIGKILL included).
        bool remove_on_signal = false;
    };

    // Throws std::runtime_error when `path` is a folder or its folder cannot be written.
    AtomicFile(std::filesystem::path path, Options options);
    ~AtomicFile();  // without commit(): the temporary file is gone, `path` untouched
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(std::string_view data);
    // Syncs the bytes, renames the file over `path` and syncs the folder. Throws
    // std::runtime_error naming the path; `path` is then untouched.
    void commit();

    int fd() const { return fd_; }
    // The temporary file's path; empty while it is unnamed.
    const std::string& temp_path() const { return named_; }

private:
    [[noreturn]] void fail(const std::string& what) const;
    void set_named(std::string path);

    std::filesystem::path path_;
    std::filesystem::path dir_;
    Options options_;
    std::string named_;
    int fd_ = -1;
};

}  // namespace cargomon
