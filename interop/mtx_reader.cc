// 10x Genomics MTX directories:
//   v2 (Cell Ranger 1-2): matrix.mtx, genes.tsv (id, symbol), barcodes.tsv
//   v3 (Cell Ranger 3+):  matrix.mtx.gz, features.tsv.gz (id, name, type), barcodes.tsv.gz
// Any file may be gzip-compressed or plain. The matrix is MatrixMarket
// coordinate, genes x cells, 1-based. Cell Ranger writes entries cell by
// cell, which streams straight into rows; any other order goes through the
// external sort (the first pass notices and the converter starts over).
// Decompression runs on its own thread, parsing on the caller's.
#include <dirent.h>
#include <sys/stat.h>
#include <zlib.h>

#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "interop/rows.h"
#include "interop/source.h"

namespace slaf::interop {
namespace {

bool IsFile(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
bool IsDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// `base` or `base.gz`, whichever exists ("" for neither).
std::string Either(const std::string& dir, const std::string& base) {
  if (IsFile(dir + "/" + base)) return dir + "/" + base;
  if (IsFile(dir + "/" + base + ".gz")) return dir + "/" + base + ".gz";
  return "";
}

// Reads a gzip or plain file in large pieces on a background thread.
class ChunkReader {
 public:
  static constexpr size_t kChunk = 1 << 20;
  static constexpr size_t kQueue = 4;

  explicit ChunkReader(std::string path) : path_(std::move(path)) {}
  ~ChunkReader() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (gz_) gzclose(gz_);
  }

  Status Start() {
    gz_ = gzopen(path_.c_str(), "rb");
    if (!gz_) return Status::IOError(path_ + ": cannot open: " + std::strerror(errno));
    gzbuffer(gz_, 1 << 18);
    thread_ = std::thread([this] { Run(); });
    return Status::OK();
  }

  // The next piece; empty at the end. Errors name the file and the offset.
  Result<std::string> Next() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !queue_.empty() || done_; });
    if (!queue_.empty()) {
      std::string s = std::move(queue_.front());
      queue_.pop_front();
      cv_.notify_all();
      return s;
    }
    if (!error_.ok()) return error_;
    return std::string();
  }

 private:
  void Run() {
    uint64_t total = 0;
    while (true) {
      std::string buf(kChunk, '\0');
      int n = gzread(gz_, buf.data(), static_cast<unsigned>(buf.size()));
      if (n < 0) {
        int code = 0;
        const char* msg = gzerror(gz_, &code);
        Finish(Status::InvalidArgument(path_ + ": corrupt or truncated gzip data after " + std::to_string(total) +
                                       " uncompressed bytes: " + (msg ? msg : "unknown error")));
        return;
      }
      if (n == 0) {
        // gzread reports a cut-off stream as a clean end with Z_BUF_ERROR.
        int code = 0;
        const char* msg = gzerror(gz_, &code);
        if (code == Z_BUF_ERROR) {
          Finish(Status::InvalidArgument(path_ + ": truncated gzip data after " + std::to_string(total) +
                                         " uncompressed bytes: " + (msg ? msg : "unexpected end of file")));
        } else {
          Finish(Status::OK());
        }
        return;
      }
      total += static_cast<uint64_t>(n);
      buf.resize(static_cast<size_t>(n));
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return queue_.size() < kQueue || stop_; });
      if (stop_) return;
      queue_.push_back(std::move(buf));
      cv_.notify_all();
    }
  }
  void Finish(Status s) {
    std::lock_guard<std::mutex> l(mu_);
    error_ = std::move(s);
    done_ = true;
    cv_.notify_all();
  }

  std::string path_;
  gzFile gz_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool done_ = false, stop_ = false;
  Status error_;
};

