// Convert: a reader's Source written through one Transaction into a
// temporary directory, committed, then renamed into place.
//
// Matrices start out as counts (uint32): a value that is not a count makes
// the stream stop and the conversion start over with float32 for that
// matrix. An MTX file found out of cell order also starts over, sorted.
// Both restarts happen at most once per matrix and, for float data, after
// the first block, so their cost is small.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "engine/csr_util.h"
#include "interop/hdf5.h"
#include "interop/source.h"
#include "slaf/dataset.h"
#include "slaf/dataset_writer.h"
#include "slaf/interop.h"
#include "slaf/remote.h"
#include "slaf/store.h"

namespace slaf {
namespace {

namespace fs = std::filesystem;

bool HasSuffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A view whose value pointer is set even when the block has no entries: a
// layer new in Create takes its type from which pointer is set.
CsrRowsView TypedView(const CsrMatrix& m) {
  static const uint32_t kNoCounts[1] = {0};
  static const float kNoFloats[1] = {0};
  CsrRowsView v = engine::ViewOf(m);
  if (m.value_type == ValueType::kUInt32) {
    v.floats = nullptr;
    if (!v.counts) v.counts = kNoCounts;
  } else {
    v.counts = nullptr;
    if (!v.floats) v.floats = kNoFloats;
  }
  return v;
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::IOError(dir + ": cannot open to sync: " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IOError(dir + ": fsync failed: " + std::strerror(errno));
  return Status::OK();
}

void RemoveTree(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Temporary directories of conversions to the same output that were
// interrupted (their process is gone): ".NAME.converting-PID".
void RemoveStaleTemporaries(const fs::path& parent, const std::string& name) {
  const std::string prefix = "." + name + ".converting-";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(n.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) RemoveTree(e.path().string());
  }
}

// Runs `produce` (reading and converting the input: the stream) on its own
// thread while the caller's thread runs `consume` (encoding and writing),
// so the two halves of a conversion use both cores. Blocks travel through a
// small pool of matrices that are swapped, not copied.
Status RunPipelined(const std::function<Status(const interop::RowSink&)>& produce,
                    const std::function<Status(const CsrMatrix&)>& consume) {
  constexpr size_t kSpares = 2;  // one being filled, one being written
  std::mutex mu;
  std::condition_variable cv;
  std::deque<CsrMatrix> spare(kSpares), full;
  bool produced = false, consumer_failed = false;
  Status produce_status;
  std::thread producer([&] {
    Status st = produce([&](CsrMatrix& block) -> Status {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return !spare.empty() || consumer_failed; });
      if (consumer_failed) return Status::IOError("stopped: writing the dataset failed");
      CsrMatrix m = std::move(spare.front());
      spare.pop_front();
      std::swap(m, block);
      full.push_back(std::move(m));
      cv.notify_all();
      return Status::OK();
    });
    std::lock_guard<std::mutex> l(mu);
    produce_status = std::move(st);
    produced = true;
    cv.notify_all();
  });
  Status consume_status;
  while (true) {
    CsrMatrix m;
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return !full.empty() || produced; });
      if (full.empty()) break;
      m = std::move(full.front());
      full.pop_front();
    }
    consume_status = consume(m);
    std::lock_guard<std::mutex> l(mu);
    spare.push_back(std::move(m));
    if (!consume_status.ok()) consumer_failed = true;
    cv.notify_all();
    if (!consume_status.ok()) break;
  }
  producer.join();
  if (!consume_status.ok()) return consume_status;
  return produce_status;
}

