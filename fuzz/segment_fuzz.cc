// libFuzzer target: a whole segment file from untrusted bytes. Opens it,
// verifies every chunk, reads all rows, a row list and a filtered scan. Any
// input must give OK or an error Status: never a crash, hang or huge
// allocation (run with -malloc_limit_mb=512).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "slaf/file.h"
#include "slaf/segment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = std::shared_ptr<slaf::io::RandomAccessFile>(slaf::io::NewMemoryFile("fuzz.seg", std::vector<uint8_t>(data, data + size)));
  auto reader = slaf::SegmentReader::Open(file);
  if (!reader.ok()) return 0;
  const slaf::SegmentInfo& info = (*reader)->info();
  (void)(*reader)->VerifyAll();
  slaf::CsrMatrix m;
  const uint64_t end = info.n_rows < 100000 ? info.n_rows : 100000;
  (void)(*reader)->ReadRows(0, end, &m);
  if (info.n_rows > 0) {
    const uint64_t rows[] = {info.n_rows - 1, 0, info.n_rows / 2};
    (void)(*reader)->ReadRowList(rows, &m);
  }
  slaf::ScanOptions so;
  so.value_min = 1;
  if (info.n_cols > 0) so.columns = {0, info.n_cols - 1};
  auto scan = (*reader)->Scan(so);
  if (scan.ok()) {
    uint64_t first;
    while (true) {
      auto more = (*scan)->Next(&m, &first);
      if (!more.ok() || !*more) break;
    }
  }
  return 0;
}