// Calls fn(line, line_number) for every line of a file (without '\n').
template <typename Fn>
Status ForEachLine(const std::string& path, Fn&& fn) {
  ChunkReader r(path);
  SLAF_RETURN_IF_ERROR(r.Start());
  std::string carry;
  uint64_t line_no = 0;
  while (true) {
    SLAF_ASSIGN_OR_RETURN(std::string chunk, r.Next());
    if (chunk.empty()) break;
    size_t pos = 0;
    if (!carry.empty()) {
      size_t nl = chunk.find('\n');
      if (nl == std::string::npos) {
        carry += chunk;
        continue;
      }
      carry.append(chunk, 0, nl);
      SLAF_RETURN_IF_ERROR(fn(std::string_view(carry), ++line_no));
      carry.clear();
      pos = nl + 1;
    }
    const char* data = chunk.data();
    while (pos < chunk.size()) {
      const char* nl = static_cast<const char*>(std::memchr(data + pos, '\n', chunk.size() - pos));
      if (!nl) {
        carry.assign(data + pos, chunk.size() - pos);
        break;
      }
      SLAF_RETURN_IF_ERROR(fn(std::string_view(data + pos, static_cast<size_t>(nl - (data + pos))), ++line_no));
      pos = static_cast<size_t>(nl - data) + 1;
    }
  }
  if (!carry.empty()) SLAF_RETURN_IF_ERROR(fn(std::string_view(carry), ++line_no));
  return Status::OK();
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t start = 0;
  while (true) {
    size_t t = line.find('\t', start);
    out.push_back(line.substr(start, t == std::string_view::npos ? std::string_view::npos : t - start));
    if (t == std::string_view::npos) break;
    start = t + 1;
  }
  return out;
}

Result<std::vector<std::vector<std::string>>> ReadTsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  SLAF_RETURN_IF_ERROR(ForEachLine(path, [&](std::string_view line, uint64_t) {
    if (line.empty() || line == "\r") return Status::OK();
    std::vector<std::string>& r = rows.emplace_back();
    for (std::string_view f : SplitTabs(line)) r.emplace_back(f);
    return Status::OK();
  }));
  return rows;
}

struct Header {
  enum Field { kInteger, kReal, kPattern } field = kInteger;
  uint64_t rows = 0, cols = 0, nnz = 0;
};

// The banner and the size line; `size_line` receives the size line's number.
// Read with a small direct gzgets loop: only the first few lines are needed.
Result<Header> ReadHeader(const std::string& path, uint64_t* size_line) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) return Status::IOError(path + ": cannot open: " + std::strerror(errno));
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(gz, gzclose);
  Header h;
  std::string buf(1 << 16, '\0');
  for (uint64_t no = 1;; ++no) {
    if (!gzgets(gz, buf.data(), static_cast<int>(buf.size()))) {
      int code = 0;
      const char* msg = gzerror(gz, &code);
      if (code != Z_OK && code != Z_STREAM_END) return Status::InvalidArgument(path + ": corrupt or truncated gzip data: " + msg);
      return Status::InvalidArgument(path + ": no size line (empty or truncated file)");
    }
    std::string line(buf.c_str());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (no == 1) {
      std::string low = line;
      for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (low.rfind("%%matrixmarket", 0) != 0) return Status::InvalidArgument(path + ": line 1: not a MatrixMarket file (no %%MatrixMarket banner)");
      if (low.find("coordinate") == std::string::npos) return Status::NotSupported(path + ": line 1: only coordinate (sparse) MatrixMarket files are supported");
      if (low.find("complex") != std::string::npos) return Status::NotSupported(path + ": line 1: complex values are not supported");
      if (low.find("general") == std::string::npos) return Status::NotSupported(path + ": line 1: only general (not symmetric) matrices are supported");
      h.field = low.find("pattern") != std::string::npos ? Header::kPattern
                : low.find("integer") != std::string::npos ? Header::kInteger : Header::kReal;
      continue;
    }
    if (line.empty() || line[0] == '%') continue;
    char extra[2];
    unsigned long long r, c, n;
    if (std::sscanf(line.c_str(), "%llu %llu %llu %1s", &r, &c, &n, extra) != 3) {
      return Status::InvalidArgument(path + ": line " + std::to_string(no) + ": expected \"rows cols entries\"");
    }
    h.rows = r, h.cols = c, h.nnz = n;
    *size_line = no;
    return h;
  }
}

struct MtxState {
  std::string path;
  Header header;
  uint64_t size_line = 0;
  bool genes_are_rows = true;  // 10x: rows are genes, columns cells
  uint64_t n_cells = 0;
  uint32_t n_genes = 0;
  bool sorted_mode = false;  // input not in cell order: go through the sorter
};

// One entry of a data line.
struct Entry {
  uint64_t cell;
  uint32_t gene;
  double value;
};

