#include "controlplane/text_table.h"

#include <algorithm>

namespace l2tpgw::cp {
namespace {

void pad(std::string& out, const std::string& cell, std::size_t width, bool right) {
  const std::string fill(width - std::min(width, cell.size()), ' ');
  out += right ? fill + cell : cell + fill;
}

}  // namespace

std::string TextTable::render() const {
  std::vector<std::size_t> width(_columns.size());
  for (std::size_t c = 0; c < _columns.size(); ++c) {
    width[c] = _columns[c].name.size();
    for (const auto& row : _rows) {
      width[c] = std::max(width[c], c < row.size() ? row[c].size() : 0);
    }
  }
  auto line = [&](auto cell_of) {
    std::string out;
    for (std::size_t c = 0; c < _columns.size(); ++c) {
      // The last left-aligned column needs no trailing blanks.
      const bool last = c + 1 == _columns.size();
      pad(out, cell_of(c), last && !_columns[c].right ? 0 : width[c], _columns[c].right);
      out += last ? "\n" : "  ";
    }
    return out;
  };
  std::string out = line([&](std::size_t c) { return _columns[c].name; });
  for (const auto& row : _rows) {
    out += line([&](std::size_t c) { return c < row.size() ? row[c] : std::string(); });
  }
  return out;
}

}  // namespace l2tpgw::cp