// A gene order by decreasing frequency (format-spec §4.4) from the first
// cells of X: 5% of its entries, at least 256 Ki and at most 4 Mi. Empty
// when X cannot be sampled cheaply (gene-major input is sorted whole before
// its first block comes out).
std::vector<uint32_t> SampleFrequencyOrder(interop::MatrixSource& x, uint32_t n_genes) {
  const uint64_t kSampleNnz = std::clamp<uint64_t>(x.nnz_hint / 20, 256u << 10, 4u << 20);
  if (!x.cheap_prefix() || n_genes == 0) return {};
  std::vector<uint64_t> nnz(n_genes, 0);
  uint64_t seen = 0;
  interop::ValueStats stats;
  // float32 accepts any value, so the sample never stops on a non-count.
  Status st = x.stream(ValueType::kFloat32, [&](CsrMatrix& block) -> Status {
    for (uint32_t g : block.indices) ++nnz[g];
    seen += block.nnz();
    return seen >= kSampleNnz ? Status::NotFound("sample complete") : Status::OK();
  }, &stats);
  (void)st;  // sampling errors resurface in the real pass
  if (seen == 0) return {};
  return FrequencyOrder(nnz);
}

// Writes everything of `src` into a new dataset in `store`. `types` holds
// the value type to try for each matrix; on a restart request it is
// updated and *restart set.
Status WriteSource(interop::Source& src, std::shared_ptr<io::ObjectStore> store, const ConvertOptions& o,
                   std::vector<ValueType>* types, bool* restart, ConvertReport* report) {
  WriteOptions w;
  if (o.chunk_bytes) w.segment.target_chunk_bytes = o.chunk_bytes;
  if (o.frequency_order && !src.matrices.empty()) w.segment.stored_to_original = SampleFrequencyOrder(src.matrices[0], src.n_genes);
  w.message = o.message.empty() ? "converted from " + src.format : o.message;
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn, Transaction::Create(store, src.n_genes, (*types)[0], w));
  SLAF_RETURN_IF_ERROR(txn->SetIndexColumn(Axis::kObs, src.obs_index));
  SLAF_RETURN_IF_ERROR(txn->SetIndexColumn(Axis::kVar, src.var_index));
  SLAF_RETURN_IF_ERROR(txn->SetVar(src.var));
  const uint64_t total = src.n_cells * src.matrices.size();
  for (size_t i = 0; i < src.matrices.size(); ++i) {
    interop::MatrixSource& m = src.matrices[i];
    interop::ValueStats stats;
    uint64_t done = 0, nnz = 0;
    Status st = RunPipelined(
        [&](const interop::RowSink& sink) { return m.stream((*types)[i], sink, &stats); },
        [&](const CsrMatrix& block) -> Status {
          SLAF_RETURN_IF_ERROR(txn->AppendCells(TypedView(block), m.layer));
          done += block.n_rows;
          nnz += block.nnz();
          if (o.progress) o.progress(i * src.n_cells + done, total, m.what);
          return Status::OK();
        });
    if (!st.ok()) {
      if (stats.not_counts && (*types)[i] == ValueType::kUInt32) {
        (*types)[i] = ValueType::kFloat32;
        *restart = true;
        return Status::OK();
      }
      if (stats.restart_sorted) {
        *restart = true;
        return Status::OK();
      }
      return st;
    }
    if (done != src.n_cells) {
      return Status::Corruption(m.what + ": the input gave " + std::to_string(done) + " cells, expected " + std::to_string(src.n_cells));
    }
    if (i == 0) report->nnz = nnz;
    if (stats.zeros_dropped) {
      src.notes.push_back(m.what + ": " + std::to_string(stats.zeros_dropped) + " explicitly stored zeros dropped");
    }
    if (stats.inexact) {
      src.notes.push_back(m.what + ": " + std::to_string(stats.inexact) + " values rounded to float32");
    }
    if (!m.layer.empty()) report->layers.push_back(m.layer);
  }
  SLAF_RETURN_IF_ERROR(txn->AppendObs(src.obs));
  for (auto& [name, d] : src.obsm) SLAF_RETURN_IF_ERROR(txn->SetDense(Axis::kObs, name, d));
  for (auto& [name, d] : src.varm) SLAF_RETURN_IF_ERROR(txn->SetDense(Axis::kVar, name, d));
  SLAF_RETURN_IF_ERROR(txn->SetUns(src.uns_json));
  SLAF_ASSIGN_OR_RETURN(report->version, txn->Commit());
  return Status::OK();
}

