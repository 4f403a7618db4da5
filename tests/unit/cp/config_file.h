// A configuration file written for one test and removed after it, and the
// error a loader gives for it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "dataplane/config/config.h"

namespace l2tpgw::cp::test {

// Load: the settings reader under test, std::string path → settings.
template <auto Load>
class ConfigFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    std::ofstream(_path) << text;
    return _path;
  }
  void TearDown() override { ::unlink(_path.c_str()); }

  // The error's text, or "" when the file loads.
  std::string error_of(const std::string& text) {
    try {
      (void)Load(write(text));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  std::string _path = "/tmp/l2tpgw-settings-" + std::to_string(::getpid()) + ".conf";
};

}  // namespace l2tpgw::cp::test
