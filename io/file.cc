// Local and in-memory implementations of the io interfaces.
#include "slaf/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace slaf::io {

Status RandomAccessFile::ReadRanges(std::span<const ReadRequest> requests) const {
  for (const ReadRequest& r : requests) SLAF_RETURN_IF_ERROR(ReadAt(r.offset, r.length, r.out));
  return Status::OK();
}

Status RandomAccessFile::CheckRange(uint64_t offset, size_t n) const {
  const uint64_t sz = size();
  if (offset > sz || n > sz - offset) {
    return Status::InvalidArgument(name() + ": read of " + std::to_string(n) + " bytes at offset " +
                                   std::to_string(offset) + " runs past the end of the file (" +
                                   std::to_string(sz) + " bytes)");
  }
  return Status::OK();
}

namespace {

std::string ErrnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

class LocalFile final : public RandomAccessFile {
 public:
  LocalFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~LocalFile() override { ::close(fd_); }
  LocalFile(const LocalFile&) = delete;
  LocalFile& operator=(const LocalFile&) = delete;

  const std::string& name() const override { return path_; }
  uint64_t size() const override { return size_; }

  Status ReadAt(uint64_t offset, size_t n, uint8_t* out) const override {
    SLAF_RETURN_IF_ERROR(CheckRange(offset, n));
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IOError(ErrnoText("pread at offset " + std::to_string(offset + done) + " of", path_));
      }
      if (r == 0) {
        return Status::IOError(path_ + ": file shrank while open: read ended at offset " + std::to_string(offset + done));
      }
      done += static_cast<size_t>(r);
    }
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class LocalWritableFile final : public WritableFile {
 public:
  LocalWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~LocalWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  LocalWritableFile(const LocalWritableFile&) = delete;
  LocalWritableFile& operator=(const LocalWritableFile&) = delete;

  const std::string& name() const override { return path_; }
  uint64_t size() const override { return size_; }

  Status Append(std::span<const uint8_t> data) override {
    if (fd_ < 0) return Status::IOError(path_ + ": append after close");
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t r = ::write(fd_, data.data() + done, data.size() - done);
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IOError(ErrnoText("write", path_));
      }
      done += static_cast<size_t>(r);
    }
    size_ += data.size();
    return Status::OK();
  }

  Status Sync() override {
    if (fd_ < 0) return Status::IOError(path_ + ": sync after close");
    if (::fdatasync(fd_) != 0) return Status::IOError(ErrnoText("fdatasync", path_));
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    const int r = ::close(fd_);
    fd_ = -1;
    if (r != 0) return Status::IOError(ErrnoText("close", path_));
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_ = 0;
};

class MemoryFile final : public RandomAccessFile {
 public:
  MemoryFile(std::string name, std::vector<uint8_t> bytes) : name_(std::move(name)), bytes_(std::move(bytes)) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, size_t n, uint8_t* out) const override {
    SLAF_RETURN_IF_ERROR(CheckRange(offset, n));
    if (n) std::memcpy(out, bytes_.data() + offset, n);
    return Status::OK();
  }

 private:
  std::string name_;
  std::vector<uint8_t> bytes_;
};

class MemoryWritableFile final : public WritableFile {
 public:
  MemoryWritableFile(std::string name, std::vector<uint8_t>* sink) : name_(std::move(name)), sink_(sink) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return sink_->size(); }
  Status Append(std::span<const uint8_t> data) override {
    sink_->insert(sink_->end(), data.begin(), data.end());
    return Status::OK();
  }
  Status Sync() override { return Status::OK(); }
  Status Close() override { return Status::OK(); }

 private:
  std::string name_;
  std::vector<uint8_t>* sink_;
};

}  // namespace

Result<std::unique_ptr<RandomAccessFile>> OpenLocalFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(ErrnoText("open", path));
    return Status::IOError(ErrnoText("open", path));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Status::IOError(ErrnoText("fstat", path));
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path + ": not a regular file");
  }
  std::unique_ptr<RandomAccessFile> f = std::make_unique<LocalFile>(path, fd, static_cast<uint64_t>(st.st_size));
  return f;
}

Result<std::unique_ptr<WritableFile>> CreateLocalFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(ErrnoText("create", path));
  std::unique_ptr<WritableFile> f = std::make_unique<LocalWritableFile>(path, fd);
  return f;
}

std::unique_ptr<RandomAccessFile> NewMemoryFile(std::string name, std::vector<uint8_t> bytes) {
  return std::make_unique<MemoryFile>(std::move(name), std::move(bytes));
}

std::unique_ptr<WritableFile> NewMemoryWritableFile(std::string name, std::vector<uint8_t>* sink) {
  return std::make_unique<MemoryWritableFile>(std::move(name), sink);
}

}  // namespace slaf::io