// Writes `src` as a new dataset in the directory `dir`, starting over (with
// float32 for a matrix, or with the input sorted) when a stream asks to;
// then, if asked, its gene index. `types` receives each matrix's value type.
Status WriteDatasetDir(interop::Source& src, const std::string& dir, const ConvertOptions& o, bool gene_index,
                       const std::string& spill_dir, std::vector<ValueType>* types, ConvertReport* report) {
  types->assign(src.matrices.size(), ValueType::kUInt32);
  // Each matrix can ask for float32 once and for sorting once.
  const size_t max_attempts = 2 * src.matrices.size() + 1;
  for (size_t attempt = 0;; ++attempt) {
    RemoveTree(dir);
    SLAF_ASSIGN_OR_RETURN(std::shared_ptr<io::ObjectStore> store, io::OpenLocalStore(dir, true));
    bool restart = false;
    report->layers.clear();
    SLAF_RETURN_IF_ERROR(WriteSource(src, store, o, types, &restart, report));
    if (!restart) {
      if (gene_index) {
        WriteOptions gw;
        gw.sort_memory_bytes = o.memory_bytes;
        gw.spill_dir = spill_dir;
        if (o.chunk_bytes) gw.segment.target_chunk_bytes = o.chunk_bytes;
        SLAF_ASSIGN_OR_RETURN(report->version, BuildGeneIndex(store, "", gw, [&](uint64_t done) {
          if (o.progress) o.progress(done, src.n_cells, "gene index");
        }));
      }
      return Status::OK();
    }
    if (attempt + 1 >= max_attempts) return Status::Corruption(src.format + ": conversion kept restarting");
  }
}

}  // namespace

Result<InputFormat> ParseInputFormat(const std::string& s) {
  if (s == "auto") return InputFormat::kAuto;
  if (s == "h5ad") return InputFormat::kH5ad;
  if (s == "10x-h5" || s == "10x_h5" || s == "h5") return InputFormat::k10xH5;
  if (s == "mtx") return InputFormat::kMtx;
  return Status::InvalidArgument("unknown input format \"" + s + "\" (expected auto, h5ad, 10x-h5 or mtx)");
}

Result<InputFormat> DetectFormat(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound(path + ": no such file or directory");
  if (S_ISDIR(st.st_mode) || HasSuffix(path, ".mtx") || HasSuffix(path, ".mtx.gz")) return InputFormat::kMtx;
  SLAF_ASSIGN_OR_RETURN(interop::h5::File f, interop::h5::File::Open(path));
  if (interop::h5::Exists(f, "/X")) return InputFormat::kH5ad;
  if (interop::h5::Exists(f, "/matrix")) return InputFormat::k10xH5;
  SLAF_ASSIGN_OR_RETURN(std::vector<std::string> top, interop::h5::Members(f, "/"));
  for (const std::string& g : top) {
    if (interop::h5::Exists(f, "/" + g + "/indptr") && interop::h5::Exists(f, "/" + g + "/barcodes")) return InputFormat::k10xH5;
  }
  return Status::InvalidArgument(path + ": HDF5 file with neither an X matrix (h5ad) nor a 10x matrix (/matrix or genome groups)");
}

// A remote output (s3://): converted into a local temporary directory, then
// copied in commit-protocol order (CopyDataset), so the remote dataset
// appears with its first manifest only once all its files are there.
Result<ConvertReport> ConvertToRemote(const std::string& input, const std::string& output, const ConvertOptions& o) {
  SLAF_ASSIGN_OR_RETURN(std::shared_ptr<io::ObjectStore> dst, OpenStore(output, /*create=*/true));
  SLAF_ASSIGN_OR_RETURN(bool taken, dst->Exists(ManifestKey(1)));
  if (taken) return Status::InvalidArgument(output + ": already exists; convert writes a new dataset");
  const char* env_tmp = std::getenv("TMPDIR");
  const std::string base = !o.spill_dir.empty() ? o.spill_dir : (env_tmp && *env_tmp ? env_tmp : "/tmp");
  const std::string tmp = base + "/slaf-convert-" + std::to_string(::getpid());
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) return Status::IOError(tmp + ": cannot create the local staging directory: " + ec.message());
  Result<ConvertReport> report = Convert(input, tmp + "/ds.slaf", o);
  if (report.ok()) {
    Result<std::shared_ptr<io::ObjectStore>> src = io::OpenLocalStore(tmp + "/ds.slaf", false);
    Result<uint64_t> copied = src.ok() ? CopyDataset(src->get(), dst.get(), [&](uint64_t done, uint64_t total) {
      if (o.progress) o.progress(done, total, "upload");
    })
                                       : Result<uint64_t>(src.status());
    if (!copied.ok()) report = copied.status();
  }
  RemoveTree(tmp);
  return report;
}