Status ParseEntry(const MtxState& s, std::string_view line, uint64_t no, Entry* e, bool* skip) {
  *skip = false;
  const char* p = line.data();
  const char* end = p + line.size();
  while (end > p && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) --end;
  if (p == end || *p == '%') {
    *skip = true;
    return Status::OK();
  }
  auto bad = [&](const char* what) {
    return Status::InvalidArgument(s.path + ": line " + std::to_string(no) + ": " + what + ": \"" +
                                   std::string(line.substr(0, 80)) + "\"");
  };
  uint64_t r = 0, c = 0;
  auto a = std::from_chars(p, end, r);
  if (a.ec != std::errc() || a.ptr == end || (*a.ptr != ' ' && *a.ptr != '\t')) return bad("expected \"row col value\"");
  p = a.ptr;
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  auto b = std::from_chars(p, end, c);
  if (b.ec != std::errc()) return bad("expected \"row col value\"");
  p = b.ptr;
  double v = 1;
  if (s.header.field != Header::kPattern) {
    if (p == end || (*p != ' ' && *p != '\t')) return bad("missing value");
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    // Integers (the usual UMI counts) parse without the float parser.
    uint64_t iv = 0;
    auto d = std::from_chars(p, end, iv);
    if (d.ec == std::errc() && d.ptr == end) {
      v = static_cast<double>(iv);
    } else {
      auto f = std::from_chars(p, end, v);
      if (f.ec != std::errc() || f.ptr != end) return bad("bad value");
    }
  } else if (p != end) {
    return bad("pattern entries have no value");
  }
  if (r == 0 || c == 0 || r > s.header.rows || c > s.header.cols) {
    return bad(("index outside 1.." + std::to_string(s.header.rows) + " x 1.." + std::to_string(s.header.cols)).c_str());
  }
  if (s.genes_are_rows) {
    e->gene = static_cast<uint32_t>(r - 1);
    e->cell = c - 1;
  } else {
    e->gene = static_cast<uint32_t>(c - 1);
    e->cell = r - 1;
  }
  e->value = v;
  return Status::OK();
}

// Calls on(entry, line_number) for every data line, in file order. Lines of
// the usual shape ("123 45 6") parse in a tight loop over whole chunks;
// anything else (reals, extra spaces, comments, errors) goes through
// ParseEntry line by line.
template <typename On>
Status ForEachEntry(const MtxState& s, On&& on) {
  ChunkReader r(s.path);
  SLAF_RETURN_IF_ERROR(r.Start());
  std::string carry;
  uint64_t line_no = 0;
  Entry e;
  bool skip = false;
  auto slow = [&](std::string_view line) -> Status {
    ++line_no;
    if (line_no <= s.size_line) return Status::OK();
    SLAF_RETURN_IF_ERROR(ParseEntry(s, line, line_no, &e, &skip));
    return skip ? Status::OK() : on(e, line_no);
  };
  const bool counts_field = s.header.field == Header::kInteger;
  const uint64_t max_r = s.header.rows, max_c = s.header.cols;
  // Whole lines in [p, end), each ending in '\n'.
  auto piece = [&](const char* p, const char* end) -> Status {
    while (p < end) {
      const char* line = p;
      if (line_no >= s.size_line && counts_field) {
        uint64_t a = 0, b = 0, v = 0;
        const char* q = p;
        const char* d0 = q;
        while (static_cast<unsigned>(*q - '0') < 10) a = a * 10 + static_cast<unsigned>(*q++ - '0');
        if (q != d0 && q - d0 < 19 && *q == ' ') {
          const char* d1 = ++q;
          while (static_cast<unsigned>(*q - '0') < 10) b = b * 10 + static_cast<unsigned>(*q++ - '0');
          if (q != d1 && q - d1 < 19 && *q == ' ') {
            const char* d2 = ++q;
            while (static_cast<unsigned>(*q - '0') < 10) v = v * 10 + static_cast<unsigned>(*q++ - '0');
            if (*q == '\r') ++q;
            if (q != d2 && q - d2 < 19 && *q == '\n' && a >= 1 && b >= 1 && a <= max_r && b <= max_c) {
              ++line_no;
              if (s.genes_are_rows) {
                e.gene = static_cast<uint32_t>(a - 1);
                e.cell = b - 1;
              } else {
                e.gene = static_cast<uint32_t>(b - 1);
                e.cell = a - 1;
              }
              e.value = static_cast<double>(v);
              SLAF_RETURN_IF_ERROR(on(e, line_no));
              p = q + 1;
              continue;
            }
          }
        }
      }
      const char* nl = static_cast<const char*>(std::memchr(line, '\n', static_cast<size_t>(end - line)));
      SLAF_RETURN_IF_ERROR(slow(std::string_view(line, static_cast<size_t>(nl - line))));
      p = nl + 1;
    }
    return Status::OK();
  };
  while (true) {
    SLAF_ASSIGN_OR_RETURN(std::string chunk, r.Next());
    if (chunk.empty()) break;
    const char* data = chunk.data();
    const char* last = static_cast<const char*>(memrchr(data, '\n', chunk.size()));
    if (!last) {
      carry += chunk;
      continue;
    }
    const char* start = data;
    if (!carry.empty()) {
      const char* nl = static_cast<const char*>(std::memchr(data, '\n', chunk.size()));
      carry.append(data, static_cast<size_t>(nl - data) + 1);
      SLAF_RETURN_IF_ERROR(piece(carry.data(), carry.data() + carry.size()));
      carry.clear();
      start = nl + 1;
    }
    SLAF_RETURN_IF_ERROR(piece(start, last + 1));
    carry.assign(last + 1, static_cast<size_t>(data + chunk.size() - (last + 1)));
  }
  if (!carry.empty()) SLAF_RETURN_IF_ERROR(slow(carry));
  return Status::OK();
}

