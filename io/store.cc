// Local-directory object store and the shared key checks.
#include "slaf/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace slaf::io {

Result<std::vector<uint8_t>> ObjectStore::Get(const std::string& key) {
  SLAF_ASSIGN_OR_RETURN(std::shared_ptr<RandomAccessFile> f, OpenRead(key));
  std::vector<uint8_t> bytes(f->size());
  SLAF_RETURN_IF_ERROR(f->ReadAt(0, bytes.size(), bytes.data()));
  return bytes;
}

Result<bool> ObjectStore::Exists(const std::string& key) {
  Result<std::shared_ptr<RandomAccessFile>> f = OpenRead(key);
  if (f.ok()) return true;
  if (f.status().IsNotFound()) return false;
  return f.status();
}

Status CheckKey(const std::string& key) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("path \"" + key + "\" is not allowed in a dataset: " + why);
  };
  if (key.empty()) return bad("empty");
  if (key.size() > 1024) return bad("longer than 1024 bytes");
  if (key.front() == '/') return bad("absolute path");
  for (char c : key) {
    if (c == '\0') return bad("contains NUL");
    if (c == '\\') return bad("contains a backslash");
    if (c == '%') return bad("contains a %-escape");
    if (static_cast<unsigned char>(c) < 0x20) return bad("contains a control character");
  }
  if (key.find("://") != std::string::npos || key.find(':') != std::string::npos) return bad("contains a URL scheme or ':'");
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    const std::string_view seg(key.data() + start, end - start);
    if (seg.empty()) return bad("empty path segment");
    if (seg == "." || seg == "..") return bad("'.' or '..' segment");
    start = end + 1;
  }
  return Status::OK();
}

namespace {

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

Status FsyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Status::IOError(Errno("open for fsync", path));
  const int r = ::fsync(fd);
  ::close(fd);
  if (r != 0) return Status::IOError(Errno("fsync", path));
  return Status::OK();
}

std::string ParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// mkdir -p of the directories above `path` below `root`, syncing each parent
// that gained an entry so the new directory survives a crash.
Status MakeParents(const std::string& root, const std::string& key) {
  size_t pos = 0;
  while (true) {
    const size_t slash = key.find('/', pos);
    if (slash == std::string::npos) return Status::OK();
    const std::string dir = root + "/" + key.substr(0, slash);
    if (::mkdir(dir.c_str(), 0777) == 0) {
      SLAF_RETURN_IF_ERROR(FsyncPath(ParentDir(dir), true));
    } else if (errno != EEXIST) {
      return Status::IOError(Errno("mkdir", dir));
    }
    pos = slash + 1;
  }
}