Result<ConvertReport> Convert(const std::string& input, const std::string& output, const ConvertOptions& o) {
  if (io::IsRemoteUri(output)) return ConvertToRemote(input, output, o);
  InputFormat format = o.format;
  if (format == InputFormat::kAuto) {
    SLAF_ASSIGN_OR_RETURN(format, DetectFormat(input));
  }
  if (output.empty()) return Status::InvalidArgument("no output path");
  std::error_code ec;
  if (fs::exists(output, ec)) return Status::InvalidArgument(output + ": already exists; convert writes a new dataset");
  fs::path out_path = fs::absolute(output, ec);
  const fs::path parent = out_path.parent_path();
  if (!fs::is_directory(parent, ec)) return Status::NotFound(parent.string() + ": the output's folder does not exist");
  const std::string tmp = (parent / ("." + out_path.filename().string() + ".converting-" + std::to_string(::getpid()))).string();
  RemoveStaleTemporaries(parent, out_path.filename().string());

  interop::ReadOptions ro;
  ro.genome = o.genome;
  ro.memory_bytes = o.memory_bytes;
  ro.spill_dir = o.spill_dir.empty() ? parent.string() : o.spill_dir;
  interop::Source src;
  switch (format) {
    case InputFormat::kH5ad: {
      SLAF_ASSIGN_OR_RETURN(src, interop::ReadH5ad(input, ro));
      break;
    }
    case InputFormat::k10xH5: {
      SLAF_ASSIGN_OR_RETURN(src, interop::Read10xH5(input, ro));
      break;
    }
    case InputFormat::kMtx: {
      SLAF_ASSIGN_OR_RETURN(src, interop::ReadMtx(input, ro));
      break;
    }
    case InputFormat::kAuto: break;
  }

  ConvertReport report;
  report.format = src.format;
  report.n_cells = src.n_cells;
  report.n_genes = src.n_genes;
  std::vector<ValueType> types;
  Status st = WriteDatasetDir(src, tmp, o, o.gene_index, ro.spill_dir, &types, &report);
  if (st.ok() && src.raw) {
    // AnnData's raw with other genes: the nested dataset raw/ (format-spec §9.1).
    ConvertReport raw_report;
    std::vector<ValueType> raw_types;
    st = WriteDatasetDir(*src.raw, tmp + "/raw", o, false, ro.spill_dir, &raw_types, &raw_report);
    if (st.ok()) {
      report.raw = "raw/: " + std::to_string(src.raw->n_cells) + " cells x " + std::to_string(src.raw->n_genes) + " genes, " +
                   std::to_string(raw_report.nnz) + " nonzeros (" + (raw_types[0] == ValueType::kUInt32 ? "uint32" : "float32") + ")";
      for (std::string& n : src.raw->notes) src.notes.push_back(n);
    }
  }
  if (!st.ok()) {
    RemoveTree(tmp);
    return st;
  }
  if (::rename(tmp.c_str(), out_path.c_str()) != 0) {
    Status e = Status::IOError(output + ": cannot move the converted dataset into place: " + std::strerror(errno));
    RemoveTree(tmp);
    return e;
  }
  SLAF_RETURN_IF_ERROR(SyncDir(parent.string()));
  report.value_type = types[0] == ValueType::kUInt32 ? "uint32" : "float32";
  report.not_carried = src.not_carried;
  report.notes = src.notes;
  for (const auto& e : fs::recursive_directory_iterator(out_path, ec)) {
    if (e.is_regular_file(ec)) report.bytes += e.file_size(ec);
  }
  return report;
}

}  // namespace slaf