Status StreamMtx(MtxState& s, ValueType type, const RowSink& sink, ValueStats* stats, const ReadOptions& o) {
  const std::string what = s.path;
  uint64_t seen = 0;
  if (!s.sorted_mode) {
    // Cell-ordered fast path: gather one cell's entries, hand on full blocks.
    BlockAssembler out(s.n_genes, type, what, stats);
    std::vector<uint32_t> genes;
    std::vector<double> values;
    uint64_t cell = 0;  // the cell being gathered
    auto flush_cell = [&]() -> Status {
      SLAF_RETURN_IF_ERROR(out.AddRow(genes.data(), values.data(), genes.size(), cell));
      genes.clear();
      values.clear();
      if (out.nnz() >= o.block_nnz) {
        SLAF_RETURN_IF_ERROR(sink(out.block()));
        out.Reset();
      }
      return Status::OK();
    };
    SLAF_RETURN_IF_ERROR(ForEachEntry(s, [&](const Entry& e, uint64_t no) -> Status {
      if (++seen > s.header.nnz) {
        return Status::InvalidArgument(s.path + ": line " + std::to_string(no) + ": more entries than the " +
                                       std::to_string(s.header.nnz) + " the size line announces");
      }
      if (e.cell < cell) {
        s.sorted_mode = true;
        stats->restart_sorted = true;
        return Status::InvalidArgument(s.path + ": entries are not in cell order; sorting");
      }
      while (cell < e.cell) {
        SLAF_RETURN_IF_ERROR(flush_cell());
        ++cell;
      }
      genes.push_back(e.gene);
      values.push_back(e.value);
      return Status::OK();
    }));
    if (seen != s.header.nnz) {
      return Status::InvalidArgument(s.path + ": truncated: " + std::to_string(seen) + " entries, the size line announces " +
                                     std::to_string(s.header.nnz));
    }
    if (s.n_cells > 0) {
      while (cell < s.n_cells) {
        SLAF_RETURN_IF_ERROR(flush_cell());
        ++cell;
      }
    }
    if (out.block().n_rows > 0) SLAF_RETURN_IF_ERROR(sink(out.block()));
    return Status::OK();
  }

  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<engine::TripleSorter> sorter, MakeCellSorter(s.n_cells, s.n_genes, type, o, what));
  std::vector<uint64_t> rows;
  std::vector<uint32_t> cols, bits;
  auto add = [&]() -> Status {
    Status st = sorter->Add(rows.data(), cols.data(), bits.data(), rows.size());
    rows.clear();
    cols.clear();
    bits.clear();
    return st;
  };
  SLAF_RETURN_IF_ERROR(ForEachEntry(s, [&](const Entry& e, uint64_t no) -> Status {
    if (++seen > s.header.nnz) {
      return Status::InvalidArgument(s.path + ": line " + std::to_string(no) + ": more entries than the size line announces");
    }
    if (e.value == 0) {
      ++stats->zeros_dropped;
      return Status::OK();
    }
    uint32_t v;
    if (!ValueBits(e.value, type, stats, &v)) return NotCounts(what);
    rows.push_back(e.cell);
    cols.push_back(e.gene);
    bits.push_back(v);
    if (rows.size() >= (1u << 16)) return add();
    return Status::OK();
  }));
  if (seen != s.header.nnz) {
    return Status::InvalidArgument(s.path + ": truncated: " + std::to_string(seen) + " entries, the size line announces " +
                                   std::to_string(s.header.nnz));
  }
  SLAF_RETURN_IF_ERROR(add());
  return FinishCellSorter(*sorter, o, sink);
}

}  // namespace

