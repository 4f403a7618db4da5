#include "controlplane/state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace l2tpgw::cp::state {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

bool plain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("._:/@-", c) != nullptr;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

bool valid_name(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace

Record& Record::put_encoded(std::string name, std::string value) {
  _fields.emplace_back(std::move(name), std::move(value));
  return *this;
}

Record& Record::put(std::string_view name, std::uint64_t v) {
  return put_encoded(std::string(name), std::to_string(v));
}

Record& Record::put_bytes(std::string_view name, std::span<const std::uint8_t> v) {
  std::string s = "x";
  s.reserve(1 + 2 * v.size());
  for (const std::uint8_t b : v) {
    s += hex_digits[b >> 4];
    s += hex_digits[b & 15];
  }
  return put_encoded(std::string(name), std::move(s));
}

Record& Record::put_str(std::string_view name, std::string_view v) {
  std::string s;
  for (const char c : v) {
    if (plain_char(c)) {
      s += c;
    } else {
      const auto b = static_cast<std::uint8_t>(c);
      s += '%';
      s += hex_digits[b >> 4];
      s += hex_digits[b & 15];
    }
  }
  return put_encoded(std::string(name), std::move(s));
}

Record& Record::put_time(std::string_view name, std::chrono::steady_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return put(name, ns < 0 ? 0 : static_cast<std::uint64_t>(ns));
}

std::chrono::steady_clock::time_point Record::time(std::string_view name) const {
  const auto ns = static_cast<std::int64_t>(number(name, INT64_MAX));
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(ns)));
}

const std::string* Record::find(std::string_view name) const noexcept {
  for (const auto& [n, v] : _fields) {
    if (n == name) {
      return &v;
    }
  }
  return nullptr;
}

bool Record::has(std::string_view name) const noexcept { return find(name) != nullptr; }

void Record::fail(std::string_view name, std::string_view what) const {
  throw StateError("line " + std::to_string(_line) + ": " + _kind + ": field " + std::string(name) +
                   " " + std::string(what));
}

std::uint64_t Record::number(std::string_view name, std::uint64_t max) const {
  const std::string* v = find(name);
  if (v == nullptr) {
    fail(name, "missing");
  }
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec == std::errc::result_out_of_range) {
    fail(name, "out of range");
  }
  if (ec != std::errc() || end != v->data() + v->size() || v->empty()) {
    fail(name, "not a number");
  }
  if (n > max) {
    fail(name, "out of range");
  }
  return n;
}

std::uint64_t Record::u64(std::string_view name) const { return number(name, UINT64_MAX); }
std::uint32_t Record::u32(std::string_view name) const {
  return static_cast<std::uint32_t>(number(name, UINT32_MAX));
}
std::uint16_t Record::u16(std::string_view name) const {
  return static_cast<std::uint16_t>(number(name, UINT16_MAX));
}
std::uint8_t Record::u8(std::string_view name) const {
  return static_cast<std::uint8_t>(number(name, UINT8_MAX));
}
bool Record::flag(std::string_view name) const { return number(name, 1) != 0; }

std::vector<std::uint8_t> Record::bytes(std::string_view name) const {
  const std::string* v = find(name);
  if (v == nullptr) {
    fail(name, "missing");
  }
  if (v->empty() || (*v)[0] != 'x' || v->size() % 2 != 1) {
    fail(name, "not hex");
  }
  std::vector<std::uint8_t> out;
  out.reserve(v->size() / 2);
  for (std::size_t i = 1; i < v->size(); i += 2) {
    const int hi = hex_value((*v)[i]);
    const int lo = hex_value((*v)[i + 1]);
    if (hi < 0 || lo < 0) {
      fail(name, "not hex");
    }
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string Record::str(std::string_view name) const {
  const std::string* v = find(name);
  if (v == nullptr) {
    fail(name, "missing");
  }
  std::string out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const char c = (*v)[i];
    if (c != '%') {
      out += c;
      continue;
    }
    const bool whole = i + 2 < v->size();
    const int hi = whole ? hex_value((*v)[i + 1]) : -1;
    const int lo = whole ? hex_value((*v)[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      fail(name, "has a broken %-escape");
    }
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

std::string encode(std::span<const Record> records) {
  std::string out;
  for (const Record& r : records) {
    out += r.kind();
    for (const auto& [n, v] : r.fields()) {
      out += ' ';
      out += n;
      out += '=';
      out += v;
    }
    out += '\n';
  }
  return out;
}

std::vector<Record> decode(std::string_view text, const std::string& source) {
  std::vector<Record> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      throw StateError(source + ":" + std::to_string(line_no) + ": last line not ended (file cut short?)");
    }
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::size_t sp = line.find(' ');
    const std::string_view kind = line.substr(0, sp);
    if (!valid_name(kind)) {
      throw StateError(source + ":" + std::to_string(line_no) + ": no record kind");
    }
    Record r{std::string(kind), line_no};
    while (sp != std::string_view::npos) {
      line.remove_prefix(sp + 1);
      sp = line.find(' ');
      const std::string_view field = line.substr(0, sp);
      const std::size_t eq = field.find('=');
      if (eq == std::string_view::npos || !valid_name(field.substr(0, eq))) {
        throw StateError(source + ":" + std::to_string(line_no) + ": " + std::string(kind) +
                         ": a field is not name=value");
      }
      r.put_encoded(std::string(field.substr(0, eq)), std::string(field.substr(eq + 1)));
    }
    out.push_back(std::move(r));
  }
  return out;
}

void write_file(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw StateError(errno_text("cannot create", tmp));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const std::string err = errno_text("cannot write", tmp);
      ::close(fd);
      throw StateError(err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw StateError(errno_text("cannot flush", tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw StateError(errno_text("cannot rename onto", path));
  }
}

std::optional<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    throw StateError(errno_text("cannot open", path));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const std::string err = errno_text("cannot read", path);
      ::close(fd);
      throw StateError(err);
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace l2tpgw::cp::state
