// common/atomic_file.h: a file written whole or not at all, with exactly its mode, under
// temporary names nobody can guess or plant beforehand.
#include "common/atomic_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <vector>

#include "tests/support/temp_dir.h"

// Every fsync this test executable makes, so that a test can see what AtomicFile::commit
// syncs, and when: defined here, it takes the place of libc's for the code linked in.
namespace {
struct Synced {
    bool directory = false;
    bool target_exists = false;  // the destination, when the sync was asked for
};
std::mutex g_synced_mu;
std::vector<Synced>* g_synced = nullptr;  // recording while set
std::string g_sync_target;
}  // namespace

extern "C" int fsync(int fd) {
    {
        std::lock_guard lock(g_synced_mu);
        if (g_synced) {
            struct stat st {};
            const bool directory = ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
            g_synced->push_back({directory, std::filesystem::exists(g_sync_target)});
        }
    }
    return static_cast<int>(::syscall(SYS_fsync, fd));
}

namespace cargomon {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

std::set<std::string> entries(const std::string& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

// Sets the umask for one test and puts the old one back.
struct Umask {
    explicit Umask(mode_t mask) : old(::umask(mask)) {}
    ~Umask() { ::umask(old); }
    mode_t old;
};

TEST(AtomicFile, TheFileGetsExactlyItsModeWhateverTheUmask) {
    TempDir dir;
    for (bool named : {false, true}) {
        for (auto [mask, mode] : {std::pair<mode_t, mode_t>{0, 0600}, {022, 0600}, {077, 0640}, {0, 0644}}) {
            Umask umask(mask);
            const std::string path = dir.file("out.csv");
            AtomicFile file(path, {.mode = mode, .named = named});
            file.write("a,b\n1,2\n");
            file.commit();
            EXPECT_EQ(mode_of(path), mode) << "umask " << mask << (named ? ", named" : ", unnamed");
            EXPECT_EQ(read(path), "a,b\n1,2\n");
        }
    }
    // The default is the owner's alone: before, an export was 0666 less the umask (0644).
    Umask umask(022);
    AtomicFile file(dir.file("default.csv"), {});
    file.commit();
    EXPECT_EQ(mode_of(dir.file("default.csv")), 0600u);
}

// Written whole and durable: the bytes are synced before the rename puts them in place,
// and the folder after it, so that a power cut leaves the old file or the whole new one.
TEST(AtomicFile, CommitSyncsTheBytesBeforeTheRenameAndTheFolderAfterIt) {
    TempDir dir;
    for (bool named : {false, true}) {
        const std::string path = dir.file(named ? "named.csv" : "unnamed.csv");
        std::vector<Synced> synced;
        AtomicFile file(path, {.named = named});
        file.write("a,b\n");
        {
            std::lock_guard lock(g_synced_mu);
            g_sync_target = path;
            g_synced = &synced;
        }
        file.commit();
        {
            std::lock_guard lock(g_synced_mu);
            g_synced = nullptr;
        }
        ASSERT_EQ(synced.size(), 2u) << (named ? "named" : "unnamed");
        EXPECT_FALSE(synced[0].directory);
        EXPECT_FALSE(synced[0].target_exists) << "the bytes were synced after the rename";
        EXPECT_TRUE(synced[1].directory);
        EXPECT_TRUE(synced[1].target_exists) << "the folder was synced before the rename";
        EXPECT_EQ(read(path), "a,b\n");
    }
}

TEST(AtomicFile, WithoutCommitNothingIsLeftAndTheOldFileStays) {
    TempDir dir;
    dir.write("out.csv", "old\n");
    for (bool named : {false, true}) {
        AtomicFile file(dir.file("out.csv"), {.named = named});
        file.write("half of it");
        EXPECT_EQ(fs::exists(file.temp_path()), named);
    }
    EXPECT_EQ(entries(dir.path()), std::set<std::string>{"out.csv"});
    EXPECT_EQ(read(dir.file("out.csv")), "old\n");
    EXPECT_THROW(AtomicFile(dir.path(), {}), std::runtime_error) << "a folder is no file to replace";
    EXPECT_THROW(AtomicFile(dir.file("missing/out.csv"), {}), std::runtime_error);
}

TEST(AtomicFile, TemporaryNamesAreDrawnAtRandom) {
    TempDir dir;
    std::set<std::string> names;
    for (int i = 0; i < 20; ++i) {
        AtomicFile file(dir.file("out.csv"), {.named = true});
        const std::string name = fs::path(file.temp_path()).filename().string();
        EXPECT_EQ(name.rfind(".out.csv.", 0), 0u) << name;
        EXPECT_EQ(name.size(), std::string(".out.csv.").size() + 12) << name;
        names.insert(name);
    }
    EXPECT_EQ(names.size(), 20u);

    {
        Umask umask(0);
        UniqueFile f = create_unique_file(dir.path(), "x.", 0600);
        ::close(f.fd);
        EXPECT_EQ(mode_of(f.path), 0600u);
    }
}

// The unnamed file used to be linked as ".FILE.cargomon-<pid>" before the rename: anyone
// who could write in the folder could plant that name first, and the export failed
// ("cannot name the file"). Now the name is drawn at random.
TEST(AtomicFile, ANamePlantedAtTheOldPredictableNameIsLeftAlone) {
    TempDir dir;
    dir.write("victim", "untouched\n");
    const std::string old_name = dir.file(".out.csv.cargomon-" + std::to_string(::getpid()));
    fs::create_symlink(dir.file("victim"), old_name);
    AtomicFile file(dir.file("out.csv"), {});
    file.write("rows\n");
    file.commit();
    EXPECT_EQ(read(dir.file("out.csv")), "rows\n");
    EXPECT_EQ(read(dir.file("victim")), "untouched\n");
    EXPECT_TRUE(fs::is_symlink(old_name));
    EXPECT_EQ(entries(dir.path()), (std::set<std::string>{"out.csv", "victim", fs::path(old_name).filename()}));
}

// The destination itself being a symlink: the rename replaces the link, it does not
// write into what it points at.
TEST(AtomicFile, ASymlinkAtTheDestinationIsReplacedNotFollowed) {
    TempDir dir;
    dir.write("victim", "untouched\n");
    fs::create_symlink(dir.file("victim"), dir.file("out.csv"));
    AtomicFile file(dir.file("out.csv"), {});
    file.write("rows\n");
    file.commit();
    EXPECT_FALSE(fs::is_symlink(dir.file("out.csv")));
    EXPECT_EQ(read(dir.file("out.csv")), "rows\n");
    EXPECT_EQ(read(dir.file("victim")), "untouched\n");
}

// remove_on_signal: SIGINT, SIGTERM or SIGHUP while a named temporary file is being
// written removes it, then ends the process by that signal (the exit status a shell sees).
// A child process takes the signal, so the test's own handlers stay as they are.
TEST(AtomicFile, ASignalRemovesTheNamedTemporaryFileAndStillEndsTheProcess) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        TempDir dir;
        int ready[2];
        ASSERT_EQ(::pipe(ready), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(ready[0]);
            AtomicFile file(dir.file("out.csv"), {.named = true, .remove_on_signal = true});
            file.write("half of it");
            const char named = file.temp_path().empty() ? '0' : '1';
            if (::write(ready[1], &named, 1) != 1) ::_exit(3);
            ::pause();
            ::_exit(4);  // the signal should have ended the process
        }
        ::close(ready[1]);
        char named = 0;
        ASSERT_EQ(::read(ready[0], &named, 1), 1);
        ::close(ready[0]);
        EXPECT_EQ(named, '1');
        EXPECT_EQ(entries(dir.path()).size(), 1u) << "the temporary file while it is written";
        ASSERT_EQ(::kill(child, sig), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "signal " << sig << ", status " << status;
        EXPECT_TRUE(entries(dir.path()).empty()) << "signal " << sig;
    }
}

}  // namespace
}  // namespace cargomon