Result<Source> ReadMtx(const std::string& input, const ReadOptions& o) {
  std::string dir = input;
  if (IsFile(input)) {
    size_t slash = input.rfind('/');
    dir = slash == std::string::npos ? "." : input.substr(0, slash);
  } else if (!IsDir(input)) {
    return Status::NotFound(input + ": no such file or directory");
  }
  std::string matrix = IsFile(input) ? input : Either(dir, "matrix.mtx");
  if (matrix.empty() && IsDir(dir)) {
    // Cell Ranger 1-2 put the files one level down, in a folder per genome.
    std::vector<std::string> found;
    if (!o.genome.empty()) {
      if (!Either(dir + "/" + o.genome, "matrix.mtx").empty()) found.push_back(o.genome);
    } else if (DIR* d = opendir(dir.c_str())) {
      while (dirent* ent = readdir(d)) {
        const std::string name = ent->d_name;
        if (name == "." || name == "..") continue;
        if (IsDir(dir + "/" + name) && !Either(dir + "/" + name, "matrix.mtx").empty()) found.push_back(name);
      }
      closedir(d);
    }
    if (found.size() > 1) {
      std::string list;
      for (const std::string& g : found) list += (list.empty() ? "" : ", ") + g;
      return Status::InvalidArgument(dir + ": one matrix per genome (" + list + "); pick one with --genome");
    }
    if (found.size() == 1) {
      dir += "/" + found[0];
      matrix = Either(dir, "matrix.mtx");
    }
  }
  if (matrix.empty()) return Status::NotFound(input + ": no matrix.mtx or matrix.mtx.gz (is it a 10x MTX directory?)");

  Source src;
  auto state = std::make_shared<MtxState>();
  state->path = matrix;
  SLAF_ASSIGN_OR_RETURN(state->header, ReadHeader(matrix, &state->size_line));

  std::string features = Either(dir, "features.tsv");
  const bool v3 = !features.empty();
  if (!v3) features = Either(dir, "genes.tsv");
  const std::string barcodes = Either(dir, "barcodes.tsv");
  if (features.empty()) return Status::NotFound(dir + ": no features.tsv(.gz) or genes.tsv next to " + matrix);
  if (barcodes.empty()) return Status::NotFound(dir + ": no barcodes.tsv(.gz) next to " + matrix);
  src.format = v3 ? "mtx v3" : "mtx v2";
  SLAF_ASSIGN_OR_RETURN(auto frows, ReadTsv(features));
  SLAF_ASSIGN_OR_RETURN(auto brows, ReadTsv(barcodes));

  const uint64_t nf = frows.size(), nb = brows.size();
  if (state->header.rows == nf && state->header.cols == nb) {
    state->genes_are_rows = true;
  } else if (state->header.rows == nb && state->header.cols == nf) {
    state->genes_are_rows = false;
    src.notes.push_back(matrix + ": rows are cells (not the 10x genes x cells layout)");
  } else {
    return Status::InvalidArgument(matrix + ": matrix is " + std::to_string(state->header.rows) + " x " +
                                   std::to_string(state->header.cols) + " but " + features + " lists " + std::to_string(nf) +
                                   " genes and " + barcodes + " " + std::to_string(nb) + " barcodes (mismatched shapes)");
  }
  if (nf >= (1ull << 31)) return Status::InvalidArgument(features + ": more than 2^31 genes");
  state->n_cells = nb;
  state->n_genes = static_cast<uint32_t>(nf);
  src.n_cells = nb;
  src.n_genes = static_cast<uint32_t>(nf);

  std::vector<std::string> bc, ids, names, types;
  for (auto& r : brows) bc.push_back(r[0]);
  bool has_names = true, has_types = v3;
  for (auto& r : frows) {
    ids.push_back(r[0]);
    has_names = has_names && r.size() >= 2;
    has_types = has_types && r.size() >= 3;
  }
  src.obs.n_rows = nb;
  src.obs.columns.push_back(Column::String("cell_id", bc));
  src.var.n_rows = nf;
  src.var.columns.push_back(Column::String("gene_id", ids));
  if (has_names) {
    for (auto& r : frows) names.push_back(r[1]);
    src.var.columns.push_back(Column::String("gene_symbol", names));
  }
  if (has_types) {
    for (auto& r : frows) types.push_back(r[2]);
    src.var.columns.push_back(ToCategorical(Column::String("feature_type", types)));
  }

  MatrixSource x;
  x.what = "X";
  x.stream = [state, o](ValueType type, const RowSink& sink, ValueStats* stats) {
    return StreamMtx(*state, type, sink, stats, o);
  };
  x.cheap_prefix = [state] { return !state->sorted_mode; };
  x.nnz_hint = state->header.nnz;
  src.matrices.push_back(std::move(x));
  src.keepalive = state;
  return src;
}

}  // namespace slaf::interop