// Temporary-file suffixes; reseeded after fork() like the dataset's file ids.
std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng;
  static thread_local pid_t seeded_for = 0;
  if (seeded_for != ::getpid()) {
    seeded_for = ::getpid();
    std::random_device rd;
    rng.seed((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(seeded_for));
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

Status WriteAll(int fd, std::span<const uint8_t> data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t r = ::write(fd, data.data() + done, data.size() - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(Errno("write", path));
    }
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

// Writes a complete, synced temporary file next to `path` and returns its name.
Result<std::string> WriteTemp(const std::string& path, std::span<const uint8_t> data) {
  const std::string tmp = path + ".tmp-" + RandomSuffix();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return Status::IOError(Errno("create", tmp));
  Status s = WriteAll(fd, data, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Status::IOError(Errno("fsync", tmp));
  if (::close(fd) != 0 && s.ok()) s = Status::IOError(Errno("close", tmp));
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return tmp;
}

// A data file: written in place under its unique name. Sync() fsyncs the
// file and, the first time, its directory, so the name is durable too.
class LocalStoreFile final : public WritableFile {
 public:
  LocalStoreFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~LocalStoreFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  const std::string& name() const override { return path_; }
  uint64_t size() const override { return size_; }
  Status Append(std::span<const uint8_t> data) override {
    if (fd_ < 0) return Status::IOError(path_ + ": append after close");
    SLAF_RETURN_IF_ERROR(WriteAll(fd_, data, path_));
    size_ += data.size();
    return Status::OK();
  }
  Status Sync() override {
    if (fd_ < 0) return Status::IOError(path_ + ": sync after close");
    if (::fdatasync(fd_) != 0) return Status::IOError(Errno("fdatasync", path_));
    if (!dir_synced_) {
      SLAF_RETURN_IF_ERROR(FsyncPath(ParentDir(path_), true));
      dir_synced_ = true;
    }
    return Status::OK();
  }
  Status Close() override {
    if (fd_ < 0) return Status::OK();
    const int r = ::close(fd_);
    fd_ = -1;
    if (r != 0) return Status::IOError(Errno("close", path_));
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_ = 0;
  bool dir_synced_ = false;
};

class LocalStore final : public ObjectStore {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}
  const std::string& location() const override { return root_; }

  Result<std::shared_ptr<RandomAccessFile>> OpenRead(const std::string& key) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    const std::string path = Path(key);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::NotFound(path + ": no such file");
      return Status::IOError(Errno("stat", path));
    }
    SLAF_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> f, OpenLocalFile(path));
    return std::shared_ptr<RandomAccessFile>(std::move(f));
  }

  Result<std::unique_ptr<WritableFile>> Create(const std::string& key) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    SLAF_RETURN_IF_ERROR(MakeParents(root_, key));
    const std::string path = Path(key);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
      if (errno == EEXIST) return Status::Conflict(path + " already exists");
      return Status::IOError(Errno("create", path));
    }
    return std::unique_ptr<WritableFile>(new LocalStoreFile(path, fd));
  }

  Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    SLAF_RETURN_IF_ERROR(MakeParents(root_, key));
    const std::string path = Path(key);
    SLAF_ASSIGN_OR_RETURN(std::string tmp, WriteTemp(path, data));
    // link() is create-if-absent for a complete file: unlike O_EXCL plus
    // write, no reader can ever see the key with partial content.
    const int r = ::link(tmp.c_str(), path.c_str());
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (r != 0) {
      if (link_errno == EEXIST) return Status::Conflict(path + " already exists");
      errno = link_errno;
      return Status::IOError(Errno("link", path));
    }
    return FsyncPath(ParentDir(path), true);
  }

  Status Put(const std::string& key, std::span<const uint8_t> data) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    SLAF_RETURN_IF_ERROR(MakeParents(root_, key));
    const std::string path = Path(key);
    SLAF_ASSIGN_OR_RETURN(std::string tmp, WriteTemp(path, data));
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const Status s = Status::IOError(Errno("rename to", path));
      ::unlink(tmp.c_str());
      return s;
    }
    return FsyncPath(ParentDir(path), true);
  }

  Result<std::vector<ObjectEntry>> List(const std::string& prefix) override {
    std::vector<ObjectEntry> out;
    SLAF_RETURN_IF_ERROR(Walk("", prefix, &out, 0));
    return out;
  }

  Status Delete(const std::string& key) override {
    SLAF_RETURN_IF_ERROR(CheckKey(key));
    const std::string path = Path(key);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return Status::NotFound(path + ": no such file");
      return Status::IOError(Errno("unlink", path));
    }
    return Status::OK();
  }

 private:
  std::string Path(const std::string& key) const { return root_ + "/" + key; }

  // Recursive listing of the keys under `rel` that start with `prefix`.
  Status Walk(const std::string& rel, const std::string& prefix, std::vector<ObjectEntry>* out, int depth) {
    if (depth > 16) return Status::OK();
    const std::string dir = rel.empty() ? root_ : root_ + "/" + rel;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      if (errno == ENOENT && depth > 0) return Status::OK();
      if (errno == ENOENT) return Status::NotFound(dir + ": no such directory");
      return Status::IOError(Errno("opendir", dir));
    }
    Status s;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string key = rel.empty() ? name : rel + "/" + name;
      // Descend only into directories that can hold matching keys.
      const size_t n = std::min(key.size(), prefix.size());
      if (key.compare(0, n, prefix, 0, n) != 0) continue;
      struct stat st;
      if (::lstat((root_ + "/" + key).c_str(), &st) != 0) continue;  // vanished meanwhile
      if (S_ISDIR(st.st_mode)) {
        s = Walk(key, prefix, out, depth + 1);
        if (!s.ok()) break;
      } else if (S_ISREG(st.st_mode) && key.size() >= prefix.size()) {
        out->push_back({key, static_cast<uint64_t>(st.st_size),
                        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000});
      }
    }
    ::closedir(d);
    return s;
  }

  std::string root_;
};

}  // namespace

Result<std::shared_ptr<ObjectStore>> OpenLocalStore(const std::string& dir, bool create) {
  std::string root = dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty()) return Status::InvalidArgument("empty dataset path");
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::IOError(Errno("stat", root));
    if (!create) return Status::NotFound(root + ": no such dataset directory");
    // mkdir -p, syncing each parent that gains an entry.
    for (size_t pos = root.find('/', 1);; pos = root.find('/', pos + 1)) {
      const std::string dir = pos == std::string::npos ? root : root.substr(0, pos);
      if (::mkdir(dir.c_str(), 0777) == 0) {
        SLAF_RETURN_IF_ERROR(FsyncPath(ParentDir(dir), true));
      } else if (errno != EEXIST) {
        return Status::IOError(Errno("mkdir", dir));
      }
      if (pos == std::string::npos) break;
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(root + " is not a directory (a dataset is a directory)");
  }
  return std::shared_ptr<ObjectStore>(new LocalStore(root));
}

}  // namespace slaf::io
