#include "codecs/compress.h"

#include <lz4.h>
#include <zstd.h>

#include <climits>
#include <cstring>
#include <string>

namespace slaf::codecs {

std::string_view CodecName(Codec c) {
  switch (c) {
    case Codec::kNone: return "none";
    case Codec::kZstd: return "zstd";
    case Codec::kLz4: return "lz4";
  }
  return "unknown";
}

Status Compress(Codec codec, std::span<const uint8_t> in, int level, std::vector<uint8_t>* out) {
  const size_t base = out->size();
  switch (codec) {
    case Codec::kNone:
      out->insert(out->end(), in.begin(), in.end());
      return Status::OK();
    case Codec::kZstd: {
      out->resize(base + ZSTD_compressBound(in.size()));
      const size_t n = ZSTD_compress(out->data() + base, out->size() - base, in.data(), in.size(), level);
      if (ZSTD_isError(n)) return Status::IOError(std::string("zstd compress: ") + ZSTD_getErrorName(n));
      out->resize(base + n);
      return Status::OK();
    }
    case Codec::kLz4: {
      if (in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) return Status::InvalidArgument("lz4 input too large");
      out->resize(base + LZ4_compressBound(static_cast<int>(in.size())));
      const int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data()),
                                         reinterpret_cast<char*>(out->data() + base),
                                         static_cast<int>(in.size()), static_cast<int>(out->size() - base));
      if (n <= 0) return Status::IOError("lz4 compress failed");
      out->resize(base + static_cast<size_t>(n));
      return Status::OK();
    }
  }
  return Status::InvalidArgument("unknown codec id " + std::to_string(static_cast<int>(codec)));
}

Status CheckDecompressedSize(Codec codec, std::span<const uint8_t> in, size_t out_len) {
  switch (codec) {
    case Codec::kNone:
      if (in.size() != out_len) {
        return Status::Corruption("uncompressed payload is " + std::to_string(in.size()) + " bytes, expected " + std::to_string(out_len));
      }
      return Status::OK();
    case Codec::kZstd: {
      // format-spec §3.5: the frame must declare its size, and it must match,
      // before anything is allocated or decoded.
      const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
      if (declared == ZSTD_CONTENTSIZE_ERROR) return Status::Corruption("not a valid zstd frame");
      if (declared == ZSTD_CONTENTSIZE_UNKNOWN) return Status::Corruption("zstd frame does not declare its content size (format-spec §3.5)");
      if (declared != out_len) {
        return Status::Corruption("zstd frame declares " + std::to_string(declared) + " bytes, expected " + std::to_string(out_len));
      }
      return Status::OK();
    }
    case Codec::kLz4:
      if (in.size() > INT_MAX || out_len > INT_MAX) return Status::Corruption("lz4 block too large");
      // A match costs at least 3 bytes plus one per 255 bytes of length, and
      // a literal costs at least itself: no block expands more than 255 times.
      if (out_len > 255 * in.size()) {
        return Status::Corruption("lz4 block of " + std::to_string(in.size()) + " bytes cannot decode to " + std::to_string(out_len) + " bytes");
      }
      return Status::OK();
  }
  return Status::NotSupported("unknown codec id " + std::to_string(static_cast<int>(codec)));
}

Status Decompress(Codec codec, std::span<const uint8_t> in, uint8_t* out, size_t out_len) {
  SLAF_RETURN_IF_ERROR(CheckDecompressedSize(codec, in, out_len));
  switch (codec) {
    case Codec::kNone:
      if (out_len) std::memcpy(out, in.data(), out_len);
      return Status::OK();
    case Codec::kZstd: {
      const size_t n = ZSTD_decompress(out, out_len, in.data(), in.size());
      if (ZSTD_isError(n)) return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(n));
      if (n != out_len) return Status::Corruption("zstd produced " + std::to_string(n) + " bytes, expected " + std::to_string(out_len));
      return Status::OK();
    }
    case Codec::kLz4: {
      const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()), reinterpret_cast<char*>(out),
                                        static_cast<int>(in.size()), static_cast<int>(out_len));
      if (n < 0 || static_cast<size_t>(n) != out_len) {
        return Status::Corruption("lz4 block decoded to " + std::to_string(n) + " bytes, expected " + std::to_string(out_len));
      }
      return Status::OK();
    }
  }
  return Status::NotSupported("unknown codec id " + std::to_string(static_cast<int>(codec)));
}

}  // namespace slaf::codecs
