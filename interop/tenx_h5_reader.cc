// 10x Genomics Cell Ranger HDF5 import.
//   v3 (Cell Ranger 3+): /matrix/{barcodes,data,indices,indptr,shape} and
//     /matrix/features/{id,name,feature_type,genome}.
//   v2 and earlier: one group per genome, /<genome>/{barcodes,data,indices,
//     indptr,shape,genes,gene_names}. Several genomes share the barcodes; they
//     are joined side by side (genes of the first genome first) with a
//     `genome` column, or one is picked with ReadOptions::genome.
// In both, the matrix is genes x cells stored by column, i.e. by cell: the
// indptr runs over cells, so it streams without any transpose.
#include "interop/hdf_matrix.h"
#include "interop/hdf5.h"
#include "interop/source.h"

namespace slaf::interop {
namespace {

using h5::File;

// Shape [genes, cells] of a matrix group, checked against its arrays.
Result<std::pair<uint64_t, uint64_t>> Shape(const File& f, const std::string& g) {
  SLAF_ASSIGN_OR_RETURN(std::vector<int64_t> shape, h5::ReadAll<int64_t>(f, g + "/shape"));
  if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0) return f.Error(g + "/shape", "expected two non-negative integers");
  return std::make_pair(static_cast<uint64_t>(shape[0]), static_cast<uint64_t>(shape[1]));
}

Result<Column> StringsColumn(const File& f, const std::string& ds, const std::string& name, uint64_t n) {
  SLAF_ASSIGN_OR_RETURN(std::vector<std::string> v, h5::ReadStrings(f, ds));
  if (v.size() != n) {
    return f.Error(ds, "has " + std::to_string(v.size()) + " entries, the matrix " + std::to_string(n) + " (mismatched shapes)");
  }
  return Column::String(name, v);
}

}  // namespace

Column ToCategorical(const Column& s) {
  std::vector<std::string> cats;
  std::map<std::string, uint32_t, std::less<>> code;
  std::vector<uint32_t> codes(s.n_rows);
  for (uint64_t i = 0; i < s.n_rows; ++i) {
    auto v = s.str(i);
    auto it = code.find(v);
    if (it == code.end()) {
      it = code.emplace(std::string(v), static_cast<uint32_t>(cats.size())).first;
      cats.emplace_back(v);
    }
    codes[i] = it->second;
  }
  return Column::Categorical(s.name, std::move(codes), std::move(cats));
}

