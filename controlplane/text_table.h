// Aligned columns for the CLI's text output.
#pragma once

#include <string>
#include <vector>

namespace l2tpgw::cp {

struct Column {
  std::string name;
  bool right = false;  // numbers are right-aligned
};

class TextTable {
 public:
  explicit TextTable(std::vector<Column> columns) : _columns(std::move(columns)) {}
  void add(std::vector<std::string> row) { _rows.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<Column> _columns;
  std::vector<std::vector<std::string>> _rows;
};

}  // namespace l2tpgw::cp