Result<Source> Read10xH5(const std::string& path, const ReadOptions& o) {
  SLAF_ASSIGN_OR_RETURN(File file, File::Open(path));
  auto f = std::make_shared<File>(std::move(file));
  Source src;
  src.keepalive = f;
  src.obs_index = "cell_id";
  src.var_index = "gene_id";

  if (h5::Exists(*f, "/matrix/features")) {
    src.format = "10x-h5 v3";
    SLAF_ASSIGN_OR_RETURN(auto shape, Shape(*f, "/matrix"));
    if (shape.first >= (1ull << 31)) return f->Error("/matrix/shape", "more than 2^31 features");
    src.n_genes = static_cast<uint32_t>(shape.first);
    src.n_cells = shape.second;
    SLAF_ASSIGN_OR_RETURN(Column bc, StringsColumn(*f, "/matrix/barcodes", "cell_id", src.n_cells));
    src.obs.n_rows = src.n_cells;
    src.obs.columns.push_back(std::move(bc));
    src.var.n_rows = src.n_genes;
    SLAF_ASSIGN_OR_RETURN(Column id, StringsColumn(*f, "/matrix/features/id", "gene_id", src.n_genes));
    src.var.columns.push_back(std::move(id));
    SLAF_ASSIGN_OR_RETURN(Column name, StringsColumn(*f, "/matrix/features/name", "gene_symbol", src.n_genes));
    src.var.columns.push_back(std::move(name));
    for (const char* tag : {"feature_type", "genome"}) {
      const std::string p = std::string("/matrix/features/") + tag;
      if (!h5::IsDataset(*f, p)) continue;
      SLAF_ASSIGN_OR_RETURN(Column c, StringsColumn(*f, p, tag, src.n_genes));
      src.var.columns.push_back(ToCategorical(c));
    }
    SLAF_ASSIGN_OR_RETURN(std::vector<std::string> members, h5::Members(*f, "/matrix/features"));
    for (const std::string& m : members) {
      if (m != "id" && m != "name" && m != "feature_type" && m != "genome" && m != "_all_tag_keys") {
        src.not_carried.push_back("/matrix/features/" + m + ": feature tag");
      }
    }
    CsrPart part{"/matrix/data", "/matrix/indices", "/matrix/indptr", 0};
    SLAF_ASSIGN_OR_RETURN(MatrixSource x, HdfCsrSource(f, {part}, src.n_cells, src.n_genes, f->path() + ": /matrix", o));
    x.what = "X";
    src.matrices.push_back(std::move(x));
    return src;
  }

  // v2: every top-level group with a matrix is a genome.
  SLAF_ASSIGN_OR_RETURN(std::vector<std::string> top, h5::Members(*f, "/"));
  std::vector<std::string> genomes;
  for (const std::string& g : top) {
    if (h5::IsGroup(*f, "/" + g) && h5::IsDataset(*f, "/" + g + "/indptr") && h5::IsDataset(*f, "/" + g + "/barcodes")) {
      if (o.genome.empty() || o.genome == g) genomes.push_back(g);
    }
  }
  if (genomes.empty()) {
    if (!o.genome.empty()) return Status::InvalidArgument(path + ": no genome \"" + o.genome + "\" in this 10x HDF5 file");
    return Status::InvalidArgument(path + ": not a 10x HDF5 file (no /matrix group and no genome groups with indptr and barcodes)");
  }
  src.format = genomes.size() > 1 ? "10x-h5 v2 (" + std::to_string(genomes.size()) + " genomes)" : "10x-h5 v2";
  std::vector<CsrPart> parts;
  std::vector<std::string> ids, names, genome_of;
  std::vector<std::string> barcodes;
  uint64_t n_genes = 0;
  for (const std::string& g : genomes) {
    const std::string p = "/" + g;
    SLAF_ASSIGN_OR_RETURN(auto shape, Shape(*f, p));
    SLAF_ASSIGN_OR_RETURN(std::vector<std::string> bc, h5::ReadStrings(*f, p + "/barcodes"));
    if (bc.size() != shape.second) return f->Error(p + "/barcodes", "has " + std::to_string(bc.size()) + " entries, the matrix " + std::to_string(shape.second) + " cells (mismatched shapes)");
    if (parts.empty()) {
      barcodes = std::move(bc);
    } else if (bc != barcodes) {
      return Status::InvalidArgument(path + ": genomes " + genomes[0] + " and " + g +
                                     " have different barcodes; pick one with --genome");
    }
    SLAF_ASSIGN_OR_RETURN(std::vector<std::string> gi, h5::ReadStrings(*f, p + "/genes"));
    SLAF_ASSIGN_OR_RETURN(std::vector<std::string> gn, h5::ReadStrings(*f, p + "/gene_names"));
    if (gi.size() != shape.first || gn.size() != shape.first) {
      return f->Error(p + "/genes", "gene lists do not match the matrix's " + std::to_string(shape.first) + " genes (mismatched shapes)");
    }
    parts.push_back({p + "/data", p + "/indices", p + "/indptr", static_cast<uint32_t>(n_genes)});
    ids.insert(ids.end(), gi.begin(), gi.end());
    names.insert(names.end(), gn.begin(), gn.end());
    genome_of.insert(genome_of.end(), shape.first, g);
    n_genes += shape.first;
    if (n_genes >= (1ull << 31)) return f->Error(p, "more than 2^31 genes");
  }
  src.n_cells = barcodes.size();
  src.n_genes = static_cast<uint32_t>(n_genes);
  src.obs.n_rows = src.n_cells;
  src.obs.columns.push_back(Column::String("cell_id", barcodes));
  src.var.n_rows = n_genes;
  src.var.columns.push_back(Column::String("gene_id", ids));
  src.var.columns.push_back(Column::String("gene_symbol", names));
  if (genomes.size() > 1) src.var.columns.push_back(ToCategorical(Column::String("genome", genome_of)));
  SLAF_ASSIGN_OR_RETURN(MatrixSource x, HdfCsrSource(f, parts, src.n_cells, src.n_genes, f->path(), o));
  x.what = "X";
  src.matrices.push_back(std::move(x));
  return src;
}

}  // namespace slaf::interop
